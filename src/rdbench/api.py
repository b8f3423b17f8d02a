"""rdbench's public Python API: load tasks, make Inspect tasks, score folders, calibrate, read runs,
build reports. Everything here is also importable from ``rdbench`` itself (``rdbench.load_task``).

These functions are the stable surface for scripts and notebooks; the modules behind them may change.
Each is synchronous (it runs its own event loop where the work is asynchronous), typed, and raises
the errors the command line reports in one line, exported here: :class:`UserError` (a mistake in
what was asked), :class:`TaskFormatError` (a malformed task; a ``UserError``),
:class:`TaskNotFoundError` (no task of that name; a ``LookupError``) and :class:`MissingExtraError`
(an optional package missing; a ``UserError`` and ``ImportError`` whose ``extra`` names the extra
to install). See ``docs/api.md`` for a walk-through and ``examples/api_tour.py`` for a script
that uses every function (run by the tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdbench._extras import MissingExtraError
from rdbench.errors import UserError
from rdbench.task.errors import TaskFormatError, TaskNotFoundError

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.agent import Agent
    from inspect_ai.solver import Solver

    from rdbench.analysis.data import Run
    from rdbench.scoring.check import CheckReport
    from rdbench.scoring.redteam import AttackResult
    from rdbench.scoring.runner import ScoreResult
    from rdbench.task.loader import LoadedTask

__all__ = [
    "MissingExtraError",
    "TaskFormatError",
    "TaskNotFoundError",
    "UserError",
    "build_report",
    "calibrate",
    "list_tasks",
    "load_task",
    "make_task",
    "read_runs",
    "redteam",
    "score_folder",
]


def list_tasks(tag: str | None = None) -> dict[str, Path]:
    """Every task on the search path (the suite, ``RDBENCH_TASKS_PATH``), name -> folder.

    Args:
        tag: Only tasks with this tag (``rebench``, ``assist``, ``mlrb``, ...).
    """
    from rdbench.task.loader import discover, load_task

    found = discover()
    if tag == "metr":
        from rdbench.task.metr import is_metr_family

        return {name: path for name, path in found.items() if is_metr_family(path)}
    found = {name: path for name, path in found.items() if (path / "task.yaml").is_file()} if tag else found
    if tag is None:
        return found
    return {name: path for name, path in found.items() if tag in load_task(path).spec.tags}


def load_task(task: str | Path) -> LoadedTask:
    """A task by name (on the search path) or folder, validated (``.spec`` is its ``task.yaml``)."""
    from rdbench.task.loader import load_task as _load

    return _load(task)


def make_task(
    task: str | Path | LoadedTask,
    scale: str = "mini",
    budget: str | float | None = None,
    agent: Solver | Agent | None = None,
    instances: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Task:
    """The Inspect task for ``task`` at ``scale``: pass it to ``inspect_ai.eval`` with any model.

    Args:
        task: Name, folder or loaded task.
        scale: ``mini`` (CPU) or ``full`` (GPU), or another scale the task defines.
        budget: Working time (``"30m"``, ``"2 hours"``, seconds); the scale's budget when None.
        agent: An Inspect solver or agent; rdbench's react agent when None.
        instances: Families: how many generated instances (samples).
        progress: Receives progress lines (environment builds, asset preparation).
    """
    from rdbench.harness.task import make_task as _make

    return _make(task, scale=scale, budget=budget, solver=agent, instances=instances, progress=progress)


def score_folder(
    task: str | Path | LoadedTask,
    folder: str | Path,
    scale: str = "mini",
    seed: int | None = None,
    instance: int | None = None,
) -> ScoreResult:
    """Score ``folder`` with the task's protected scorer in the real scoring sandbox, as a run's
    ``score`` call would (the folder is not changed). ``.kind`` says scored, invalid or scorer_error.

    Args:
        seed: The hidden inputs' seed (fresh when None).
        instance: Families: the instance seed the folder belongs to (the family's first when None).
    """
    from rdbench.scoring.runner import score_workspace
    from rdbench.task.assets import materialize
    from rdbench.task.environment import ensure_environment

    loaded = _loaded(task)
    spec = loaded.spec
    path = Path(folder)
    if not path.is_dir():
        raise UserError(f"{path} is not a folder: give the workspace folder to score")
    family_seed = instance if instance is not None else (spec.family.seed if spec.family else None)
    mat = materialize(loaded, scale, seed=family_seed)
    env = ensure_environment(spec.environment)
    return asyncio.run(score_workspace(mat, path.resolve(), env, seed=seed))


def calibrate(task: str | Path | LoadedTask, scale: str = "mini", repeats: int = 2,
              save: bool = True) -> CheckReport:
    """``rdbench check``: score the starting and reference solutions ``repeats`` times each and store
    the calibration for this machine (unless ``save`` is False)."""
    from rdbench.scoring.check import check_task

    return asyncio.run(check_task(_loaded(task), scale, repeats, save=save))


def read_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Runs from Inspect logs (files or folders), run folders, CSV or METR ``.jsonl`` files, each with
    its normalised score log (what ``rdbench report`` reads)."""
    from rdbench.analysis.data import load_inputs

    return load_inputs([Path(p) for p in paths], progress=lambda message: None)


def build_report(paths: Sequence[str | Path], out: str | Path, budgets: Sequence[str] = ("30m", "2h", "8h"),
                 **options: Any) -> Path:
    """``rdbench report``: write ``summary.json``, ``summary.md``, ``index.html`` and plots to ``out``;
    returns the HTML page's path. ``options`` are ``write_report``'s (e.g. ``hourly_rate``)."""
    from rdbench.analysis.report import write_report
    from rdbench.task.spec import parse_duration

    runs = read_runs(paths)
    if not runs:
        raise UserError("no runs found in " + ", ".join(map(str, paths)))
    target = Path(out)
    write_report(runs, target, [parse_duration(b) for b in budgets], **options)
    return target / "index.html"


def redteam(task: str | Path | LoadedTask, scale: str = "mini", attacks: Sequence[str] | None = None
            ) -> list[AttackResult]:
    """``rdbench redteam``: the task's red-team attacks through the real scoring path, caught or not."""
    from rdbench.scoring.redteam import run_redteam

    return asyncio.run(run_redteam(_loaded(task), scale, list(attacks) if attacks else None))


def _loaded(task: str | Path | LoadedTask) -> LoadedTask:
    from rdbench.task.loader import LoadedTask

    return task if isinstance(task, LoadedTask) else load_task(task)
