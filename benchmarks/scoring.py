"""Benchmark: does a score call cost more when the workspace holds a 1 GB file?

Scores the toy task's workspace as it is and with a 1 GB file added (real blocks, fallocate), the same
number of times each, interleaved, and prints the medians and their ratio. The snapshot is an
overlay, so the ratio should be ~1.

    .venv/bin/python benchmarks/scoring.py [--repeats 7] [--size-gb 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RDBENCH_TASKS_PATH", str(ROOT / "tests" / "harness" / "toy_tasks"))

from rdbench.scoring.runner import score_workspace  # noqa: E402
from rdbench.task.assets import materialize  # noqa: E402
from rdbench.task.environment import ensure_environment  # noqa: E402
from rdbench.task.loader import load_task  # noqa: E402


async def main(repeats: int, size_gb: float) -> None:
    task = load_task("toy_count")
    mat = materialize(task, "mini")
    env = ensure_environment(task.spec.environment)
    with tempfile.TemporaryDirectory(prefix="rdbench-bench-") as tmp:
        small = Path(tmp) / "small"
        big = Path(tmp) / "big"
        shutil.copytree(mat.workspace, small)
        shutil.copytree(mat.workspace, big)
        with open(big / "weights.bin", "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, int(size_gb * 2**30))
        await score_workspace(mat, small, env)  # warm caches
        times: dict[str, list[float]] = {"empty": [], "big": []}
        for _ in range(repeats):
            for label, ws in (("empty", small), ("big", big)):
                started = time.perf_counter()
                result = await score_workspace(mat, ws, env)
                times[label].append(time.perf_counter() - started)
                assert result.value is not None, result.message
    empty = statistics.median(times["empty"])
    large = statistics.median(times["big"])
    print(f"score call, workspace without extra file: median {empty * 1000:.1f} ms over {repeats}")
    print(f"score call, workspace with a {size_gb:g} GB file: median {large * 1000:.1f} ms over {repeats}")
    print(f"ratio (big / empty): {large / empty:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size-gb", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.repeats, args.size_gb))
