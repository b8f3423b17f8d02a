"""Resolve an agent by name (``react``, ``aide``, ``human``, ``cli`` or any registered Inspect agent)."""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.agent import Agent
from inspect_ai.solver import Solver

from rdbench.errors import UserError

_OWN = {"react", "aide", "human", "cli"}
Kind = Literal["agent", "solver"]


def _lookup(name: str) -> tuple[Kind, str] | None:
    """(kind, registry name) of the agent or solver called ``name``, or None."""
    from inspect_ai._util.registry import registry_lookup

    import rdbench._registry  # noqa: F401 - registers rdbench's agents with Inspect

    # rdbench's own agent names never fall through to Inspect's built-ins of the same name
    # (Inspect's `react` has a submit tool that ends runs early).
    candidates = [name] if "/" in name else [f"rdbench/{name}"] if name in _OWN else [name]
    for candidate in candidates:
        kinds: tuple[Kind, ...] = ("agent", "solver")
        for kind in kinds:
            if registry_lookup(kind, candidate) is not None:
                return kind, candidate
    return None


def resolve_agent(name: str, **kwargs: Any) -> Agent | Solver:
    """Create the agent or solver registered as ``rdbench/<name>`` or ``<name>``.

    Raises:
        ValueError: No agent or solver of that name is registered.
    """
    from inspect_ai._util.registry import registry_create

    found = _lookup(name)
    if found is None:
        raise UserError(
            f"no agent named {name!r}; rdbench's agents are react, aide, human and cli "
            "(or give a registered Inspect agent/solver as package/name)"
        )
    created: Agent | Solver = registry_create(found[0], found[1], **kwargs)
    return created


def agent_parameters(name: str) -> set[str]:
    """Names of the arguments the agent ``name`` takes (empty when it is not registered)."""
    import inspect

    from inspect_ai._util.registry import registry_lookup

    found = _lookup(name)
    if found is None:
        return set()
    factory = registry_lookup(found[0], found[1])
    try:
        return set(inspect.signature(factory).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return set()


def agent_or_default(name: str, **kwargs: Any) -> Agent | Solver | None:
    """The named agent (created with ``kwargs``), or None (the harness's built-in react agent) for
    ``react`` when rdbench's own react agent is not installed."""
    try:
        return resolve_agent(name, **kwargs)
    except ValueError:
        if name != "react" or _lookup(name) is not None:
            raise
        return None


def check_agent_args(name: str, arguments: dict[str, Any]) -> None:
    """Fail before anything runs when an argument is one the agent does not take.

    Raises:
        ValueError: Names the unknown arguments and those the agent takes.
    """
    import inspect

    from inspect_ai._util.registry import registry_lookup

    found = _lookup(name)
    if found is None or not arguments:
        return
    factory = registry_lookup(found[0], found[1])
    try:
        parameters = inspect.signature(factory).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        known = ", ".join(sorted(parameters)) or "none"
        raise UserError(f"agent {name} has no option {', '.join(repr(u) for u in unknown)} "
                         f"(its options: {known})")
