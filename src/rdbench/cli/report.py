"""``rdbench report``: tables and plots from Inspect logs, CSVs or METR's published runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdbench.cli.common import fail, guarded, progress
from rdbench.task.spec import parse_duration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="normalised scores, score@k under time budgets, human percentiles, cost, plots",
        description="Reads Inspect logs written by rdbench (files or folders), CSVs of score-log "
        "entries (run_id, agent, task, elapsed_s, score[, cost_usd][, length_s]) or METR's per-run "
        "RE-Bench .jsonl, and writes index.html, summary.md, summary.json and PNG plots.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="logs, folders, .csv or .jsonl files")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--budgets", default="30m,2h,8h", help="total time budgets (default 30m,2h,8h)")
    parser.add_argument("--calibrations", type=Path, help="CSV: task,direction,transform,starting,reference")
    parser.add_argument("--human", action="append", default=[], help="agent name to treat as human")
    parser.add_argument("--hourly-rate", type=float, default=232.0,
                        help="USD per hour of a human expert (default 232, RE-Bench's ~$1,855 per 8 h)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=guarded(run))


def run(args: argparse.Namespace) -> int:
    from rdbench.analysis.data import AnalysisInputError, load_inputs
    from rdbench.analysis.report import write_report

    try:
        budgets = [parse_duration(b) for b in args.budgets.split(",") if b.strip()]
        runs = load_inputs(args.inputs, args.calibrations, progress=progress)
        if not runs:
            return fail("no runs found in the inputs")
        write_report(runs, args.out, budgets, args.human, args.hourly_rate, args.bootstrap, args.seed,
                     progress=progress)
    except AnalysisInputError as error:
        return fail(str(error))
    print(f"report: {args.out / 'index.html'} (also summary.md, summary.json, PNG plots)", file=sys.stdout)
    return 0
