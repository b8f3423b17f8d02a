"""Generate scaling_law's hidden sweep: the loss of every answer width at compute-matched steps.

For each budget C and width w the sweep trains ``floor(C / flops_per_step(w))`` steps with the task's
own experiment code (``workspace/experiment.py`` on the data ``prepare.py`` builds) for each seed, and
records the validation losses and their mean. The scorer reads the budget equal to the scale's
``target_flops``; other budgets (e.g. the experiment cap) are kept for analysis.

Run from the repository root (CPU: one thread per job, bit-reproducible; GPU when available)::

    PYTHONPATH=src python src/rdbench/tasks/scaling_law/sweep.py --scale mini --jobs 2 \
        --out src/rdbench/tasks/scaling_law/protected/sweep_mini.json

CI never runs it; the result ships with the task. ``--budgets`` and ``--widths`` override the scale's
target and answer widths (for exploration). ``--prepared DIR`` uses data prepared beforehand (by
``--prepare-only DIR``, e.g. on a CPU machine, then carried to the GPU machine); its hashes are
checked against what ``prepare.py`` would write, through the config it holds.

The committed ``protected/sweep_mini.json`` was made with ``--jobs 12 --device cpu`` on a 16-core
machine (torch 2.11, 1550 s of CPU in all, i.e. ~26 min of one core); the same code on another CPU
and torch gives the same losses to ~0.006 on the longest runs. ``protected/sweep_full.json`` was made
on one H200 (torch 2.11+cu130) with ``--scale full --jobs 12 --prepared DIR``, the data prepared
beforehand on a CPU machine (``--prepare-only DIR``, 125 s): 16 runs in 364 s, the longest (width 32,
23k steps) 358 s; the runs are launch-bound, so 12 at a time on one GPU cost little more than one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing as mp
import pathlib
import platform
import sys
import tempfile
import time
from types import ModuleType
from typing import Any

import yaml

TASK = pathlib.Path(__file__).resolve().parent


def _load(path: pathlib.Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scale_params(scale: str) -> dict[str, Any]:
    """The params of one scale from task.yaml."""
    spec = yaml.safe_load((TASK / "task.yaml").read_text())
    return dict(spec["scales"][scale]["params"])


def plan(config: dict[str, Any], budgets: list[float], widths: list[int], seeds: list[int],
         experiment: ModuleType) -> list[tuple[float, int, int, int]]:
    """(budget, width, steps, seed) for every run that fits the step limits, longest first."""
    jobs = []
    for budget in budgets:
        for width in widths:
            steps = int(budget // experiment.flops(width, 1, config))
            if experiment.check_shape(width, steps, config) is None:
                jobs.extend((budget, width, steps, seed) for seed in seeds)
    # many steps of a small model are slow per FLOP: start the longest jobs first
    jobs.sort(key=lambda j: (-j[0] * (1 + 2000 / j[1]), j[1], j[3]))
    return jobs


_worker: dict[str, Any] = {}


def _init(protected: str, device: str | None) -> None:
    _worker["module"] = _load(pathlib.Path(protected) / "experiment.py", "sl_experiment")
    _worker["config"] = _worker["module"].load_config(pathlib.Path(protected) / "config.json")
    _worker["data"] = pathlib.Path(protected) / "data"
    _worker["device"] = device


def _run(job: tuple[float, int, int, int]) -> dict[str, Any]:
    budget, width, steps, seed = job
    result: dict[str, Any] = _worker["module"].run(width, steps, seed, _worker["data"], _worker["config"],
                                                   device=_worker["device"])
    result["budget"] = budget
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per budget and width: steps, FLOPs, the losses over seeds and their mean."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(runs, key=lambda r: (r["budget"], r["width"], r["seed"])):
        cell = out.setdefault(f"{r['budget']:.4g}", {}).setdefault(
            str(r["width"]), {"steps": r["steps"], "flops": r["flops"], "losses": []})
        cell["losses"].append(r["val_loss"])
    for cells in out.values():
        for cell in cells.values():
            finite = [x for x in cell["losses"] if math.isfinite(x)]
            cell["mean"] = sum(finite) / len(finite) if len(finite) == len(cell["losses"]) else math.nan
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description="scaling_law hidden sweep")
    ap.add_argument("--scale", default="mini")
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--budgets", default="", help="comma-separated FLOPs (default: the target)")
    ap.add_argument("--widths", default="", help="comma-separated widths (default: answer widths)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--prepared", type=pathlib.Path, default=None,
                    help="a folder made by --prepare-only (skips generating the data here)")
    ap.add_argument("--prepare-only", type=pathlib.Path, default=None, metavar="DIR",
                    help="write the prepared task (config, data) to DIR and stop")
    args = ap.parse_args(argv)
    params = scale_params(args.scale)
    sys.path.insert(0, str(TASK))
    prepare = _load(TASK / "prepare.py", "sl_prepare")
    if args.prepare_only is not None:
        started = time.time()
        prepare.prepare(args.prepare_only, {**params, "scale": args.scale})
        print(f"prepared {args.scale} in {time.time() - started:.0f} s: {args.prepare_only}", flush=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        started = time.time()
        if args.prepared is not None:
            out = args.prepared
            expected = prepare.experiment_config({**params, "scale": args.scale})
            held = json.loads((out / "protected" / "config.json").read_text())
            if held != json.loads(json.dumps(expected)):
                raise SystemExit(f"{out} was prepared with other settings than the {args.scale} scale's")
        else:
            prepare.prepare(out, {**params, "scale": args.scale})
        print(f"prepared data in {time.time() - started:.0f} s", flush=True)
        protected = out / "protected"
        hashes = prepare.data_hashes(protected / "data")
        experiment = _load(protected / "experiment.py", "sl_experiment_main")
        config = experiment.load_config(protected / "config.json")
        budgets = [float(b) for b in args.budgets.split(",")] if args.budgets else [config["target_flops"]]
        widths = [int(w) for w in args.widths.split(",")] if args.widths else list(config["answer_widths"])
        seeds = [int(s) for s in args.seeds.split(",")]
        jobs = plan(config, budgets, widths, seeds, experiment)
        print(f"{len(jobs)} runs on {args.jobs} workers", flush=True)
        runs: list[dict[str, Any]] = []
        ctx = mp.get_context("spawn")
        with ctx.Pool(args.jobs, initializer=_init, initargs=(str(protected), args.device)) as pool:
            for result in pool.imap_unordered(_run, jobs):
                runs.append(result)
                print(f"[{len(runs)}/{len(jobs)}] C={result['budget']:.3g} w={result['width']} "
                      f"steps={result['steps']} seed={result['seed']}: {result['val_loss']:.4f} "
                      f"({result['seconds']:.0f} s)", flush=True)
                summary = {
                    "scale": args.scale,
                    "generated_by": "src/rdbench/tasks/scaling_law/sweep.py " + " ".join(argv or sys.argv[1:]),
                    "torch": __import__("torch").__version__,
                    "machine": platform.platform(),
                    "seconds": round(time.time() - started),
                    "data_sha256": hashes,
                    "config": config,
                    "budgets": summarise(runs),
                    "runs": sorted(runs, key=lambda r: (r["budget"], r["width"], r["seed"])),
                }
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
