"""get_it_running scorer: re-runs the agent's repository on a fresh seed; reads its fault report.

Everything is read from the workspace before any of the agent's code runs. Results (0.6): the
agent's ``run.sh`` runs from scratch (on a copy of the repository without ``data/`` and
``results.json``) in a nested sandbox
(memory capped at 2 GB, 120 s) with a seed drawn for this call, and so does the clean repository;
full credit when every configuration's validation accuracy matches the clean run's (within 1e-4: the
same code on the same seed gives the same numbers) and so does the best configuration, none otherwise
(a sweep that is still partly wrong gives wrong answers). A ``results.json`` written by hand earns
nothing: only what the re-run writes is read. Fault report (0.4): F1 of the reported (file, kind)
pairs against the injected faults, in full when the re-run matches, half otherwise (a diagnosis the
working repository does not confirm); at most 12 items. Collateral edits cost 0.2: a configuration
removed, or its width, learning rate, batch size or epochs set to anything but the intended value or
the value it came with, the data recipe (``prepare_data.py``'s seed and sizes) changed, the vendored
library edited.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

KINDS = ("wrong_path", "missing_prepared_file", "api_drift", "oom_batch", "dtype_mismatch", "device_mismatch",
         "missing_env_var", "working_dir", "lr_string", "zero_epochs", "eval_on_train", "identical_configs")
SILENT = ("lr_string", "zero_epochs", "eval_on_train", "identical_configs")
HYPER = ("hidden", "lr", "batch_size", "epochs")
RECIPE = ("default_rng(1234)", "n, d, k = 3000, 20, 4", "x[:2400]", "x[2400:]")
LIBRARY = "vendor/minitrain/__init__.py"
MAX_REPORTED = 12
MISSING = "(missing)"
DERIVED = ("data", "results.json")  # what run.sh makes: never taken from the workspace
MAX_FILES, MAX_BYTES = 2000, 200 << 20


def _fresh_copy(workspace: Path) -> Path:
    """The agent's repository as a fresh checkout would have it: its files copied (plain files only,
    modes kept) to a folder the nested sandbox can run in, without the prepared data or results."""
    folder = rs.shared_dir("repo-")
    files, total = 0, 0
    for here, dirs, names in os.walk(workspace):
        rel_dir = Path(here).relative_to(workspace)
        dirs[:] = sorted(d for d in dirs if not (rel_dir == Path(".") and d in DERIVED) and d != "__pycache__")
        for name in sorted(names):
            rel = rel_dir / name
            if rel_dir == Path(".") and name in DERIVED:
                continue
            if (Path(here) / name).is_symlink():
                raise rs.Invalid(f"{rel}: links are refused in the repository (copy the file instead)")
            files += 1
            total += (Path(here) / name).lstat().st_size
            if files > MAX_FILES or total > MAX_BYTES:
                raise rs.Invalid(f"the repository holds more than {MAX_FILES} files or {MAX_BYTES >> 20} MB "
                                 "(outside data/): clean up what the sweep does not need")
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            rs.copy_in(rel, workspace, folder / rel)
            (folder / rel).chmod((Path(here) / name).lstat().st_mode & 0o755)
    return folder


def _run(folder: Path, seed: int, memory_mb: int | None) -> tuple[dict[str, Any] | None, str]:
    """Runs ``folder``'s run.sh; returns what it wrote to results.json (None if nothing usable) and
    why not."""
    run = rs.run_untrusted(["bash", "run.sh"], cwd=folder, timeout=120, memory_mb=memory_mb,
                           env={"SEED": str(seed), "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    if not run.ok:
        return None, run.why("run.sh")
    try:
        results = rs.read_json("results.json", folder)
    except rs.Invalid as error:
        return None, f"results.json after the run: {error.message}"
    ok = isinstance(results, dict) and isinstance(results.get("all"), dict) and \
        all(isinstance(v, (int, float)) and math.isfinite(v) for v in results["all"].values())
    return (results if ok else None), "" if ok else "results.json after the run is not {best, metric, all}"


def _clean_copy(protected: Path) -> Path:
    """The clean repository, copied where a nested sandbox can run it."""
    folder = rs.shared_dir("clean-")
    for path in sorted((protected / "clean").rglob("*")):
        if path.is_file():
            target = folder / path.relative_to(protected / "clean")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return folder


def _report(workspace: Path) -> list[tuple[str, str]]:
    """The (file, kind) pairs of the agent's fault report (Invalid when it is not one)."""
    report = rs.read_json("fault_report.json", workspace)
    items = report.get("faults") if isinstance(report, dict) else None
    if not isinstance(items, list):
        raise rs.Invalid('fault_report.json needs {"faults": [{"file", "line", "kind", "fix"}, ...]}')
    if len(items) > MAX_REPORTED:
        raise rs.Invalid(f"fault_report.json lists {len(items)} faults: at most {MAX_REPORTED}, one per fault "
                         "found (a report that lists everything finds nothing)")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("file"), str) or item.get("kind") not in KINDS:
            raise rs.Invalid(f"fault_report.json: each fault needs a file (text) and a kind from {list(KINDS)}")
        pairs.append((item["file"].removeprefix("./"), str(item["kind"])))
    return pairs


def _collateral(workspace: Path, label: dict[str, Any]) -> list[str]:
    """Edits the researcher did not want: configurations and their hyperparameters, the data recipe,
    the vendored library. A hyperparameter may hold its intended value or the value the repository
    came with (a fault left as it was is not collateral; it shows in the results instead)."""
    found = []
    for rel, clean in sorted(label["clean_configs"].items()):
        original = label["original_configs"][rel]
        try:
            mine = rs.read_json(rel, workspace)
        except rs.Invalid as error:
            found.append(f"{rel} removed or unreadable ({error.message})")
            continue
        if not isinstance(mine, dict):
            found.append(f"{rel} is no longer a configuration (a JSON object)")
            continue
        for key in HYPER:
            value = mine.get(key, MISSING)
            if value not in (clean.get(key, MISSING), original.get(key, MISSING)) or isinstance(value, bool):
                found.append(f"{rel}: {key} is {value!r} (intended {clean[key]!r})")
    try:
        recipe = rs.read_text("prepare_data.py", workspace)
    except rs.Invalid:
        recipe = ""
    for needle in RECIPE:
        if needle not in recipe:
            found.append(f"prepare_data.py: the data recipe changed ({needle} is gone)")
    try:
        library = hashlib.sha256(rs.read_bytes(LIBRARY, workspace)).hexdigest()
    except rs.Invalid:
        library = "missing"
    if library != label["original_sha256"][LIBRARY]:
        found.append("the vendored library was edited or removed")
    return found


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    label = json.loads((protected / "label.json").read_text())
    report = rs.read_json("fault_report.json", workspace)
    truth = {(f["file"], f["kind"]) for f in label["faults"]}
    silent = {t for t in truth if t[1] in SILENT}
    # the starting answer found nothing: no silent fault either (recall 0, not missing)
    details: dict[str, Any] = {"faults": [f["kind"] for f in label["faults"]], "silent_found": 0,
                               "silent_total": len(silent)}
    if isinstance(report, dict) and report.get("answered") is False:  # the starting template
        return rs.scored(0.0, 'no answer yet (fault_report.json has "answered": false)', **details)
    # everything read from the workspace is read before any of the agent's code runs
    said = set(_report(workspace))
    collateral = _collateral(workspace, label)
    repository = _fresh_copy(workspace)
    hits = len(said & truth)
    precision = hits / len(said) if said else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    seed = random.Random(int(params["seed"])).randrange(10, 10**6)
    memory_mb = int(params.get("memory_mb", 2048)) or None  # 0: no cap (the benchmark, outside the harness)
    mine, why = _run(repository, seed, memory_mb)
    # the clean copy is made only now: every shared folder is visible to every later nested run
    reference, why_ref = _run(_clean_copy(protected), seed, memory_mb)
    if reference is None:
        raise rs.ScorerError(f"the clean repository failed on seed {seed}: {why_ref}")
    matched = 0.0
    if mine is not None:
        names = reference["all"]
        got = mine["all"]
        matched = sum(isinstance(got.get(n), (int, float)) and abs(float(got[n]) - v) <= 1e-4
                      for n, v in names.items()) / len(names)
    best_ok = mine is not None and mine.get("best") == reference["best"]
    results = float(matched == 1.0 and best_ok)
    # a diagnosis the working repository confirms counts in full, one it does not, half
    report_credit = f1 if results else f1 / 2
    value = max(0.0, 0.6 * results + 0.4 * report_credit - 0.2 * bool(collateral))
    details.update(seed=seed, ran=mine is not None, run_error=why[-300:], matched=matched, best_correct=best_ok,
                   report_precision=precision, report_recall=recall, report_f1=f1,
                   silent_found=len(said & silent), silent_total=len(silent), collateral=collateral)
    message = "the sweep re-ran and matches the clean repository" if results else \
        ("the sweep re-ran but does not match the clean repository" if mine is not None else f"the sweep failed: {why}")
    return rs.scored(value, message[:400], **details)
