"""Benchmark: what the scorer's way to a task model costs per generation.

A full-scale scaffold_contests score call makes 800 generations of its code model through the
harness (scorer sandbox -> Unix socket -> host gateway -> Inspect model). With an instant scripted
model the model costs nothing, so what is measured is rdbench's path: the same number of
generations from inside a real scoring sandbox (sequential, and from 16 threads) against direct
calls of the gateway in the harness's own process (the baseline, measured in the same run).

    .venv/bin/python benchmarks/task_models.py [--generations 800] [--threads 16]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import textwrap
import time
from pathlib import Path

from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model
from inspect_ai.tool import ToolChoice, ToolInfo

from rdbench.scoring.models import ModelGateway
from rdbench.scoring.runner import score_workspace
from rdbench.task.assets import materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task

SCORER = textwrap.dedent('''
    import time
    from concurrent.futures import ThreadPoolExecutor

    import rdbench_host


    def score(workspace, protected, params):
        n, threads = params["generations"], params["threads"]
        started = time.perf_counter()
        if threads == 1:
            texts = [rdbench_host.generate("helper", f"q{i}", max_tokens=8) for i in range(n)]
        else:
            with ThreadPoolExecutor(threads) as pool:
                texts = list(pool.map(lambda i: rdbench_host.generate("helper", f"q{i}", max_tokens=8),
                                      range(n)))
        elapsed = time.perf_counter() - started
        return {"value": len(texts), "message": "", "details": {"elapsed_s": elapsed}}
''')


def _task(root: Path, generations: int, threads: int) -> Path:
    folder = root / "bench_models"
    for sub in ("protected", "workspace", "reference"):
        (folder / sub).mkdir(parents=True)
    (folder / "task.yaml").write_text(textwrap.dedent(f"""
        name: bench_models
        version: "1"
        description: benchmark of the scorer's way to a task model
        scoring: {{direction: higher, timeout: 600}}
        scales:
          mini: {{params: {{generations: {generations}, threads: {threads}}}, time_budget: 10m}}
        models:
          - {{role: helper, score_budget: {generations}}}
    """))
    (folder / "instructions.md").write_text("benchmark\n")
    (folder / "protected" / "score.py").write_text(SCORER)
    (folder / "workspace" / "x.txt").write_text("x\n")
    (folder / "reference" / "x.txt").write_text("y\n")
    return folder


def _instant() -> ModelGateway:
    def respond(messages: list[ChatMessage], tools: list[ToolInfo], choice: ToolChoice,
                config: GenerateConfig) -> ModelOutput:
        return ModelOutput.from_content("mockllm/instant", "print(1)")

    return ModelGateway({"helper": get_model("mockllm/instant", custom_outputs=respond, memoize=False)})


async def _direct(n: int, threads: int) -> float:
    gateway = _instant()
    semaphore = asyncio.Semaphore(threads)

    async def one(i: int) -> None:
        async with semaphore:
            reply = await gateway.generate({"role": "helper", "prompt": f"q{i}", "max_tokens": 8})
            assert reply["exit_code"] == 0

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - started


async def _through_scorer(folder: Path) -> tuple[float, float]:
    task = load_task(folder)
    mat = materialize(task, "mini")
    env = ensure_environment(task.spec.environment)
    started = time.perf_counter()
    result = await score_workspace(mat, mat.workspace, env, models=_instant())
    total = time.perf_counter() - started
    assert result.value is not None, result.message
    return float(result.details["elapsed_s"]), total


async def main(generations: int, threads: int) -> None:
    await _direct(50, 1)  # warm up Inspect's model machinery, so the baseline is not charged for it
    with tempfile.TemporaryDirectory(prefix="rdbench-bench-") as tmp:
        for t in (1, threads):
            direct = await _direct(generations, t)
            inside, call = await _through_scorer(_task(Path(tmp) / f"t{t}", generations, t))
            print(f"{generations} generations, {t} at a time: in-process gateway {direct:.2f} s "
                  f"({direct / generations * 1000:.2f} ms each); from the scoring sandbox {inside:.2f} s "
                  f"({inside / generations * 1000:.2f} ms each, ratio {inside / direct:.2f}); whole score "
                  f"call {call:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generations", type=int, default=800)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.generations, args.threads))
