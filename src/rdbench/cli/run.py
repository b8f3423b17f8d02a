"""``rdbench run``: run an agent on a task through Inspect, with rdbench's defaults."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from pathlib import Path

from rdbench.cli.common import guarded, progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run an agent on a task (an Inspect eval) and print its score",
        description="Runs TASK with an agent and model through Inspect AI. The Inspect log holds "
        "the transcript, the score log and the run record; open it with `inspect view`.",
    )
    parser.add_argument("task", help="task name or folder")
    parser.add_argument("--model", default=os.environ.get("INSPECT_EVAL_MODEL"),
                        help="Inspect model, e.g. anthropic/claude-sonnet-4-0 or mockllm/model")
    parser.add_argument("--agent", default="react", help="react (default), aide, or a registered agent")
    parser.add_argument("--scale", default="mini", help="mini (CPU, default) or full (GPU)")
    parser.add_argument("--budget", help="working-time budget, e.g. 30m or 2h (default: the scale's)")
    parser.add_argument("--epochs", type=int, default=1, help="independent runs per sample")
    parser.add_argument("--instances", type=int, help="families: number of instances")
    parser.add_argument("--seed", type=int, help="families: first instance seed")
    parser.add_argument("--gpus", default="", help="GPU indices for the sandbox, e.g. 0 or 0,1")
    parser.add_argument("--log-dir", default="logs", help="where Inspect writes its log (default: logs)")
    parser.add_argument("--max-samples", type=int, help="samples run in parallel")
    parser.add_argument("--cost-limit", type=float, help="stop a run past this cost in USD")
    parser.set_defaults(handler=guarded(run))


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval as inspect_eval

    from rdbench.harness.agents import agent_or_default
    from rdbench.harness.task import make_task

    if not args.model:
        raise ValueError("give --model (e.g. mockllm/model, openai/gpt-4o) or set INSPECT_EVAL_MODEL")
    gpus = [int(g) for g in args.gpus.split(",") if g.strip()]
    agent = agent_or_default(args.agent)
    task = make_task(args.task, scale=args.scale, budget=args.budget, solver=agent,
                     instances=args.instances, seed=args.seed, agent_name=args.agent, gpus=gpus,
                     progress=progress)
    logs = inspect_eval(task, model=args.model, epochs=args.epochs, log_dir=args.log_dir,
                        max_samples=args.max_samples, cost_limit=args.cost_limit)
    return print_results(logs)


def print_results(logs: Sequence[object]) -> int:
    """Print each sample's score, normalised score and cost, and where the log is."""
    from inspect_ai.log import EvalLog

    code = 0
    for log in logs:
        assert isinstance(log, EvalLog)
        print(f"\nlog: {Path(log.location).resolve() if log.location else '(not written)'}")
        print(f"status: {log.status}")
        if log.error:
            print(f"error: {log.error.message}")
            code = 1
        for sample in log.samples or []:
            score = (sample.scores or {}).get("rdbench")
            if score is None:
                print(f"  {sample.id}: no score ({sample.error.message if sample.error else 'not scored'})")
                continue
            record = (score.metadata or {}).get("rdbench", {})
            value = score.value if isinstance(score.value, float) else float("nan")
            norm = "n/a" if math.isnan(value) else f"{value:.3f}"
            cost = record.get("cost_usd")
            print(f"  {sample.id} (epoch {sample.epoch}): raw {record.get('raw_score')}, "
                  f"normalised {norm}, score calls {len(record.get('score_log', []))}, "
                  f"tokens {record.get('tokens')}, cost {'n/a' if cost is None else f'${cost:.4f}'}")
            if score.explanation:
                print(f"    {score.explanation[:300]}")
    print("\nopen the transcript with: inspect view   |   compare runs with: rdbench report LOGDIR --out report/")
    return code
