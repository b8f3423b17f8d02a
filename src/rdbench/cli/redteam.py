"""``rdbench redteam``: run each task's attacks through the real scoring path; caught or not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from rdbench.cli.common import Args, call, complete_tasks, debug_option, progress
from rdbench.task.loader import discover, load_task


@click.command(
    "redteam",
    short_help="run the attacks each task must resist (its redteam/ folder); caught or not",
    help="Lays each attack of a task's redteam/ folder over the starting workspace, scores it "
    "through the real sandboxed scoring path, and says whether the scorer caught it (the expected "
    "verdict: invalid, no gain over the starting solution, or flagged by the integrity check). "
    "Exit code 1 when any attack is not caught.",
)
@click.argument("tasks", nargs=-1, metavar="[TASK]...", shell_complete=complete_tasks)
@click.option("--scale", default="mini", show_default=True, help="scale")
@click.option("--attack", multiple=True, metavar="NAME", help="run only this attack (repeatable)")
@click.option("--json", is_flag=True, help="print the results as JSON")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def run(args: Args) -> int:
    from rdbench.scoring.redteam import load_attacks, run_redteam

    names = args.tasks or list(discover(metr=False))
    results = []
    for name in names:
        task = load_task(name)
        if args.scale not in task.spec.scales:
            progress(f"{task.name}: no scale {args.scale!r}; skipped")
            continue
        if not load_attacks(task):
            progress(f"{task.name}: no redteam/ attacks")
            continue
        results += asyncio.run(run_redteam(task, args.scale, args.attack or None, progress=progress))
    if args.json:
        print(json.dumps([r.model_dump() for r in results], indent=2))
    else:
        width = max([len(f"{r.task}/{r.attack}") for r in results] + [6])
        print(f"{'attack':<{width}}  {'expect':<8} {'caught':<6} got")
        for r in results:
            print(f"{r.task + '/' + r.attack:<{width}}  {r.expect:<8} {'yes' if r.caught else 'NO':<6} {r.got}")
        missed = [r for r in results if not r.caught]
        print(f"{len(results) - len(missed)} of {len(results)} attacks caught"
              + (f"; not caught: {', '.join(r.task + '/' + r.attack for r in missed)}" if missed else ""))
    return 1 if any(not r.caught for r in results) else 0
