"""``rdbench check``: score the starting and reference solutions through the real scoring path."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rdbench.progress import Advance, progress_bar
from rdbench.scoring.calibration import load_calibration, make_calibration, save_calibration
from rdbench.scoring.machine import LoadMeter
from rdbench.scoring.normalise import Transform, is_better, normalise
from rdbench.scoring.provenance import provenance
from rdbench.scoring.quality import NOISE_BAR, CheckQuality, judge, stored_noise
from rdbench.scoring.record import Calibration
from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import LoadedTask

if TYPE_CHECKING:  # inspect_ai's model stack is heavy: only runs with models load it
    from rdbench.scoring.models import ModelGateway


class CheckReport(BaseModel):
    """What ``rdbench check --json`` prints for one task."""

    task: str
    scale: str
    starting: float | None
    reference: float | None
    normalized_starting: float | None
    normalized_reference: float | None
    repeats: int
    seconds: float
    noise: float | None = None
    instances: int = 1
    previous_calibration: bool = False
    ok: bool = True
    problems: list[str] = []
    warnings: list[str] = []
    quality: CheckQuality | None = None
    saved: bool = False
    storage: str = Field(default="", description="what became of the new calibration, and why")
    messages: dict[str, str] = {}


def reference_workspace(mat: Materialized, into: Path) -> Path:
    """The starting workspace with the reference solution laid over it, in a new folder."""
    target = into / "reference-workspace"
    shutil.copytree(mat.workspace, target, symlinks=True)
    if mat.reference.is_dir():
        shutil.copytree(mat.reference, target, dirs_exist_ok=True, symlinks=True)
    return target


def _mean_of_medians(per_instance: list[list[float | None]]) -> float | None:
    medians = []
    for values in per_instance:
        valid = [v for v in values if v is not None and math.isfinite(v)]
        if not valid:
            return None
        medians.append(statistics.median(valid))
    return sum(medians) / len(medians) if medians else None


async def check_task(
    task: LoadedTask,
    scale: str = "mini",
    repeats: int = 2,
    instances: int = 3,
    progress: Callable[[str], None] | None = None,
    save: bool = True,
    models: ModelGateway | None = None,
    gpus: list[int] | None = None,
    cpus: list[int] | None = None,
    force: bool = False,
) -> CheckReport:
    """Calibrate ``task``: score starting and reference ``repeats`` times each; judge the result
    (noise, spread of the repeats, margin between the solutions, agreement with the stored
    calibration, other load on the machine); store it when it is good enough.

    ``gpus`` and ``cpus`` are what the scorer runs on: one run's share (the scale's GPUs and cores),
    so that the calibration measures what a run's scoring measures.

    The normalised values in the report use the calibration stored before this check, when one
    exists, so a second check shows how stable the task's scores are on this machine. A calibration
    that fails its judgement, or is noisier than a good stored one, is not stored unless ``force``.
    """
    say = progress or (lambda message: None)
    started = time.monotonic()
    meter = LoadMeter()
    family = task.spec.family
    seeds: list[int | None] = [None] if family is None else [family.seed + i for i in range(instances)]
    # the task's own scripts first: they run on the host (and fail at once, naming the extra to
    # install, where the host lacks a package they need), before the environment's longer build
    mats = [materialize(task, scale, seed=seed, progress=say) for seed in seeds]
    env = ensure_environment(task.spec.environment, say)
    starting: list[list[float | None]] = []
    reference: list[list[float | None]] = []
    messages: dict[str, str] = {}
    calls = len(seeds) * repeats * 2
    with progress_bar(f"calibrating {task.name} ({scale}): {calls} scoring calls", calls, say=say) as bar:
        for seed, mat in zip(seeds, mats, strict=True):
            s_vals, r_vals = await _score_instance(task, seed, mat, env, repeats, models, gpus, cpus,
                                                   say, bar, messages)
            starting.append(s_vals)
            reference.append(r_vals)
    return _report(task, scale, repeats, len(seeds), starting, reference, messages,
                   time.monotonic() - started, save, None if models is None else models.binding(),
                   provenance(mats[-1], env), other_load=meter.other_cores(), force=force)


async def _score_instance(
    task: LoadedTask, seed: int | None, mat: Materialized, env: Path, repeats: int,
    models: ModelGateway | None, gpus: list[int] | None, cpus: list[int] | None,
    say: Callable[[str], None], bar: Advance, messages: dict[str, str],
) -> tuple[list[float | None], list[float | None]]:
    """Score one instance's starting and reference solutions ``repeats`` times each: their values,
    in order."""
    label = f"{task.name}" + ("" if seed is None else f" seed {seed}")
    with tempfile.TemporaryDirectory(prefix="rdbench-check-") as tmp:
        ref_ws = reference_workspace(mat, Path(tmp))
        s_vals: list[float | None] = []
        r_vals: list[float | None] = []
        for i in range(repeats):
            say(f"{label}: scoring starting solution ({i + 1}/{repeats})")
            bar(0, f"{label}: starting {i + 1}/{repeats}")
            s = await score_workspace(mat, mat.workspace, env, models=models, gpus=gpus, cpus=cpus)
            say(f"{label}: starting = {s.value} ({s.duration_s:.1f} s) {s.message[:120]}")
            say(f"{label}: scoring reference solution ({i + 1}/{repeats})")
            bar(1, f"{label}: reference {i + 1}/{repeats}")
            r = await score_workspace(mat, ref_ws, env, models=models, gpus=gpus, cpus=cpus)
            say(f"{label}: reference = {r.value} ({r.duration_s:.1f} s) {r.message[:120]}")
            bar(1, "")
            s_vals.append(s.value)
            r_vals.append(r.value)
            _remember(messages, s, r)
    return s_vals, r_vals


def _remember(messages: dict[str, str], s: ScoreResult, r: ScoreResult) -> None:
    messages.setdefault("starting", s.message)
    messages.setdefault("reference", r.message)
    if s.value is None:
        messages["starting_error"] = s.message + " " + str(s.details.get("stderr_tail", ""))[-800:]
    if r.value is None:
        messages["reference_error"] = r.message + " " + str(r.details.get("stderr_tail", ""))[-800:]


def _report(
    task: LoadedTask,
    scale: str,
    repeats: int,
    n_instances: int,
    starting: list[list[float | None]],
    reference: list[list[float | None]],
    messages: dict[str, str],
    seconds: float,
    save: bool,
    models: dict[str, str] | None = None,
    origin: dict[str, Any] | None = None,
    other_load: float | None = None,
    force: bool = False,
) -> CheckReport:
    scoring = task.spec.scoring
    ys = _mean_of_medians(starting)
    yr = _mean_of_medians(reference)
    problems = []
    if ys is None:
        problems.append("the starting solution did not get a valid score on every repeat")
    if yr is None:
        problems.append("the reference solution did not get a valid score on every repeat")
    if ys is not None and yr is not None and not is_better(yr, ys, scoring.direction):
        problems.append(f"the reference ({yr:.6g}) does not beat the starting solution ({ys:.6g})")
    previous = load_calibration(task.name, scale, models, version=task.spec.version)
    base_s, base_r = (previous.starting, previous.reference) if previous else (ys, yr)
    norm: dict[str, Any] = {"s": None, "r": None}
    if base_s is not None and base_r is not None:
        norm["s"] = normalise(ys, base_s, base_r, scoring.transform)
        norm["r"] = normalise(yr, base_s, base_r, scoring.transform)
    flat_s = [v for vals in starting for v in vals]
    flat_r = [v for vals in reference for v in vals]
    calibration = None
    quality = None
    if not problems and ys is not None and yr is not None:
        calibration = make_calibration(task.name, task.spec.version, scale, flat_s, flat_r,
                                       scoring.transform, seconds, models, groups=[*starting, *reference])
        quality = judge(starting, reference, calibration.model_copy(update={"starting": ys, "reference": yr}),
                        scoring.transform, previous, other_load, os.cpu_count())
        calibration = calibration.model_copy(update={"starting": ys, "reference": yr,
                                                     "provenance": origin or {},
                                                     "quality": quality.model_dump(mode="json")})
        problems += quality.problems
    saved, storage = False, "not stored (--no-save)"
    if calibration is not None and save:
        saved, storage = _store(calibration, quality, previous, scoring.transform, force, task.name)
    elif save:
        storage = "nothing to store: the solutions did not both score"
    return CheckReport(
        task=task.name,
        scale=scale,
        starting=ys,
        reference=yr,
        normalized_starting=norm["s"],
        normalized_reference=norm["r"],
        repeats=repeats,
        seconds=round(seconds, 2),
        noise=None if calibration is None else calibration.noise,
        instances=n_instances,
        previous_calibration=previous is not None,
        ok=not problems,
        problems=problems,
        warnings=[] if quality is None else quality.warnings,
        quality=quality,
        saved=saved,
        storage=storage,
        messages=messages,
    )


def _store(
    calibration: Calibration, quality: CheckQuality | None, previous: Calibration | None,
    transform: Transform, force: bool, name: str,
) -> tuple[bool, str]:
    """Store the new calibration unless it is worse than what is stored; (stored?, why)."""
    if force:
        save_calibration(calibration)
        return True, "stored (--force)"
    if quality is not None and not quality.ok:
        kept = "the stored calibration is kept" if previous is not None else "nothing is stored"
        return False, (f"not stored: it failed its checks, so {kept} (`rdbench check {name} --force` "
                       "stores it anyway)")
    if previous is not None:
        old = stored_noise(previous, transform)
        new = None if quality is None else quality.noise
        if old is not None and old <= NOISE_BAR and (new is None or new > old):
            shown = "not measured" if new is None else f"{new:.3f}"
            return False, (f"not stored: the stored calibration is as good and less noisy (noise "
                           f"{old:.3f}, this check {shown}); --force replaces it")
    save_calibration(calibration)
    return True, "stored" + (" (replaces the previous one)" if previous is not None else "")
