"""Registers every task on the search path as an Inspect task ``rdbench/<name>``.

So ``inspect eval rdbench/optimize_kernel --model ...`` works once rdbench is installed, with task
arguments ``scale``, ``budget``, ``instances``, ``seed`` and ``agent`` (``-T scale=full``).
"""

from __future__ import annotations

from collections.abc import Callable

from inspect_ai import Task, task

from rdbench.task.loader import discover


def _make(name: str) -> Callable[..., Task]:
    def create(
        scale: str = "mini",
        budget: str | None = None,
        instances: int | None = None,
        seed: int | None = None,
        agent: str = "react",
    ) -> Task:
        from rdbench.harness.agents import agent_or_default
        from rdbench.harness.task import make_task

        return make_task(name, scale=scale, budget=budget, solver=agent_or_default(agent),
                         instances=instances, seed=seed, agent_name=agent)

    create.__name__ = name
    create.__doc__ = f"The rdbench task {name} (scale: mini|full; budget e.g. '30m')."
    return create


def register_suite() -> list[str]:
    """Register one Inspect task per task folder; returns their names."""
    names = []
    for name in discover():
        task(name=name)(_make(name))
        names.append(name)
    return names


SUITE = register_suite()
