"""Resolve an agent by name (``react``, ``aide``, ``human``, ``cli`` or any registered Inspect agent)."""

from __future__ import annotations

from typing import Any

from inspect_ai.agent import Agent
from inspect_ai.solver import Solver


def resolve_agent(name: str, **kwargs: Any) -> Agent | Solver:
    """Create the agent or solver registered as ``rdbench/<name>`` or ``<name>``.

    Raises:
        ValueError: No agent or solver of that name is registered.
    """
    from inspect_ai._util.registry import registry_create, registry_lookup

    import rdbench._registry  # noqa: F401 - registers rdbench's agents with Inspect

    # rdbench's own agent names never fall through to Inspect's built-ins of the same name
    # (Inspect's `react` has a submit tool that ends runs early).
    own = {"react", "aide", "human", "cli"}
    candidates = [name] if "/" in name else [f"rdbench/{name}"] if name in own else [name]
    for candidate in candidates:
        for kind in ("agent", "solver"):
            if registry_lookup(kind, candidate) is not None:
                created: Agent | Solver = registry_create(kind, candidate, **kwargs)
                return created
    raise ValueError(
        f"no agent named {name!r}; rdbench's agents are react, aide, human and cli "
        "(or give a registered Inspect agent/solver as package/name)"
    )


def agent_or_default(name: str) -> Agent | Solver | None:
    """The named agent, or None (the harness's built-in react agent) for ``react`` when rdbench's
    own react agent is not installed."""
    try:
        return resolve_agent(name)
    except ValueError:
        if name != "react":
            raise
        return None
