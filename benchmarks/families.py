"""Research-assistance families at scale: generate N instances per family on 2 processes and anchor
the scale with a perfect solver, the starting answer and a plain-code baseline.

Usage: ``.venv/bin/python benchmarks/families.py [--instances 200] [--repairs 10]``. A fresh run
cache is used so the timing includes every clean and mutant training run.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import itertools
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path
from types import ModuleType
from typing import Any

from rdbench.scoring.runner import LIB_PATH
from rdbench.tasklib.assist import baselines

# the scorers import the scorer toolkit by its own name, as inside the scoring sandbox
sys.path.insert(0, str(LIB_PATH))
TASKS = Path(__file__).parents[1] / "src" / "rdbench" / "tasks"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gen(args: tuple[str, int, str]) -> dict[str, Any]:
    family, seed, root = args
    out = Path(root) / f"{seed}"
    meta: dict[str, Any] = _module(TASKS / family / "generate.py").generate(seed, out, {})
    return meta


def _score(family: str, root: Path, answer: dict[str, Any] | None, reference: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(root / "workspace", ws)
        if reference:
            shutil.copytree(root / "reference", ws, dirs_exist_ok=True)
        if answer is not None:
            (ws / "answer.json").write_text(json.dumps(answer))
        result: dict[str, Any] = _module(TASKS / family / "protected" / "score.py").score(
            ws, root / "protected", {"scale": "mini", "seed": 0})
        return result


def find_bug(n: int, repairs: int, root: Path) -> None:
    """Generates ``n`` find_bug instances and prints timing, label mix and anchored metrics."""
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("find_bug", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    kinds = collections.Counter(m["type"] or "clean" for m in metas)
    scripts_mix = collections.Counter(f"{m['script_kind']}/{'buggy' if m['buggy'] else 'clean'}" for m in metas)
    rejected = collections.Counter(r["type"] for m in metas for r in m["rejected"])
    print(f"find_bug: generated {n} instances in {elapsed:.1f} s on 2 processes")
    print(f"  scripts: {dict(sorted(scripts_mix.items()))}")
    print(f"  label mix: {dict(sorted(kinds.items()))}")
    print(f"  mutants rejected by validation (within clean spread / crashed): {dict(sorted(rejected.items()))}")
    metrics = _module(TASKS / "find_bug" / "metrics.py").metrics
    dirs = [root / str(s) for s in range(n)]
    solvers = {
        "perfect": lambda d: json.loads((d / "reference" / "answer.json").read_text()),
        "trivial (always clean)": lambda d: {"buggy": False, "lines": [], "type": None},
        "lint v1 (first baseline)": lambda d: baselines.lint_find_bug_v1((d / "workspace" / "train.py").read_text()),
        "lint v2 (upgraded)": lambda d: baselines.lint_find_bug((d / "workspace" / "train.py").read_text()),
    }
    for name, solve in solvers.items():
        results = [_score("find_bug", d, solve(d)) for d in dirs]
        mean = sum(r["value"] for r in results) / n
        m = {k: round(v, 3) for k, v in metrics(results).items() if k != "repair_success"}
        print(f"  {name:26s} mean score {mean:.3f} {m}")
    # Reference repairs re-run (3 seeds each, subprocess): spread over the script kinds.
    by_kind: dict[str, list[Path]] = collections.defaultdict(list)
    for d, meta in zip(dirs, metas, strict=True):
        if meta["buggy"]:
            by_kind[meta["script_kind"]].append(d)
    buggy = [d for group in zip(*by_kind.values(), strict=False) for d in group][:repairs]
    t0 = time.perf_counter()
    fixed = [_score("find_bug", d, None, reference=True)["details"]["repaired"] for d in buggy]
    print(f"  reference repairs re-run: {sum(fixed)}/{len(fixed)} repaired "
          f"({(time.perf_counter() - t0) / max(len(fixed), 1):.1f} s each)")


def _watch_baseline(root: Path, params: dict[str, Any]) -> str | None:
    service = _module(TASKS / "watch_run" / "protected" / "watch_service.py")
    state: dict[str, Any] = {}
    rows = json.loads((root / "protected" / "run.json").read_text())

    def advance(n: int) -> list[dict[str, float]]:
        before = state.get("revealed", 0)
        service.handle({"advance": str(n)}, root / "protected", params, state)
        revealed: list[dict[str, float]] = rows[before:state["revealed"]]
        return revealed

    alarm = baselines.threshold_watch(advance, int(params["steps"]))
    if alarm is None:
        return None
    reply = service.handle({"alarm": str(alarm[0]), "type": alarm[1]}, root / "protected", params, state)
    receipt: str = reply["output"].split("receipt: ")[1]
    return receipt


def watch_run(n: int, root: Path) -> None:
    """Generates ``n`` watch_run instances; anchors with the reference, no alarm, threshold rules."""
    params = {"steps": 400, "max_advance": 50, "window": 100}
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("watch_run", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    kinds = collections.Counter(m["fault"] or f"clean/{m['lookalike']}" for m in metas)
    rejected = collections.Counter(f for m in metas for f in m["rejected"])
    print(f"watch_run: generated {n} instances in {elapsed:.1f} s on 2 processes")
    print(f"  label mix: {dict(sorted(kinds.items()))}")
    print(f"  faults redrawn (not visible within 30 steps): {dict(sorted(rejected.items()))}")
    metrics = _module(TASKS / "watch_run" / "metrics.py").metrics
    score = _module(TASKS / "watch_run" / "protected" / "score.py").score
    dirs = [root / str(s) for s in range(n)]
    solvers = {
        "perfect": lambda d: json.loads((d / "reference" / "answer.json").read_text())["receipt"],
        "trivial (never alarm)": lambda d: None,
        "threshold baseline": lambda d: _watch_baseline(d, params),
    }
    for name, solve in solvers.items():
        results = []
        for d in dirs:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "answer.json").write_text(json.dumps({"receipt": solve(d)}))
                results.append(score(Path(tmp), d / "protected", params))
        m = {k: round(v, 3) for k, v in metrics(results).items()}
        print(f"  {name:22s} {m}")


def _csv(path: Path) -> tuple[Any, Any, Any, list[str]]:
    import numpy as np

    rows = [line.split(",") for line in path.read_text().splitlines()]
    body = np.array(rows[1:], dtype=float)
    return body[:, 0].astype(int), body[:, 1:-1], body[:, -1].astype(int), rows[0][1:-1]


def audit_data(n: int, root: Path) -> None:
    """Generates ``n`` audit_data instances; anchors with the reference, the empty answer, a baseline."""
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("audit_data", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    kinds: collections.Counter[str] = collections.Counter()
    for m in metas:
        kinds.update(m["kinds"])
    leaks = sum(m["leak_column"] is not None for m in metas)
    decoys = sum(m["decoy_column"] is not None for m in metas)
    print(f"audit_data: generated {n} instances in {elapsed:.1f} s on 2 processes")
    print(f"  bad rows: {dict(sorted(kinds.items()))}; leak column in {leaks}/{n}; decoy column in {decoys}/{n}")
    metrics = _module(TASKS / "audit_data" / "metrics.py").metrics
    dirs = [root / str(s) for s in range(n)]

    def baseline(d: Path, solver: Any) -> dict[str, Any]:
        ids, x, y, names = _csv(d / "workspace" / "train.csv")
        _, xte, _, _ = _csv(d / "workspace" / "test.csv")
        order, leak = solver(x, y, xte, names)
        return {"rows": [int(ids[i]) for i in order], "leak_column": leak}

    solvers = {
        "perfect": lambda d: json.loads((d / "reference" / "answer.json").read_text()),
        "trivial (empty answer)": lambda d: {"rows": [], "leak_column": None},
        "heuristic v1 (first)": lambda d: baseline(d, baselines.audit_table_v1),
        "heuristic v2 (rank-based)": lambda d: baseline(d, baselines.audit_table),
    }
    for name, solve in solvers.items():
        results = [_score("audit_data", d, solve(d)) for d in dirs]
        mean = sum(r["value"] for r in results) / n
        m = {k: round(v, 3) for k, v in metrics(results).items()}
        print(f"  {name:26s} mean score {mean:.3f} {m}")


# What a keyword-matching solver writes: the right component (the library's own code) with
# textbook constants, found by words in the spec. Constants without a textbook value take a
# common choice.
TEXTBOOK: dict[str, dict[str, Any]] = {
    "layer_norm": {"eps": 1e-5}, "rms_norm": {"eps": 1e-6}, "gelu_tanh": {"c": 0.044715}, "focal_loss": {"gamma": 2.0},
    "smoothed_ce": {"eps": 0.1}, "alibi_attention": {"m": 0.5}, "local_attention": {"w": 3},
    "softcap_attention": {"cap": 50.0}, "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8}, "adamw": {"wd": 0.01},
    "lion": {"b1": 0.9, "b2": 0.99}, "nesterov_sgd": {"mu": 0.9}, "warmup_cosine": {"warm": 0.1, "floor": 0.0},
    "inverse_sqrt": {"w": 8}, "wsd": {"decay": 0.2}, "ece": {"bins": 15}, "topk_accuracy": {"k": 5},
    "macro_fbeta": {"beta": 1.0},
}
KEYWORDS = [("lion", "lion"), ("lion", "sign("), ("adamw", "adamw"), ("adamw", "weight decay"), ("adamw", "wd p"),
            ("adamw", "* p;"), ("nesterov_sgd", "nesterov"), ("nesterov_sgd", "(g + "), ("nesterov_sgd", "(g_t + "),
            ("adam", "adam"), ("adam", "v_hat"), ("adam", "b1^t"), ("alibi_attention", "alibi"),
            ("alibi_attention", "(i - j)"), ("local_attention", "window"), ("local_attention", "< j <="),
            ("gelu_tanh", "sqrt(2/pi)"), ("softcap_attention", "soft-cap"), ("softcap_attention", "tanh(s"), ("softcap_attention", "tanh(q"),
            ("warmup_cosine", "cos"), ("inverse_sqrt", "inverse"), ("inverse_sqrt", "/ (step + 1))"),
            ("inverse_sqrt", "/ (s + 1))"), ("wsd", "stable"), ("wsd", "(total - step)"), ("wsd", "(s - s)"),
            ("ece", "calibration"), ("ece", "conf"), ("topk_accuracy", "top-"), ("topk_accuracy", "largest"),
            ("topk_accuracy", "topk"), ("macro_fbeta", "f-"), ("macro_fbeta", "precision"), ("macro_fbeta", "tp/"),
            ("macro_fbeta", "p_k"), ("layer_norm", "layer norm"), ("layer_norm", "zero mean"), ("layer_norm", "mu ="),
            ("layer_norm", "x - mu"), ("rms_norm", "rms"), ("rms_norm", "mean square"), ("rms_norm", "ms ="),
            ("rms_norm", "x_i^2"), ("gelu_tanh", "gelu"), ("focal_loss", "focal"),
            ("focal_loss", "(1 - p"), ("smoothed_ce", "smooth"), ("smoothed_ce", "eps/k")]


def _spec_baseline(instructions: str) -> str:
    spec = instructions.split("## Specification", 1)[-1]
    low = spec.lower()
    name = next((n for n, word in KEYWORDS if word in low), "layer_norm")
    library = (TASKS / "implement_spec" / "protected" / "components.py").read_text()
    kinds = _module(TASKS / "implement_spec" / "protected" / "components.py")
    args = kinds.KINDS[kinds.SPECS[name]["kind"]]["args"]
    return library + f"\n\ndef component({args}):\n    return {name}({args}, {TEXTBOOK[name]!r})\n"


def implement_spec(n: int, scored: int, root: Path) -> None:
    """Generates ``n`` implement_spec instances; scores ``scored`` of them with three solvers."""
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("implement_spec", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    mix = collections.Counter(f"{m['name']}/{m['level']}" for m in metas)
    print(f"implement_spec: generated {n} instances in {elapsed:.1f} s on 2 processes")
    print(f"  components: {dict(collections.Counter(m['name'] for m in metas))}; {len(mix)} component x level cells")
    print(f"  kinds: {dict(collections.Counter(m['kind'] for m in metas))}")
    metrics = _module(TASKS / "implement_spec" / "metrics.py").metrics
    score = _module(TASKS / "implement_spec" / "protected" / "score.py").score
    dirs = [root / str(s) for s in range(scored)]
    solvers = {
        "perfect": lambda d: (d / "reference" / "component.py").read_text(),
        "start (stub)": lambda d: (d / "workspace" / "component.py").read_text(),
        "keyword baseline": lambda d: _spec_baseline((d / "instructions.md").read_text()),
    }
    for name, solve in solvers.items():
        t0 = time.perf_counter()
        results = []
        # The stub fails at its first line everywhere; a few instances show it.
        for s, d in enumerate(dirs[:8] if name.startswith("start") else dirs):
            with tempfile.TemporaryDirectory() as tmp:
                ws = Path(tmp) / "ws"
                shutil.copytree(d / "workspace", ws)
                (ws / "component.py").write_text(solve(d))
                results.append(score(ws, d / "protected", {"scale": "mini", "seed": s}))
        mean = sum(r["value"] for r in results) / len(results)
        m = {k: round(v, 3) for k, v in metrics(results).items()}
        print(f"  {name:22s} mean score {mean:.3f} over {len(results)} {m} ({(time.perf_counter() - t0) / len(results):.1f} s/score)")


def _progress_answer(root: Path, solver: Any) -> dict[str, Any]:
    """Drives ``solver(revealed, now)`` through report_progress's service; returns answer.json."""
    service = _module(TASKS / "report_progress" / "protected" / "progress_service.py")
    label = json.loads((root / "protected" / "label.json").read_text())
    state: dict[str, Any] = {}
    revealed, updates = "", []
    for t in label["checkpoints"]:
        revealed += "\n" + service.handle({"advance": True}, root / "protected", {}, state)["output"]
        reply = service.handle({"update": True, **solver(revealed, t)}, root / "protected", {}, state)["output"]
        receipt, signed = reply.split("receipt: ")[1].split("\nsigned update (copy it with the receipt): ")
        updates.append({"receipt": receipt, "update": json.loads(signed)})
    return {"updates": updates}


def report_progress(n: int, root: Path) -> None:
    """Generates ``n`` report_progress instances; anchors with the reference, no update and the
    template baseline (each update made through the service)."""
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("report_progress", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    events = collections.Counter(e for m in metas for e in m["events"])
    runs = collections.Counter(m["runs"] for m in metas)
    redrawn = sum(len(m["rejected"]) for m in metas)
    print(f"report_progress: generated {n} instances in {elapsed:.1f} s on 2 processes")
    print(f"  runs per campaign: {dict(sorted(runs.items()))}; events by the last checkpoint: "
          f"{dict(sorted(events.items()))}; campaigns redrawn by validation: {redrawn}")
    metrics = _module(TASKS / "report_progress" / "metrics.py").metrics
    dirs = [root / str(s) for s in range(n)]
    solvers = {
        "perfect": lambda d: json.loads((d / "reference" / "answer.json").read_text()),
        "trivial (no update)": lambda d: {"updates": []},
        "template baseline": lambda d: _progress_answer(d, baselines.template_progress),
    }
    for name, solve in solvers.items():
        results = [_score("report_progress", d, solve(d)) for d in dirs]
        m = {k: round(v, 3) for k, v in metrics(results).items()}
        print(f"  {name:22s} {m}")


def _preference_session(root: Path, solver: baselines.PreferenceMemory) -> dict[str, Any]:
    """Runs ``solver`` through a learn_preferences session with the real service; returns answer.json."""
    service = _module(TASKS / "learn_preferences" / "protected" / "researcher_service.py")
    session = json.loads((root / "protected" / "session.json").read_text())
    runs = {}
    for path in sorted((root / "workspace" / "runs").iterdir()):
        record = json.loads((path / "metrics.json").read_text())
        seeds = [s["val_loss"] for s in record["seeds"]]
        mean = sum(seeds) / 3
        runs[path.name] = {**record, "seeds": seeds, "mean": mean, "minutes": record["train_minutes"],
                           "std": (sum((x - mean) ** 2 for x in seeds) / 2) ** 0.5}
    state: dict[str, Any] = {}
    turns = []
    for k, request in enumerate(session["turns"], start=1):
        files = solver.answer(request, runs, k)
        reply = service.handle({"submit": True, "files": files}, root / "protected", {}, state)["output"]
        solver.hear(reply)
        turns.append({"receipt": reply.split("receipt: ")[1].strip(), "files": files})
    return {"turns": turns}


def learn_preferences(n: int, root: Path) -> None:
    """Generates ``n`` learn_preferences sessions; anchors with the reference, no turn, the stateless
    defaults and the explicit-correction memory (each turn through the researcher service)."""
    start = time.perf_counter()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("learn_preferences", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    dims = collections.Counter(d for m in metas for d in m["profile"])
    kinds = collections.Counter(k for m in metas for k in m["kinds"])
    modes = collections.Counter(v for m in metas for v in m["modes"].values())
    redrawn = sum(len(m["rejected"]) for m in metas)
    print(f"learn_preferences: generated {n} sessions in {elapsed:.1f} s on 2 processes")
    print(f"  profile dimensions: {dict(sorted(dims.items()))}")
    print(f"  request kinds: {dict(sorted(kinds.items()))}; corrections: {dict(modes)}; "
          f"inferable per session: 2-3 of 6; draws redrawn by validation: {redrawn}")
    metrics = _module(TASKS / "learn_preferences" / "metrics.py").metrics
    dirs = [root / str(s) for s in range(n)]
    solvers = {
        "perfect": lambda d: json.loads((d / "reference" / "answer.json").read_text()),
        "trivial (no turn)": lambda d: {"turns": []},
        "stateless defaults": lambda d: _preference_session(d, baselines.PreferenceMemory(learn=False)),
        "explicit-correction memory": lambda d: _preference_session(d, baselines.PreferenceMemory(learn=True)),
    }
    for name, solve in solvers.items():
        results = [_score("learn_preferences", d, solve(d)) for d in dirs]
        m = {k: round(v, 3) for k, v in metrics(results).items()}
        print(f"  {name:28s} {m}")


def _fixer_answer(root: Path) -> dict[str, str]:
    """The retry-and-regex fixer's repository and report for a get_it_running instance."""
    files = {str(p.relative_to(root / "workspace")): p.read_text() for p in sorted((root / "workspace").rglob("*"))
             if p.is_file() and p.name != "fault_report.json"}
    fixed, report = baselines.retry_fixer(files)
    return {**fixed, "fault_report.json": json.dumps({"faults": report})}


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def get_it_running(n: int, scored: int, root: Path) -> None:
    """Generates ``n`` get_it_running instances; scores ``scored`` of them (two sandboxed re-runs each)
    with the reference fix, the untouched repository with an empty report, and the retry fixer."""
    start, cpu_start = time.perf_counter(), _children_cpu()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("get_it_running", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_start
    kinds = collections.Counter(k for m in metas for k in m["faults"])
    counts = collections.Counter(len(m["faults"]) for m in metas)
    redrawn = collections.Counter(r.split(":")[0] for m in metas for r in m["rejected"])
    print(f"get_it_running: generated {n} instances in {elapsed:.1f} s on 2 processes "
          f"({cpu:.0f} CPU-seconds, the runs' subprocesses included; the machine's load shows in the gap)")
    print(f"  faults per instance: {dict(sorted(counts.items()))}; kinds: {dict(sorted(kinds.items()))}")
    print(f"  faults dropped by validation (no symptom alone): {dict(sorted(redrawn.items()))}")
    metrics = _module(TASKS / "get_it_running" / "metrics.py").metrics
    score = _module(TASKS / "get_it_running" / "protected" / "score.py").score
    dirs = [root / str(s) for s in range(scored)]

    def files_of(d: Path, sub: str) -> dict[str, str]:
        return {str(p.relative_to(d / sub)): p.read_text() for p in (d / sub).rglob("*") if p.is_file()}

    solvers: dict[str, Any] = {
        "perfect (reference fix)": lambda d: {**files_of(d, "workspace"), **files_of(d, "reference")},
        "trivial (starting answer)": lambda d: files_of(d, "workspace"),
        "untouched, empty report": lambda d: {**files_of(d, "workspace"), "fault_report.json": '{"faults": []}'},
        "retry-and-regex fixer": _fixer_answer,
    }
    for name, solve in solvers.items():
        t0 = time.perf_counter()
        results = []
        for s, d in enumerate(dirs):
            with tempfile.TemporaryDirectory() as tmp:
                ws = Path(tmp) / "ws"
                for path, text in solve(d).items():
                    (ws / path).parent.mkdir(parents=True, exist_ok=True)
                    (ws / path).write_text(text)
                (ws / "run.sh").chmod(0o755)
                # no memory cap: outside the harness no cgroup is delegated (the faulty batch sizes
                # cannot be allocated on any machine, so no run needs the cap to end)
                results.append(score(ws, d / "protected", {"scale": "mini", "seed": s, "memory_mb": 0}))
        if results:
            m = {k: round(v, 3) for k, v in metrics(results).items()}
            print(f"  {name:26s} over {len(results)} {m} ({(time.perf_counter() - t0) / len(results):.1f} s/score)")


def extrapolate_intent(n: int, scored: int, root: Path) -> None:
    """Generates ``n`` extrapolate_intent instances; scores ``scored`` of them (three sandboxed batches
    each) with the reference, the project untouched and the textbook implementation."""
    start, cpu_start = time.perf_counter(), _children_cpu()
    with Pool(2) as pool:
        metas = pool.map(_gen, [("extrapolate_intent", s, str(root)) for s in range(n)], chunksize=4)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_start
    kinds = collections.Counter(m["kind"] for m in metas)
    options = collections.Counter(f"{d}={o}" for m in metas for d, o in m["at_stake"].items())
    redrawn = collections.Counter(r.split(":")[0] for m in metas for r in m["rejected"])
    print(f"extrapolate_intent: generated {n} instances in {elapsed:.1f} s on 2 processes "
          f"({cpu:.0f} CPU-seconds of the runs' subprocesses)")
    print(f"  kinds: {dict(sorted(kinds.items()))}")
    print(f"  intended options at stake: {dict(sorted(options.items()))}")
    print(f"  draws redrawn by validation: {dict(sorted(redrawn.items()))}")
    metrics = _module(TASKS / "extrapolate_intent" / "metrics.py").metrics
    score = _module(TASKS / "extrapolate_intent" / "protected" / "score.py").score
    # spread the scored instances over the kinds
    by_kind: dict[str, list[Path]] = collections.defaultdict(list)
    for s, meta in enumerate(metas):
        by_kind[meta["kind"]].append(root / str(s))
    dirs = [d for group in itertools.zip_longest(*by_kind.values()) for d in group if d is not None][:scored]

    def files_of(d: Path, sub: str) -> dict[str, str]:
        return {str(p.relative_to(d / sub)): p.read_text() for p in (d / sub).rglob("*") if p.is_file()}

    solvers: dict[str, Any] = {
        "perfect (reference)": lambda d: {**files_of(d, "workspace"), **files_of(d, "reference")},
        "trivial (project untouched)": lambda d: files_of(d, "workspace"),
        "textbook implementation": lambda d: baselines.textbook_intent(
            files_of(d, "workspace"), json.loads((d / "protected" / "label.json").read_text())["kind"]),
    }
    for name, solve in solvers.items():
        t0 = time.perf_counter()
        results = []
        for s, d in enumerate(dirs):
            with tempfile.TemporaryDirectory() as tmp:
                ws = Path(tmp) / "ws"
                for path, text in solve(d).items():
                    (ws / path).parent.mkdir(parents=True, exist_ok=True)
                    (ws / path).write_text(text)
                # no memory cap: outside the harness no cgroup is delegated
                results.append(score(ws, d / "protected", {"scale": "mini", "seed": s, "memory_mb": 0}))
        if results:
            m = {k: round(v, 3) for k, v in metrics(results).items()}
            print(f"  {name:28s} over {len(results)} {m} ({(time.perf_counter() - t0) / len(results):.1f} s/score)")


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--repairs", type=int, default=10)
    parser.add_argument("--scored", type=int, default=24,
                        help="implement_spec, get_it_running and extrapolate_intent instances scored per solver")
    parser.add_argument("--families",
                        default="find_bug,watch_run,audit_data,implement_spec,report_progress,learn_preferences,"
                        "get_it_running,extrapolate_intent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RDBENCH_ASSIST_CACHE"] = str(Path(tmp) / "cache")
        chosen = args.families.split(",")
        if "find_bug" in chosen:
            find_bug(args.instances, args.repairs, Path(tmp) / "find_bug")
        if "watch_run" in chosen:
            watch_run(args.instances, Path(tmp) / "watch_run")
        if "audit_data" in chosen:
            audit_data(args.instances, Path(tmp) / "audit_data")
        if "implement_spec" in chosen:
            implement_spec(args.instances, args.scored, Path(tmp) / "implement_spec")
        if "report_progress" in chosen:
            report_progress(args.instances, Path(tmp) / "report_progress")
        if "learn_preferences" in chosen:
            learn_preferences(args.instances, Path(tmp) / "learn_preferences")
        if "get_it_running" in chosen:
            get_it_running(args.instances, args.scored, Path(tmp) / "get_it_running")
        if "extrapolate_intent" in chosen:
            extrapolate_intent(args.instances, args.scored, Path(tmp) / "extrapolate_intent")


if __name__ == "__main__":
    main()
