"""Attempts (score calls) per hour the harness sustains with a model that answers in 1 s.

Runs rdbench/react through real `inspect eval` on the toy_count task (tests/harness/toy_tasks):
every model turn (1 s of simulated latency) calls `score`, which snapshots the workspace and runs
the protected scorer in the sandbox. The baseline is the model alone (1 turn/s = 3600 attempts/h);
the ratio shows how much the harness slows attempts. RE-Bench: AIDE 36.8/h, humans 3.4/h.

Usage: .venv/bin/python benchmarks/attempts.py [--attempts 20] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory

from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.agents.react import research_agent
from rdbench.harness.task import make_task
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).resolve().parent.parent / "tests" / "harness" / "toy_tasks"


def slow_script(attempts: int, latency: float) -> Iterator[ModelOutput]:
    """Model turns with `latency` seconds each: write a solution, then score, `attempts` times."""
    time.sleep(latency)
    yield ModelOutput.for_tool_call(
        model=MODEL, tool_name="bash",
        tool_arguments={"command": "printf 'def answer():\\n    return 40\\n' > solution.py"},
    )
    for _ in range(attempts):
        time.sleep(latency)  # blocking is fine: one sample, nothing else to run meanwhile
        yield ModelOutput.for_tool_call(model=MODEL, tool_name="score", tool_arguments={})
    while True:
        yield ModelOutput.from_content(MODEL, "done")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    ensure_tiktoken_cache()
    os.environ["RDBENCH_TASKS_PATH"] = str(TOY)
    asyncio.run(check_task(load_task("toy_count"), repeats=1))
    model = get_model(MODEL, custom_outputs=slow_script(args.attempts, args.latency))
    task = make_task("toy_count", budget=3600, solver=research_agent())
    # each attempt: assistant + tool + budget message; the message limit ends the run after them
    limit = 2 + 3 * (args.attempts + 1) + 2
    with TemporaryDirectory() as logs:
        start = time.perf_counter()
        [log] = inspect_eval(task, model=model, log_dir=logs, display="none", message_limit=limit)
        wall = time.perf_counter() - start
        assert log.status == "success", log.error
        sample = log.samples[0]  # type: ignore[index]
        scores = [m for m in sample.messages if m.role == "tool" and m.function == "score"]
        n = len(scores)
        turns = sum(1 for m in sample.messages if m.role == "assistant")
        model_time = turns * args.latency
        harness_time = wall - model_time
        rate = n / wall * 3600
        baseline = 3600 / args.latency
        print(f"score calls: {n} in {wall:.1f} s wall ({turns} model turns x {args.latency:.1f} s)")
        print(f"harness time outside the model: {harness_time:.1f} s ({harness_time / max(n, 1):.2f} s/attempt)")
        print(f"attempts/hour sustained: {rate:.0f}  (model-only baseline {baseline:.0f}/h, "
              f"ratio {rate / baseline:.2f}; RE-Bench AIDE 36.8/h = {rate / 36.8:.0f}x, humans 3.4/h)")


if __name__ == "__main__":
    main()
