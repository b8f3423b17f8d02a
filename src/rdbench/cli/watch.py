"""``rdbench watch``: live and recent runs on this machine, from their run folders.

Reads ``<cache>/runs/*/run.json`` and ``score_log.jsonl`` (see :mod:`rdbench.scoring.runs`): no Inspect
log is needed, so a run in progress, or one whose process was killed, shows what it has scored.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from rdbench.cli.common import Args, call, complete_tasks, debug_option
from rdbench.errors import UserError
from rdbench.scoring.calibration import load_calibration
from rdbench.scoring.normalise import aggregate, normalise
from rdbench.scoring.runs import RunView, iter_runs
from rdbench.task.spec import format_duration, parse_duration

STATUS_ORDER = {"running": 0, "killed": 1, "ended": 2, "finished": 3}


@click.command(
    "watch",
    short_help="live table of runs: time used, score calls, best and normalised scores",
    help="Shows the runs on this machine (running ones, and those that ended within "
    "--since) from their run folders: task, agent, model, status (running, finished, ended "
    "without a score, or killed), time used of the budget, score calls, the run's score so far "
    "(raw and normalised with this machine's calibration) and the last score entry. Refreshes "
    "every --interval seconds on a terminal; prints once otherwise or with --once.",
)
@click.option("--since", default="1h", show_default=True, help="also show runs that ended this long ago")
@click.option("--all", is_flag=True, help="every run on record")
@click.option("--task", help="only this task's runs", shell_complete=complete_tasks)
@click.option("--once", is_flag=True, help="print once and exit")
@click.option("--interval", type=float, default=5.0, show_default=True, help="seconds between refreshes")
@click.option("--json", is_flag=True, help="print the rows as JSON (implies --once)")
@click.option("--dir", type=click.Path(path_type=Path), default=None, metavar="FOLDER",
              help="read the runs of this folder instead of this machine's: a shared folder of "
              "`rdbench run --slurm` (its runs/), or a runs folder")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def summarise(view: RunView, now: float | None = None) -> dict[str, Any]:
    """One run as a row: status, time used, score calls, its score so far, the last entry."""
    info = view.info
    now = time.time() if now is None else now
    chosen = aggregate(view.entries, info.direction, info.aggregation)
    raw = chosen.value if chosen is not None else None
    if info.status == "finished":
        raw = info.raw_score
    # this machine's calibration now: the one the run's final record will be normalised with; a
    # batch job's run is normalised with its node's, which it recorded when it started
    calibration = info.calibration if info.job else load_calibration(info.task, info.scale, info.task_models,
                                                                     version=info.task_version)
    normalised = None
    if raw is not None and calibration is not None:
        normalised = normalise(raw, calibration.starting, calibration.reference, info.transform)
    if info.status == "finished" and info.normalised_score is not None:
        normalised = info.normalised_score
    if info.working_time_s is not None:
        used = info.working_time_s
    elif view.status == "running":
        used = now - info.started
    else:
        used = max([e.elapsed_s for e in view.entries], default=0.0)
    last = view.entries[-1] if view.entries else None
    return {
        "run_id": info.run_id,
        "task": info.instance or info.task,
        "scale": info.scale,
        "agent": info.agent,
        "model": info.model,
        "status": view.status,
        "started": info.started,
        "used_s": round(used, 1),
        "budget_s": info.time_budget_s,
        "score_calls": len(view.entries),
        "invalid_calls": sum(1 for e in view.entries if e.outcome == "invalid"),
        "scorer_errors": sum(1 for e in view.entries if e.outcome == "scorer_error"),
        "raw": raw,
        "normalised": normalised,
        "last_entry_age_s": None if last is None else round(now - last.timestamp, 1),
        "last_message": None if last is None else last.message,
        "folder": str(view.folder),
        "host": info.host,
        "job": info.job,
        "slot": info.slot,
    }


def select(args: Args, now: float) -> list[dict[str, Any]]:
    """The rows to show, running first, then the most recently started."""
    horizon = None if args.all else now - parse_duration(args.since)
    rows = []
    for view in iter_runs(runs_folder(args.dir)):
        if args.task and args.task not in (view.info.task, view.info.instance):
            continue
        ended = view.info.ended or (view.entries[-1].timestamp if view.entries else view.info.started)
        if horizon is not None and view.status != "running" and ended < horizon:
            continue
        rows.append(summarise(view, now))
    return sorted(rows, key=lambda r: (STATUS_ORDER[r["status"]], -r["started"]))


def runs_folder(folder: Path | None) -> Path | None:
    """The run folders to read for ``--dir`` (a shared folder's ``runs/``, or the folder itself).

    Raises:
        ValueError: The folder does not exist.
    """
    if folder is None:
        return None
    if not folder.is_dir():
        raise UserError(f"--dir {folder}: no such folder")
    return folder / "runs" if (folder / "runs").is_dir() else folder


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _cells(r: dict[str, Any], message_chars: int | None = None) -> dict[str, str]:
    """A row's values as text: what the plain and the rich table both show."""
    calls = f"{r['score_calls']}" + (f"({r['invalid_calls']}x)" if r["invalid_calls"] else "") \
        + (f"({r['scorer_errors']}!)" if r["scorer_errors"] else "")
    last = "-" if r["last_entry_age_s"] is None else (
        f"{format_duration(r['last_entry_age_s'])} ago: {(r['last_message'] or '')[:message_chars]}")
    return {"used": f"{format_duration(r['used_s'])}/{format_duration(r['budget_s'])}", "calls": calls,
            "raw": _number(r["raw"]), "norm": "-" if r["normalised"] is None else f"{r['normalised']:.3f}",
            "last": last}


def render(rows: list[dict[str, Any]]) -> str:
    """The table as text."""
    if not rows:
        return "no runs (rdbench run / rdbench human start one; --all shows older ones)"
    header = (f"{'run':<8} {'task':<22} {'agent':<10} {'model':<24} {'status':<8} {'used/budget':<13} "
              f"{'calls':>5} {'raw':>9} {'norm':>6}  last entry")
    lines = [header, "-" * len(header)]
    for r in rows:
        c = _cells(r, message_chars=60)
        lines.append(f"{r['run_id'][:8]:<8} {str(r['task'])[:22]:<22} {str(r['agent'])[:10]:<10} "
                     f"{str(r['model'] or '-')[:24]:<24} {r['status']:<8} {c['used']:<13} {c['calls']:>5} "
                     f"{c['raw']:>9} {c['norm']:>6}  {c['last']}")
    return "\n".join(lines)


def table(rows: list[dict[str, Any]], width: int = 80) -> Any:
    """The rows as a ``rich`` table exactly ``width`` columns wide at most: the numbers keep their
    width, task, agent · model and the last entry share the rest and cut their text with an ellipsis
    (a line never wraps, so the header stays on top of the screen)."""
    from rich.table import Table
    from rich.text import Text

    fixed = {"run": 8, "status": 8, "used/budget": 11, "calls": 6, "raw": 8, "norm": 5}
    flexible = {"task": 3, "agent · model": 3, "last entry": 2}
    room = width - sum(fixed.values()) - (len(fixed) + len(flexible) - 1)
    if room < 30:  # a narrow terminal: the last entry goes first, and its separator with it
        del flexible["last entry"]
        room += 1
    shares = sum(flexible.values())
    widths = {name: max(6, room * share // shares) for name, share in flexible.items()}
    grid = Table(box=None, header_style="bold", pad_edge=False,
                 padding=(0, 1), collapse_padding=True, expand=False)
    right = {"calls", "raw", "norm"}
    for name in ["run", "task", "agent · model", "status", "used/budget", "calls", "raw", "norm",
                 "last entry"]:
        if name in fixed or name in widths:
            grid.add_column(name, width=fixed.get(name) or widths[name], no_wrap=True, overflow="ellipsis",
                            justify="right" if name in right else "left")
    colour = {"running": "green", "killed": "red", "ended": "yellow", "finished": "cyan"}
    for r in rows:
        c = _cells(r)
        grid.add_row(
            r["run_id"][:8], str(r["task"]), f"{r['agent']} · {r['model'] or '-'}",
            Text(r["status"], style=colour.get(r["status"], "")), c["used"], c["calls"], c["raw"], c["norm"],
            *([c["last"]] if "last entry" in widths else []))
    return grid


def run(args: Args) -> int:
    if args.interval <= 0:
        raise UserError("--interval must be a positive number of seconds")
    parse_duration(args.since)  # a bad value is a one-line error before anything is printed
    if args.json:
        print(json.dumps(select(args, time.time()), indent=1))
        return 0
    if not sys.stdout.isatty():  # a pipe or a file: plain text, every column whole
        print(render(select(args, time.time())))
        return 0
    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    console = Console()

    def view() -> Any:
        rows = select(args, time.time())
        if not rows:
            return Text(render(rows))
        if args.once:
            return table(rows, console.width)
        heading = Text(f"{time.strftime('%H:%M:%S')}  rdbench watch: {len(rows)} runs "
                       f"(every {args.interval:g} s; Ctrl-C stops)", style="dim")
        return Group(heading, table(rows, console.width))

    if args.once:
        console.print(view())
        return 0
    with Live(view(), console=console, screen=True, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(args.interval)
                live.update(view(), refresh=True)
        except KeyboardInterrupt:
            return 0
