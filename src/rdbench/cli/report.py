"""``rdbench report``: tables and plots from Inspect logs, CSVs or METR's published runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from rdbench.cli.common import Args, call, debug_option, fail, progress
from rdbench.task.spec import parse_duration


@click.command(
    "report",
    short_help="normalised scores, score@k under time budgets, human percentiles, cost, plots",
    help="Reads Inspect logs written by rdbench (files or folders), run folders, CSVs of "
    "score-log entries (run_id, agent, task, elapsed_s, score[, model][, task_version][, cost_usd]"
    "[, length_s]) or METR's per-run RE-Bench .jsonl(.gz), and writes index.html, summary.md, "
    "summary.json and PNG plots. Runs that no calibration normalises are left out and listed "
    "with the command that calibrates them. An unreadable log is skipped with a warning; the "
    "report of the rest is written and the exit code is 1.",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUT...")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="output folder")
@click.option("--budgets", default="30m,2h,8h", show_default=True, help="total time budgets")
@click.option("--calibrations", type=click.Path(path_type=Path),
              help="CSV: task,direction,transform,starting,reference")
@click.option("--human", multiple=True, help="agent name to treat as human (repeatable)")
@click.option("--hourly-rate", type=float, default=232.0, show_default=True,
              help="USD per hour of a human expert (RE-Bench's ~$1,855 per 8 h)")
@click.option("--bootstrap", type=int, default=1000, show_default=True, help="bootstrap resamples")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the bootstrap")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def run(args: Args) -> int:
    from rdbench.analysis.data import AnalysisInputError, load_inputs
    from rdbench.analysis.report import write_report

    if args.bootstrap < 0:
        return fail("--bootstrap must be 0 (no intervals) or more")
    skipped: list[str] = []
    try:
        budgets = [parse_duration(b) for b in args.budgets.split(",") if b.strip()]
        if not budgets or any(b <= 0 for b in budgets):
            return fail(f"--budgets {args.budgets!r}: give positive durations, e.g. 30m,2h,8h")
        runs = load_inputs(args.inputs, args.calibrations, progress=progress, skipped=skipped)
        if not runs:
            why = f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""
            return fail(f"no runs found in the inputs{why}")
        write_report(runs, args.out, budgets, args.human, args.hourly_rate, args.bootstrap, args.seed,
                     progress=progress, skipped=skipped)
    except AnalysisInputError as error:
        return fail(str(error))
    left_out = sum(1 for r in runs if r.uncalibrated)
    notes = []
    if left_out:
        notes.append(f"{left_out} uncalibrated run{'' if left_out == 1 else 's'} left out (listed in the report)")
    if skipped:
        notes.append(f"{len(skipped)} unreadable input{'' if len(skipped) == 1 else 's'} skipped (see the "
                     "warnings above)")
    print(f"report: {args.out / 'index.html'} (also summary.md, summary.json, PNG plots)"
          + (f"; {'; '.join(notes)}" if notes else ""), file=sys.stdout)
    return 1 if skipped else 0
