"""Red-team suites: the attacks each task's scorer must resist, run through the real scoring path.

A task folder's ``redteam/`` holds one folder per attack::

    redteam/<attack>/attack.yaml   description, source (where the hack was seen), expect, [margin]
    redteam/<attack>/files/...     laid over the starting workspace (optional)
    redteam/<attack>/build.py      optional: ``build(workspace: Path, materialized: Path) -> None``
                                   edits the workspace further (it runs on the host, as task code)

``expect`` is the verdict that counts as caught:

* ``invalid``: the scorer refuses the submission (an invalid entry, not a scorer error);
* ``no_gain``: it is scored, but no better than the starting solution scored in the same run, by
  more than ``margin`` (normalised units, default 0.1; with the stored calibration when there is one,
  else with the starting and reference solutions scored in the same run);
* ``flagged``: the run's integrity check flags it (a protected file of the workspace changed).

``reason`` (optional) is text the scorer's message must contain for an ``invalid`` verdict to count.

An attack caught for a reason other than the expected one is *not* caught: a ``no_gain`` attack that
comes back invalid, or an ``invalid`` one that comes back as a scorer error, says the attack was not
the thing tested.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rdbench.scoring.calibration import load_calibration
from rdbench.scoring.check import reference_workspace
from rdbench.scoring.integrity import compare, hash_files
from rdbench.scoring.normalise import normalise
from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.errors import TaskFormatError
from rdbench.task.loader import LoadedTask

Verdict = Literal["invalid", "no_gain", "flagged"]


class AttackSpec(BaseModel):
    """``attack.yaml``."""

    model_config = ConfigDict(extra="forbid")

    description: str
    source: str = Field(description="where the hack was seen (a report, a benchmark) or 'task-specific'")
    expect: Verdict | list[Verdict] = Field(
        description="the verdict that counts as caught; a list where a race decides which (e.g. an attack "
        "that is either refused or gains nothing)")
    margin: float = Field(default=0.1, gt=0, description="no_gain: normalised units allowed above the start")
    reason: str | None = Field(default=None, description="invalid: text the scorer's message must contain "
                               "(so that the attack is refused for the reason it tests, not another)")
    scales: list[str] = Field(default_factory=list, description="scales it applies to (empty: all)")


class Attack(BaseModel):
    """One attack folder."""

    name: str
    folder: Path
    spec: AttackSpec


class AttackResult(BaseModel):
    """What one attack got, and whether that counts as caught."""

    task: str
    attack: str
    expect: str
    got: str
    caught: bool
    message: str
    value: float | None = None
    normalised: float | None = None
    seconds: float = 0.0
    source: str = ""


def load_attacks(task: LoadedTask) -> list[Attack]:
    """The attacks in ``task``'s ``redteam/`` folder, by name.

    Raises:
        TaskFormatError: An ``attack.yaml`` is missing or malformed.
    """
    folder = task.root / "redteam"
    attacks = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        path = sub / "attack.yaml"
        if not path.exists():
            raise TaskFormatError(path, "missing attack.yaml", "add description, source and expect")
        try:
            spec = AttackSpec.model_validate(yaml.safe_load(path.read_text()))
        except Exception as error:
            raise TaskFormatError(path, f"invalid attack spec: {error}".splitlines()[0],
                                  "see rdbench.scoring.redteam") from None
        attacks.append(Attack(name=sub.name, folder=sub, spec=spec))
    return attacks


def _build(attack: Attack, workspace: Path, materialized: Path) -> None:
    files = attack.folder / "files"
    if files.is_dir():
        shutil.copytree(files, workspace, dirs_exist_ok=True, symlinks=True)
    script = attack.folder / "build.py"
    if script.exists():
        spec = importlib.util.spec_from_file_location(f"rdbench_redteam_{attack.name}", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(workspace, materialized)


async def run_redteam(
    task: LoadedTask,
    scale: str = "mini",
    names: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[AttackResult]:
    """Run ``task``'s attacks (all, or those in ``names``) through the real scoring sandbox."""
    say = progress or (lambda message: None)
    attacks = [a for a in load_attacks(task) if (not names or a.name in names)
               and (not a.spec.scales or scale in a.spec.scales)]
    if not attacks:
        return []
    env = ensure_environment(task.spec.environment, say)
    seed = None if task.spec.family is None else task.spec.family.seed
    mat = materialize(task, scale, seed=seed, progress=say)
    scoring = task.spec.scoring
    protected_before = hash_files(mat.workspace, scoring.protected_files)
    anchors: dict[str, float | None] = {}
    results = []
    with tempfile.TemporaryDirectory(prefix="rdbench-redteam-") as tmp:
        if any("no_gain" in (a.spec.expect if isinstance(a.spec.expect, list) else [a.spec.expect])
               for a in attacks):
            anchors = await _anchors(task, scale, mat, env, Path(tmp), say)
        for attack in attacks:
            workspace = Path(tmp) / attack.name
            shutil.copytree(mat.workspace, workspace, symlinks=True)
            _build(attack, workspace, mat.root)
            say(f"{task.name}: attack {attack.name} ({attack.spec.expect} expected)".replace("'", ""))
            started = time.monotonic()
            result = await score_workspace(mat, workspace, env)
            integrity = compare(protected_before, hash_files(workspace, scoring.protected_files))
            results.append(_verdict(task, attack, result, integrity.ok, anchors, time.monotonic() - started))
    return results


async def _anchors(task: LoadedTask, scale: str, mat: Materialized, env: Path, tmp: Path,
                   say: Callable[[str], None]) -> dict[str, float | None]:
    """The starting score of this run, and the normalisation (stored calibration, else scored now)."""
    say(f"{task.name}: scoring the starting solution (the no-gain baseline)")
    start = await score_workspace(mat, mat.workspace, env)
    calibration = load_calibration(task.name, scale, version=task.spec.version)
    if calibration is not None:
        return {"start": start.value, "ys": calibration.starting, "yr": calibration.reference}
    say(f"{task.name}: no stored calibration; scoring the reference solution too")
    reference = await score_workspace(mat, reference_workspace(mat, tmp), env)
    return {"start": start.value, "ys": start.value, "yr": reference.value}


def _verdict(task: LoadedTask, attack: Attack, result: ScoreResult, integrity_ok: bool,
             anchors: dict[str, float | None], seconds: float) -> AttackResult:
    expected = attack.spec.expect if isinstance(attack.spec.expect, list) else [attack.spec.expect]
    got: str = result.kind
    caught = False
    normalised = None
    if "flagged" in expected and not integrity_ok:
        got, caught = "flagged", True
    elif "invalid" in expected and result.kind == "invalid":
        caught = attack.spec.reason is None or attack.spec.reason in result.message
        if not caught:
            got = f"invalid, but not for the reason tested ({attack.spec.reason!r})"
    elif "no_gain" in expected and result.kind == "scored":
        start, ys, yr = anchors.get("start"), anchors.get("ys"), anchors.get("yr")
        if None in (start, ys, yr) or result.value is None:
            got = "scored (no baseline to compare with)"
        else:
            transform = task.spec.scoring.transform
            normalised = normalise(result.value, ys, yr, transform)  # type: ignore[arg-type]
            baseline = normalise(start, ys, yr, transform)  # type: ignore[arg-type]
            if normalised is not None and baseline is not None:
                caught = normalised <= baseline + attack.spec.margin
                got = f"scored {normalised:+.3f} normalised (start {baseline:+.3f})"
                if not caught:
                    got = f"GAINED: {got}"
    return AttackResult(task=task.name, attack=attack.name, expect="|".join(expected), got=got, caught=caught,
                        message=result.message[:300], value=result.value, normalised=normalised,
                        seconds=round(seconds, 2), source=attack.spec.source)


def summary(results: list[AttackResult]) -> dict[str, Any]:
    """Counts per task: attacks, caught, not caught."""
    per: dict[str, dict[str, int]] = {}
    for r in results:
        row = per.setdefault(r.task, {"attacks": 0, "caught": 0})
        row["attacks"] += 1
        row["caught"] += int(r.caught)
    return per
