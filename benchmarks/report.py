"""Benchmark: `rdbench report` on 10,000 synthetic runs (CSV of score-log entries).

    .venv/bin/python benchmarks/report.py [--runs 10000] [--entries 5]

Generates runs of 10 agents on 7 tasks with 2 run lengths, each with a few score entries, and times
the whole report (reading, score@k with 1,000 bootstrap resamples, plots, HTML) in this process.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from rdbench.analysis.data import load_inputs
from rdbench.analysis.report import write_report


def synthesise(path: Path, runs: int, entries: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    agents = [f"agent{i}" for i in range(9)] + ["human"]
    tasks = [f"task{i}" for i in range(7)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["run_id", "agent", "task", "elapsed_s", "score", "cost_usd", "length_s"])
        for r in range(runs):
            agent = agents[r % len(agents)]
            length = 28800 if agent == "human" else (1800 if r % 2 else 7200)
            times = np.sort(rng.uniform(0, length, entries))
            scores = np.clip(rng.normal(0.3, 0.3, entries), -0.5, 1.5)
            for t, s in zip(times, scores, strict=True):
                writer.writerow([f"r{r}", agent, tasks[r % len(tasks)], f"{t:.1f}", f"{s:.4f}",
                                 f"{rng.uniform(1, 50):.2f}", length])


def main(runs: int, entries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "runs.csv"
        synthesise(data, runs, entries)
        started = time.perf_counter()
        loaded = load_inputs([data], progress=lambda m: None)
        read = time.perf_counter() - started
        records = write_report(loaded, Path(tmp) / "report", [1800, 7200, 28800], bootstrap=1000)
        total = time.perf_counter() - started
    print(f"{len(loaded)} runs, {runs * entries} entries: read {read:.2f} s, whole report {total:.2f} s "
          f"({len(records)} score@k records, 1000 bootstrap resamples each)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--entries", type=int, default=5)
    args = parser.parse_args()
    main(args.runs, args.entries)
