"""Scoring a folder with a task's real scorer, through the real scoring sandbox (as a run does)."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task


@functools.cache
def prepared(task: str | Path, scale: str = "mini") -> tuple[Materialized, Path]:
    """The task's materialised folders and environment (built once per test process)."""
    loaded = load_task(task)
    return materialize(loaded, scale), ensure_environment(loaded.spec.environment)


def sandbox_score(task: str | Path, workspace: Path, *, seed: int | None = None, scale: str = "mini",
                  **overrides: Any) -> ScoreResult:
    """Score ``workspace`` as a run's ``score`` call would (``overrides`` change scale params)."""
    mat, env = prepared(task, scale)
    return asyncio.run(score_workspace(mat, workspace, env, seed=seed, overrides=overrides or None))


def score_materialized(mat: Materialized, workspace: Path, *, seed: int | None = None,
                       **overrides: Any) -> ScoreResult:
    """Score ``workspace`` with ``mat``'s scorer (a family instance, a prepared folder)."""
    env = ensure_environment(mat.task.spec.environment)
    return asyncio.run(score_workspace(mat, workspace, env, seed=seed, overrides=overrides or None))


def as_dict(result: ScoreResult) -> dict[str, Any]:
    """A sandbox result in the shape of a scorer's return value (NaN for no score).

    A scorer error is never an acceptable outcome in these tests: it raises here.
    """
    assert result.kind != "scorer_error", result
    return {"value": float("nan") if result.value is None else result.value, "message": result.message,
            "details": result.details, "kind": result.kind}


def score_root(task: str | Path, root: Path, workspace: Path, *, seed: int | None = None, scale: str = "mini",
               **overrides: Any) -> dict[str, Any]:
    """Score ``workspace`` against a materialised folder ``root`` (a family instance), as :func:`as_dict`."""
    mat = Materialized(task=load_task(task), scale=scale, root=root)
    return as_dict(score_materialized(mat, workspace, seed=seed, **overrides))


def fresh_instances(task: str | Path, cache: Path, seeds: Iterable[int], scale: str = "mini") -> list[Path]:
    """A family's instances for ``seeds``, materialised into the cache folder ``cache`` (a module's
    own, so tests never reuse another's instances); ``RDBENCH_CACHE_DIR`` is restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RDBENCH_CACHE_DIR", str(cache))
        loaded = load_task(task)
        return [materialize(loaded, scale, seed=s, progress=lambda _: None).root for s in seeds]


def instance_label(root: Path) -> dict[str, Any]:
    """A family instance's hidden label (``protected/label.json``)."""
    label: dict[str, Any] = json.loads((root / "protected" / "label.json").read_text())
    return label


def instance_workspace(root: Path, tmp: Path, files: dict[str, str] | None = None, *,
                       reference: bool = True) -> Path:
    """A family instance's starting workspace in ``tmp/ws``, with its reference laid over it (or
    not) and ``files`` written (folders made as needed)."""
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / "workspace", ws)
    if reference:
        shutil.copytree(root / "reference", ws, dirs_exist_ok=True)
    for path, text in (files or {}).items():
        (ws / path).parent.mkdir(parents=True, exist_ok=True)
        (ws / path).write_text(text)
    return ws
