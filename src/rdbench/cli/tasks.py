"""``rdbench tasks``: the table of tasks, scales, budgets and calibration status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from rdbench.cli.common import Args, call, debug_option
from rdbench.errors import UserError
from rdbench.scoring.calibration import check_command, load_calibration
from rdbench.task.errors import TaskFormatError
from rdbench.task.loader import discover, load_task
from rdbench.task.metr import is_metr_family
from rdbench.task.spec import format_duration


@click.command("tasks", short_help="list tasks, scales, budgets, calibration status",
               help="Lists every task on the search path at each scale: version, working-time budget, "
               "kind, scoring, resources of one run and this machine's calibration (or the command "
               "that makes one).")
@click.option("--json", is_flag=True, help="print JSON instead of a table")
@click.option("--tag", multiple=True, help="only tasks with this tag, e.g. rebench, mlrb or assist; repeatable")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def rows(tags: list[str] | None = None) -> list[dict[str, object]]:
    """One row per (task, scale), with an error row for a malformed task; only tasks with one of
    ``tags`` when given."""
    out: list[dict[str, object]] = []
    for name, path in discover().items():
        if is_metr_family(path):
            from rdbench.harness.metr.task import family_rows

            if not tags or "metr" in tags:
                out += family_rows(path)
            continue
        try:
            task = load_task(path)
        except TaskFormatError as error:
            out.append({"task": name, "scale": "-", "error": str(error)})
            continue
        if tags and not set(tags) & set(task.spec.tags):
            continue
        for scale, spec in task.spec.scales.items():
            roles = [r.role for r in task.spec.model_roles(scale)]
            cal = None if roles else load_calibration(task.name, scale, version=task.spec.version)
            out.append({
                "task": task.name,
                "version": task.spec.version,
                "tags": list(task.spec.tags),
                "scale": scale,
                "budget": format_duration(spec.time_budget),
                "resources": f"{spec.cpus} cpu, {spec.memory_gb:g} GB" + (f", {spec.gpus} gpu" if spec.gpus else ""),
                "kind": "family" if task.is_family else "task",
                "scoring": f"{task.spec.scoring.direction}/{task.spec.scoring.aggregation}",
                "calibrated": None if cal is None else {"starting": cal.starting, "reference": cal.reference,
                                                        "noise": cal.noise},
                "model_roles": roles,
            })
    return out


def _tags(path: Path) -> list[str]:
    if is_metr_family(path):
        return ["metr"]
    try:
        return list(load_task(path).spec.tags)
    except TaskFormatError:
        return []


def run(args: Args) -> int:
    table = rows(args.tag)
    if args.tag and not table:
        known = sorted({t for path in discover().values() for t in _tags(path)})
        raise UserError(f"no task has tag {' or '.join(args.tag)}; tags: {', '.join(known)}")
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    if sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        console.print(rich_table(table, console.width))
    else:  # a pipe or a file: one line per row, every cell whole
        print(render(table))
    return 0


COLUMNS = ("task", "ver", "scale", "budget", "kind", "scoring", "resources", "calibration")


def cells(row: dict[str, object]) -> dict[str, str]:
    """A row's text per column: the calibration says what it is and how to make a missing one."""
    if "error" in row:
        return {"task": str(row["task"]), "calibration": f"INVALID: {row['error']}"}
    cal = row["calibrated"]
    if row["model_roles"]:
        roles = ", ".join(row["model_roles"])  # type: ignore[arg-type]
        cal_text = f"needs --model-role {roles}=MODEL; calibrated per model"
    elif cal is None:
        cal_text = ("no sidecar (not normalised)" if row["kind"] == "metr" else
                    f"not calibrated ({check_command(str(row['task']), str(row['scale']))})")
    else:
        assert isinstance(cal, dict)
        cal_text = f"starting {cal['starting']:.4g}, reference {cal['reference']:.4g}"
        if row["kind"] == "metr":
            cal_text = "sidecar: " + cal_text
    if row["kind"] == "metr" and row.get("note"):
        cal_text += f"; {row['note']}"
    return {"task": str(row["task"]), "ver": str(row["version"]), "scale": str(row["scale"]),
            "budget": str(row["budget"]), "kind": str(row["kind"]), "scoring": str(row["scoring"]),
            "resources": str(row["resources"]), "calibration": cal_text}


def render(table: list[dict[str, object]]) -> str:
    """The rows as plain text columns (for pipes and files)."""
    widths = {"task": 20, "ver": 4, "scale": 6, "budget": 7, "kind": 7, "scoring": 12, "resources": 22}
    lines = [" ".join(f"{c:<{widths[c]}}" for c in COLUMNS[:-1]) + " calibration"]
    lines.append("-" * len(lines[0]))
    for row in table:
        c = cells(row)
        if "error" in row:
            lines.append(f"{c['task']:<20} {c['calibration']}")
            continue
        lines.append(" ".join(f"{c[k]:<{widths[k]}}" for k in COLUMNS[:-1]) + " " + c["calibration"])
    return "\n".join(lines)


def _uncalibrated(row: dict[str, object]) -> bool:
    """A suite task's row that `rdbench check` could calibrate but has not on this machine."""
    return ("error" not in row and row["calibrated"] is None and not row["model_roles"]
            and row["kind"] != "metr")


def rich_table(table: list[dict[str, object]], width: int = 100) -> Any:
    """The rows as a ``rich`` table at most ``width`` columns wide: the short columns keep their
    text, the calibration wraps (it holds the command to run)."""
    from rich.table import Table
    from rich.text import Text

    missing = sum(1 for row in table if _uncalibrated(row))
    caption = (f"{missing} of {len(table)} rows not calibrated on this machine: "
               "`rdbench check TASK --scale SCALE` calibrates one" if missing else None)
    grid = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1), width=width,
                 caption=caption, caption_justify="left")
    # a narrow terminal drops kind and scoring (in `--json` and wider terminals) before the
    # calibration gets too narrow to read
    shown = [c for c in COLUMNS if width >= 110 or c not in ("kind", "scoring")]
    for name in shown:
        wraps = name == "calibration"
        grid.add_column(name, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis",
                        ratio=1 if wraps else None, min_width=20 if wraps else None)
    for row in table:
        c = cells(row)
        text, style = c["calibration"], "red" if "error" in row else ""
        if _uncalibrated(row):
            text, style = "not calibrated", "yellow"  # the caption says how to calibrate
        grid.add_row(*[c.get(name, "") for name in shown[:-1]], Text(text, style=style))
    return grid
