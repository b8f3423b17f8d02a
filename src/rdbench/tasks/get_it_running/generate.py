"""get_it_running instance generator: a width-sweep repository with one to three validated deployment
faults, the clean repository (the scorer's reference run) and the reference fix.

Validation (every instance): the clean repository runs on the three validation seeds; each fault,
injected alone, reproduces its symptom (a crash ends with its exception class, an out-of-memory with a
MemoryError or a kill; a silent fault runs and, on every seed, reports a best configuration no clean
seed picked, or a best metric or a configuration's accuracy outside the clean runs' range by more than
0.01); all the faults together still break the run; the reference fix reproduces the clean results exactly on every seed. A fault
that fails its check is dropped (and recorded in ``rejected``); a draw left with none is redrawn.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from rdbench.tasklib.assist import deploy

SEEDS = (0, 1, 2)
MARGIN = 0.01  # accuracy on 600 validation rows moves in steps of 1/600
_cache: dict[str, list[dict[str, Any]]] = {}


def _runs(files: dict[str, str], seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    key = hashlib.sha256(json.dumps([files, seeds], sort_keys=True).encode()).hexdigest()
    if key not in _cache:
        _cache[key] = [deploy.run(files, s) for s in seeds]
    return _cache[key]


def moved(clean: list[dict[str, Any]], faulty: dict[str, Any]) -> bool:
    """Whether a faulty run's reported numbers leave the clean runs' spread: the best configuration is
    one no clean seed picked, or the best metric or some configuration's accuracy is outside the clean
    runs' range by more than MARGIN (or missing)."""
    if not faulty["ok"]:
        return False
    got = faulty["results"]
    if got["best"] not in {r["results"]["best"] for r in clean}:
        return True
    cells = {name: [r["results"]["all"][name] for r in clean] for name in clean[0]["results"]["all"]}
    cells["(best)"] = [r["results"]["metric"] for r in clean]
    values = {**got["all"], "(best)": got["metric"]}
    return any(name not in values or not min(v) - MARGIN <= values[name] <= max(v) + MARGIN
               for name, v in cells.items())


def symptom(kind: str, clean: list[dict[str, Any]], files: dict[str, str]) -> str | None:
    """Why ``files`` (with fault ``kind``) does not show the fault's symptom (None when it does)."""
    if kind in deploy.CRASHES:
        (result,) = _runs(files, SEEDS[:1])
        if result["ok"] or result["error"] not in deploy.expected(kind):
            return f"{kind}: ended {result['error'] or 'fine'} ({result['stderr'][-200:]!r})"
        return None
    runs = _runs(files, SEEDS)
    if not all(moved(clean, r) for r in runs):
        return f"{kind}: within the clean spread" if all(r["ok"] for r in runs) else f"{kind}: crashed"
    return None


def together_problem(files: dict[str, str], clean: list[dict[str, Any]]) -> str | None:
    """Why the faulty repository (all its faults together) is no broken sweep (None when it is)."""
    together = _runs(files, SEEDS[:1])[0]
    return "together: no visible effect" if together["ok"] and not moved(clean, together) else None


def reference_problem(reference: dict[str, str], clean: list[dict[str, Any]]) -> str | None:
    """Why the reference fix is no fix (None when it reproduces the clean results on every seed)."""
    if [r["results"] for r in _runs(reference, SEEDS)] != [r["results"] for r in clean]:
        return "the reference fix does not reproduce the clean results"
    return None


def draw_sweep(rng: random.Random) -> deploy.Sweep:
    """A width sweep with one tiny width (so that a sweep that ignores the width is visible)."""
    widths = sorted([rng.choice([2, 4]), *rng.sample([8, 16, 32, 64, 128], rng.choice([2, 3]))])
    return deploy.Sweep(tuple(widths), rng.choice([0.05, 0.1, 0.2]), rng.choice([32, 64]), rng.choice([6, 8, 10]))


def build(seed: int) -> dict[str, Any]:
    """Draws one instance and validates it (see the module docstring); redraws what fails."""
    rng = random.Random(seed)
    rejected: list[str] = []
    for _ in range(20):
        sweep = draw_sweep(rng)
        clean = deploy.clean_repo(sweep)
        clean_runs = _runs(clean, SEEDS)
        if not all(r["ok"] for r in clean_runs):
            raise RuntimeError(f"the clean repository fails: {clean_runs[0]['stderr'][-400:]}")
        n = rng.choice([1, 2, 2, 3])
        # 1-3 kinds drawn uniformly from the twelve: a silent one in about half the instances
        kinds = rng.sample(deploy.KINDS, n)
        # run.sh's deletions bottom-up, last, so that no later edit moves a recorded line
        kinds.sort(key=lambda k: {"missing_prepared_file": 1, "missing_env_var": 2}.get(k, 0))
        # one configuration per fault; a silent one goes to the clean winner (where it shows), a
        # crash to another configuration
        winner = max(sweep.configs(), key=lambda name: sum(r["results"]["best"] == name for r in clean_runs))
        others = rng.sample([c for c in sweep.configs() if c != winner], len(sweep.widths) - 1)
        targets = [winner, *others]
        files = dict(clean)
        faults, problems = [], []
        for kind in kinds:
            alone = dict(clean)
            target = winner
            if kind in deploy.CONFIG_KINDS:
                target = targets.pop(0) if kind in deploy.SILENT else targets.pop()
            deploy.inject(alone, kind, target)
            why = symptom(kind, clean_runs, alone)
            if why:
                problems.append(why)
                continue
            faults.append(deploy.inject(files, kind, target))
        if not faults:
            rejected += problems
            continue
        reference = deploy.fixed(files, faults, clean)
        why = together_problem(files, clean_runs) or reference_problem(reference, clean_runs)
        if why:
            rejected.append(f"{[f.kind for f in faults]}: {why}")
            continue
        rejected += problems
        return {"sweep": sweep, "clean": clean, "files": files, "faults": faults, "reference": reference,
                "clean_runs": [r["results"] for r in clean_runs], "rejected": rejected}
    raise RuntimeError(f"seed {seed}: no valid instance in 20 draws: {rejected[-5:]}")


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance under ``out`` (workspace/, protected/, reference/)."""
    inst = build(seed)
    faults = inst["faults"]
    for sub in ("workspace", "protected/clean", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for path, text in inst["files"].items():
        (out / "workspace" / path).parent.mkdir(parents=True, exist_ok=True)
        (out / "workspace" / path).write_text(text)
    (out / "workspace" / "run.sh").chmod(0o755)
    (out / "workspace" / "fault_report.json").write_text(json.dumps({"answered": False, "faults": []}) + "\n")
    for path, text in inst["clean"].items():
        (out / "protected" / "clean" / path).parent.mkdir(parents=True, exist_ok=True)
        (out / "protected" / "clean" / path).write_text(text)
    configs = [p for p in inst["clean"] if p.startswith("configs/")]
    label = {"faults": [f.__dict__ for f in faults], "sweep": inst["sweep"].__dict__,
             "clean_configs": {p: json.loads(inst["clean"][p]) for p in configs},
             "original_configs": {p: json.loads(inst["files"][p]) for p in configs},
             "original_sha256": {p: hashlib.sha256(t.encode()).hexdigest() for p, t in inst["files"].items()},
             "clean_runs": inst["clean_runs"]}
    (out / "protected" / "label.json").write_text(json.dumps(label, indent=1))
    for path, text in inst["reference"].items():
        if inst["files"].get(path) != text:
            (out / "reference" / path).parent.mkdir(parents=True, exist_ok=True)
            (out / "reference" / path).write_text(text)
    report = [{"file": f.file, "line": f.line, "kind": f.kind, "fix": f.fix} for f in faults]
    (out / "reference" / "fault_report.json").write_text(json.dumps({"faults": report}, indent=1) + "\n")
    (out / "reference" / "results.json").write_text(json.dumps(inst["clean_runs"][0], indent=1) + "\n")
    return {"faults": [f.kind for f in faults], "widths": list(inst["sweep"].widths), "rejected": inst["rejected"]}
