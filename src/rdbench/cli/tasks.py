"""``rdbench tasks``: the table of tasks, scales, budgets and calibration status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rdbench.cli.common import guarded
from rdbench.errors import UserError
from rdbench.scoring.calibration import check_command, load_calibration
from rdbench.task.errors import TaskFormatError
from rdbench.task.loader import discover, load_task
from rdbench.task.metr import is_metr_family
from rdbench.task.spec import format_duration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("tasks", help="list tasks, scales, budgets, calibration status")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--tag", action="append", default=[],
                        help="only tasks with this tag, e.g. rebench, mlrb or assist; repeatable")
    parser.set_defaults(handler=guarded(run))


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


def run(args: argparse.Namespace) -> int:
    table = rows(args.tag)
    if args.tag and not table:
        known = sorted({t for path in discover().values() for t in _tags(path)})
        raise UserError(f"no task has tag {' or '.join(args.tag)}; tags: {', '.join(known)}")
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    header = f"{'task':<20} {'ver':<4} {'scale':<6} {'budget':<7} {'kind':<7} {'scoring':<12} {'resources':<22} calibration"
    print(header)
    print("-" * len(header))
    for row in table:
        if "error" in row:
            print(f"{row['task']:<20} INVALID: {row['error']}")
            continue
        cal = row["calibrated"]
        cal_text = f"not calibrated ({check_command(str(row['task']), str(row['scale']))})" if cal is None else (
            f"starting {cal['starting']:.4g}, reference {cal['reference']:.4g}"  # type: ignore[index]
        )
        if row["kind"] == "metr":
            cal_text = ("sidecar: " + cal_text.split(" (")[0]) if cal is not None else "no sidecar (not normalised)"
            if row.get("note"):
                cal_text += f"; {row['note']}"
        if row["model_roles"]:
            roles = ", ".join(row["model_roles"])  # type: ignore[arg-type]
            cal_text = f"needs --model-role {roles}=MODEL; calibrated per model"
        print(f"{row['task']!s:<20} {row['version']!s:<4} {row['scale']!s:<6} {row['budget']!s:<7} {row['kind']!s:<7} "
              f"{row['scoring']!s:<12} {row['resources']!s:<22} {cal_text}")
    return 0
