"""Benchmark: what going through Slurm costs per run, against a local run of the same work.

The same work both ways: N runs (epochs) of the toy task with a scripted mock model (write an answer,
score it once), each run on its own core (the scale's ``cpus: 1``). Locally one ``rdbench run`` does
them, as many at once as there are cores; through Slurm, a one-node cluster on this machine
(``tests/cluster/local_slurm.py``: munged, slurmctld and slurmd on 127.0.0.1; needs root and
slurm-wlm) runs them as jobs, one job per run (the default) and in two jobs (``--jobs 2``), from
submission until every job has ended. Prints seconds per run, runs per hour, and the overhead per
run against the local figure measured in the same invocation.

    .venv/bin/python benchmarks/slurm.py [--runs 6] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RDBENCH_TASKS_PATH", str(ROOT / "tests" / "harness" / "toy_tasks"))

from tests.cluster.local_slurm import start_cluster, stop_cluster, why_not  # noqa: E402

SCRIPT = """\
- bash: "printf 'def answer():\\\\n    return 40\\\\n' > solution.py"
- tool: score
"""


def rdbench(*argv: str, env: dict[str, str] | None = None) -> float:
    """Seconds one rdbench command took (it must succeed)."""
    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rdbench.cli.main", *argv], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    took = time.perf_counter() - began
    if out.returncode != 0:
        raise SystemExit(f"rdbench {' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs per measurement (default 6)")
    parser.add_argument("--repeats", type=int, default=2, help="measurements of each way (default 2)")
    args = parser.parse_args()
    reason = why_not()
    if reason:
        raise SystemExit(f"benchmarks/slurm.py: {reason}")
    with tempfile.TemporaryDirectory(prefix="rdbench-bench-slurm-") as tmp:
        root = Path(tmp)
        script = root / "script.yaml"
        script.write_text(SCRIPT)
        (root / "cluster").mkdir()
        cluster = start_cluster(root / "cluster")
        try:
            common = ["toy_count", "--model", "script/bench", "-M", f"script={script}",
                      "--epochs", str(args.runs)]
            times: dict[str, list[float]] = {"local": [], "slurm, one job per run": [], "slurm, 2 jobs": []}
            rdbench("run", *common, "--log-dir", str(root / "warm"))  # builds the task's environment once
            for i in range(args.repeats):  # interleaved, so load drifts hit each way alike
                times["local"].append(rdbench("run", *common, "--log-dir", str(root / f"local{i}")))
                times["slurm, one job per run"].append(rdbench(
                    "run", *common, "--slurm", "--shared", str(root / f"per-run{i}"), "--mem-gb", "1",
                    "--wait", env=cluster.env))
                times["slurm, 2 jobs"].append(rdbench(
                    "run", *common, "--slurm", "--shared", str(root / f"two{i}"), "--mem-gb", "1",
                    "--jobs", "2", "--wait", env=cluster.env))
        finally:
            stop_cluster(cluster)
    local = statistics.median(times["local"]) / args.runs
    print(f"{args.runs} runs of toy_count (scripted: write, score once), {cluster.cpus} cores, "
          f"1 core per run; median of {args.repeats}")
    print(f"{'way':<24} {'s/run':>7} {'runs/hour':>10} {'overhead s/run':>15}")
    for way, values in times.items():
        per_run = statistics.median(values) / args.runs
        overhead = "-" if way == "local" else f"{per_run - local:+.1f}"
        print(f"{way:<24} {per_run:>7.1f} {3600 / per_run:>10.0f} {overhead:>15}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
