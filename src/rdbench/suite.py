"""Registers every task on the search path as an Inspect task ``rdbench/<name>``.

So ``inspect eval rdbench/optimize_kernel --model ...`` works once rdbench is installed, with task
arguments ``scale``, ``budget``, ``instances``, ``seed``, ``agent``, ``agent_args`` (the agent's
arguments), ``gpus``, ``cpus`` and ``cost_limit`` (``-T scale=full``). ``rdbench run`` creates its tasks
through this registry too, so that every log it writes names its task and arguments and ``inspect
eval-retry`` (or ``rdbench run --resume``) can complete it.

A bad argument or a broken task folder is one line (Inspect prints a ``PrerequisiteError``'s
message without a traceback), never a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from rdbench.errors import UserError
from rdbench.task.loader import discover

REGISTRY_PREFIX = "rdbench/"
TASK_ARGUMENTS = ("scale", "budget", "instances", "seed", "agent", "agent_args", "gpus", "cpus", "cost_limit",
                  "tasks", "allow_internet")


def _positive(name: str, value: Any, kind: type = int) -> Any:
    """``value`` as a positive number of ``kind`` (None stays None)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
        if kind is int and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise UserError(f"{name}={value!r} is not a {'whole ' if kind is int else ''}number") from None
    if number <= 0:
        raise UserError(f"{name}={value!r}: give a positive number")
    return number


def _indices(name: str, value: Any) -> list[int] | None:
    """GPU or core indices: an int, a list of ints, or text such as ``0,1`` or ``0-15``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, str):
        from rdbench.sandbox.api import parse_cpus, parse_gpus

        return parse_gpus(value) if name == "gpus" else parse_cpus(value)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    example = "0 or [0, 1]" if name == "gpus" else "'0-15' or [0, 1]"
    raise UserError(f"{name}={value!r}: give {'GPU' if name == 'gpus' else 'core'} indices, e.g. {example}")


def _make(name: str, folder: str | None = None) -> Callable[..., Task]:
    def create(
        scale: str = "mini",
        budget: str | None = None,
        instances: int | None = None,
        seed: int | None = None,
        agent: str = "react",
        agent_args: dict[str, Any] | None = None,
        gpus: list[int] | str | None = None,
        cpus: list[int] | str | None = None,
        cost_limit: float | None = None,
        tasks: str | list[str] | None = None,
        allow_internet: bool = False,
        **unknown: Any,
    ) -> Task:
        from inspect_ai._util.error import PrerequisiteError

        if unknown:
            raise PrerequisiteError(
                f"{REGISTRY_PREFIX}{name}: no task argument {', '.join(repr(k) for k in sorted(unknown))} "
                f"(its arguments: {', '.join(TASK_ARGUMENTS)})")

        from rdbench.harness.agents import agent_or_default, check_agent_args
        from rdbench.harness.task import make_task
        from rdbench.task.environment import EnvironmentBuildError
        from rdbench.task.errors import TaskFormatError, TaskNotFoundError

        try:
            if agent_args is not None and not isinstance(agent_args, dict):
                raise UserError(f"agent_args={agent_args!r}: give a mapping, e.g. {{num_drafts: 3}}")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise UserError(f"seed={seed!r} is not a whole number")
            options = dict(agent_args or {})
            check_agent_args(agent, options)
            return make_task(
                folder or name, scale=str(scale), budget=budget, solver=agent_or_default(agent, **options),
                instances=_positive("instances", instances), seed=seed, agent_name=agent,
                gpus=_indices("gpus", gpus), cpus=_indices("cpus", cpus), cost_limit=_positive("cost_limit", cost_limit, float),
                metr_tasks=tasks if tasks is None or isinstance(tasks, list) else str(tasks),
                allow_internet=bool(allow_internet),
            )
        except (TaskFormatError, TaskNotFoundError, EnvironmentBuildError, ValueError) as error:
            raise PrerequisiteError(f"{REGISTRY_PREFIX}{name}: {error}") from None

    create.__name__ = name
    create.__doc__ = (f"The rdbench task {name} (scale: mini|full; budget e.g. '30m'; METR families: "
                      "tasks=a,b, allow_internet=true).")
    return create


def register_suite(extra: dict[str, Path] | None = None) -> list[str]:
    """Register one Inspect task per task folder (and per folder in ``extra``, by name); returns
    their names. Registering again picks up folders added to the search path since."""
    names = []
    for name, path in {**discover(), **(extra or {})}.items():
        task(name=name)(_make(name, None if extra is None or name not in extra else str(path)))
        names.append(name)
    return names


def registry_name(task_name_or_folder: str) -> str:
    """The registry name (``rdbench/<name>``) of a task given by name or folder, registering it
    (a folder off the search path is registered under its task's name, for this process only)."""
    from rdbench.task.loader import load_task, resolve
    from rdbench.task.metr import is_metr_family

    folder = resolve(task_name_or_folder)
    if is_metr_family(folder):  # a METR family: its folder's name
        name, root = folder.name, folder
    else:
        loaded = load_task(task_name_or_folder)
        name, root = loaded.name, loaded.root
    known = discover()
    if known.get(name) is not None and Path(known[name]).resolve() == root.resolve():
        register_suite()
    else:
        register_suite({name: root})
    return f"{REGISTRY_PREFIX}{name}"


SUITE = register_suite()
