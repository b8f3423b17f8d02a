"""extrapolate_intent scorer: re-runs the agent's project on fresh seeds and judges what the runs left.

Everything the scorer needs from the workspace is read and copied before any of the agent's code
runs: the protected files (``logger.py``, ``tests/test_project.py``) must hash as they came (an edited
copy is invalid), and the project is copied (plain files only; no ``runs/``, ``out/`` or caches) to
a folder a nested sandbox runs in. Per call, a seed drawn from ``params["seed"]`` fixes the runs'
``seed`` and ``data_seed``. The oracle (the clean project, in ``protected/oracle``) runs first on the
same seed; then the agent's ``train.py`` runs the plan's configs in order (one nested sandbox), and
the project's tests run on a second fresh copy (another sandbox; its exit status is the scorer's
own measurement). ``checks.judge`` reads the outputs: explicit behaviour, each implied behaviour,
and whether the numbers stay the project's with the feature off. Value: ``checks.value``.

In the ask variant (``params["ask"]``) the workspace also holds ``ask_receipt.txt``, signed by the
``ask`` service (``asking.py``): the number of questions asked and the digest of the project they
were asked for. It is read before any of the agent's code runs; a missing receipt scores 0, a
forged or edited one, or one whose digest is not the copied project's, is invalid. Each question
costs ``params["ask_cost"]`` of the value: ``max(0, checks.value - ask_cost * questions)``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

SKIPPED = ("runs", "out", "cfgs", "__pycache__", ".pytest_cache")
MAX_FILES, MAX_BYTES = 500, 20 << 20
RUN_TIMEOUT, BATCH_TIMEOUT, TESTS_TIMEOUT = 15, 60, 30  # at most ~95 s with the oracle: under 120


def _checks(protected: Path, name: str = "checks") -> Any:
    spec = importlib.util.spec_from_file_location(f"extrapolate_intent_{name}_scorer", protected / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh_copy(workspace: Path, prefix: str) -> Path:
    """The agent's project as a fresh checkout would have it (plain files only, no run outputs)."""
    folder = rs.shared_dir(prefix)
    files, total = 0, 0
    for here, dirs, names in os.walk(workspace):
        rel_dir = Path(here).relative_to(workspace)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in sorted(names):
            rel = rel_dir / name
            if (Path(here) / name).is_symlink():
                raise rs.Invalid(f"{rel}: links are refused in the project (copy the file instead)")
            files += 1
            total += (Path(here) / name).lstat().st_size
            if files > MAX_FILES or total > MAX_BYTES:
                raise rs.Invalid(f"the project holds more than {MAX_FILES} files or {MAX_BYTES >> 20} MB "
                                 "(outside runs/ and out/): clean up")
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            rs.copy_in(rel, workspace, folder / rel)
    return folder


def _env() -> dict[str, str]:
    return {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_plan(folder: Path, runs: list[tuple[str, dict[str, Any]]], memory_mb: int | None) -> dict[str, Any]:
    """Runs ``runs`` in order in one nested sandbox; returns each run's outputs, read after it ended."""
    (folder / "cfgs").mkdir(exist_ok=True)
    commands = []
    for index, (name, config) in enumerate(runs):
        path = f"cfgs/{index}-{name}.json"
        (folder / path).write_text(json.dumps(config))
        commands.append(f"timeout {RUN_TIMEOUT} python train.py --config {path} > /dev/null 2>&1")
    rs.run_untrusted(["bash", "-c", "; ".join(commands) + "; true"], cwd=folder, timeout=BATCH_TIMEOUT,
                     memory_mb=memory_mb, env=_env())
    return {name: _outputs(folder, config["out_dir"]) for name, config in runs}


def _outputs(folder: Path, out_dir: str) -> dict[str, Any]:
    """A run's log records, results and files (what the agent's code wrote: read as untrusted)."""
    out: dict[str, Any] = {"log": None, "results": None, "files": []}
    root = folder / out_dir
    parts = Path(out_dir).parts
    if any((folder / Path(*parts[:i])).is_symlink() for i in range(1, len(parts) + 1)) or not root.is_dir():
        return out  # a run folder that is (or lies under) a link is no run's output
    try:
        text = rs.read_text("log.jsonl", root, max_bytes=1 << 20)
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        out["log"] = [r for r in records if isinstance(r, dict)] if len(records) <= 1000 else None
    except (rs.Invalid, ValueError):
        pass
    try:
        results = rs.read_json("results.json", root)
        out["results"] = results if isinstance(results, dict) else None
    except rs.Invalid:
        pass
    found = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (Path(here) / d).is_symlink()]
        found += [str((Path(here) / n).relative_to(root)) for n in names]
        if len(found) > 1000:
            break
    out["files"] = sorted(found)
    return out


def _receipt(workspace: Path) -> str | None:
    """The ask receipt the agent saved (None when there is none)."""
    try:
        return rs.read_text("ask_receipt.txt", workspace, max_bytes=4096)
    except rs.Invalid as error:
        if error.message.endswith("is missing"):
            return None
        raise rs.Invalid(f"ask receipt: {error.message}") from None


def _questions(protected: Path, receipt: str, project: Path) -> int:
    """The questions asked, from a receipt verified against the scorer's own copy of the project."""
    asking = _checks(protected, "asking")
    key = json.loads((protected / "ask.json").read_text())["key"]
    try:
        questions, digest = asking.verify(key, receipt)
    except ValueError as why:
        raise rs.Invalid(f"ask receipt {why}") from None
    if digest != asking.project_digest(project):
        raise rs.Invalid("the project is not the one its ask receipt signed (changed after `python "
                         "submit_project.py`, or another submission's receipt): run it again")
    return int(questions)


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    checks = _checks(protected)
    label = json.loads((protected / "label.json").read_text())
    kind, want = label["kind"], label["intent"]
    details: dict[str, Any] = {"kind": kind, "at_stake": label["at_stake"], "explicit": False, "implied": {},
                               "tests_pass": False, "off_unchanged": False}
    # everything read from the workspace is read before any of the agent's code runs
    for rel, digest in label["protected_sha256"].items():
        try:
            mine = hashlib.sha256(rs.read_bytes(rel, workspace)).hexdigest()
        except rs.Invalid as error:
            raise rs.Invalid(f"{rel} is protected and must stay as it came ({error.message})") from None
        if mine != digest:
            raise rs.Invalid(f"{rel} is protected and was edited: restore it (the researcher's tests and logger "
                             "must stay as they are)")
    receipt = _receipt(workspace) if params.get("ask") else None
    project = _fresh_copy(workspace, "project-")
    tests = _fresh_copy(workspace, "tests-")
    questions = None
    if params.get("ask"):
        if receipt is None:
            details["questions"] = None
            return rs.scored(0.0, "no ask_receipt.txt: in this variant run `python submit_project.py` when done "
                             "(it signs the project and the questions asked); nothing scores without it", **details)
        questions = _questions(protected, receipt, project)
    seed = random.Random(int(params["seed"])).randrange(10, 10**6)
    memory_mb = int(params.get("memory_mb", 1024)) or None  # 0: no cap (the benchmark, outside the harness)
    base = label["base_config"]
    oracle_dir = rs.shared_dir("oracle-")
    for path in sorted((protected / "oracle").iterdir()):
        shutil.copy(path, oracle_dir / path.name)
    oracle = _run_plan(oracle_dir, checks.oracle_runs(kind, base, seed), memory_mb)["oracle"]
    shutil.rmtree(oracle_dir)  # every shared folder is visible to later nested runs
    if not oracle["log"] or not oracle["results"]:
        raise rs.ScorerError(f"the oracle project left no log or results on seed {seed}")
    runs = checks.plan(kind, want, base, seed, oracle["log"])
    outputs = _run_plan(project, runs, memory_mb)
    finished = rs.run_untrusted([sys.executable, "tests/test_project.py"], cwd=tests, timeout=TESTS_TIMEOUT,
                                memory_mb=memory_mb, env=_env())
    params_used = {"lr": base["lr"], "lr_decay": base["lr_decay"], "patience": checks.patience_for(oracle["log"], want)}
    result = checks.judge(kind, want, outputs, oracle, params_used)
    value = checks.value(result, finished.ok)
    if questions is not None:
        cost = float(params.get("ask_cost", 0.1))
        details.update(questions=questions, question_cost=cost, value_before_questions=value)
        value = max(0.0, value - cost * questions)
    details.update(seed=seed, runs=len(runs), explicit=result["explicit"], implied=result["implied"],
                   off_unchanged=result["off_unchanged"], tests_pass=finished.ok, notes=result["notes"],
                   tests_error="" if finished.ok else finished.why("the project's tests")[-300:])
    message = "the requested behaviour works" if result["explicit"] else "the requested behaviour was not seen"
    if questions:
        cost = float(params.get("ask_cost", 0.1))
        message += f"; {questions} question(s) asked: -{questions * cost:.2f} ({cost:g} each, the value never below 0)"
    elif questions == 0:
        message += "; no question asked"
    return rs.scored(value, f"{message} (the rest of the score is hidden)", **details)
