"""``rdbench check``: calibrate tasks (starting and reference solutions through the real scorer)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json

from rdbench.cli.common import guarded, progress
from rdbench.cli.slurm import add_options as add_slurm_options
from rdbench.sandbox.api import cpu_plan, gpu_plan, parse_cpus, parse_gpus
from rdbench.scoring.check import CheckReport, check_task
from rdbench.task.loader import discover, load_task


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate and calibrate tasks: score starting and reference solutions",
        description="Scores each task's starting and reference solutions through the real sandboxed "
        "scoring path, stores the calibration (ys, yr) for this machine, and reports the values "
        "normalised with the previously stored calibration.",
    )
    parser.add_argument("tasks", nargs="*", help="task names or folders")
    parser.add_argument("--all", action="store_true", help="check every task on the search path")
    parser.add_argument("--scale", default="mini", help="scale to check (default: mini)")
    parser.add_argument("--repeats", type=int, default=2, help="scores per solution (default: 2)")
    parser.add_argument("--instances", type=int, default=3, help="families: instances (default: 3)")
    parser.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several)")
    parser.add_argument("--no-save", action="store_true", help="don't store the new calibration")
    parser.add_argument("--gpus", default=None,
                        help="GPU indices the scorer may use, e.g. 0 or 0,1 (default: as many of this "
                        "host's GPUs as the scale asks for)")
    parser.add_argument("--cpus", default=None,
                        help="cores the scorer may use, e.g. 0-7 (default: this process's); it runs on "
                        "as many as the scale gives one run")
    parser.add_argument("--model-role", action="append", default=[], metavar="ROLE=MODEL",
                        help="bind a model role the task's scorer needs at this scale, e.g. "
                        "--model-role codemodel=openai/gpt-4o-mini (repeatable)")
    add_slurm_options(parser, runs=False)
    parser.set_defaults(handler=guarded(run))


def run(args: argparse.Namespace) -> int:
    from rdbench.scoring.models import (
        ModelGateway,
        parse_model_roles,
        resolve_models,
        unbound_roles,
    )

    bindings = parse_model_roles(args.model_role)
    given = parse_gpus(args.gpus) if args.gpus is not None else None
    given_cpus = parse_cpus(args.cpus) if args.cpus is not None else None
    names = list(discover()) if args.all else args.tasks
    if not names:
        raise ValueError("name a task (see `rdbench tasks`) or pass --all")
    if args.slurm:
        from rdbench.cli.slurm import check_on_slurm

        return check_on_slurm(args, names)
    reports: list[CheckReport] = []
    for name in names:
        task = load_task(name)
        if args.scale not in task.spec.scales:
            progress(f"{task.name}: no scale {args.scale!r}; skipped")
            continue
        unbound = unbound_roles(task.spec, args.scale, bindings)
        if unbound and args.all:
            progress(f"{task.name}: needs model roles at {args.scale} "
                     f"({', '.join(r.role for r in unbound)}); skipped (bind them with --model-role)")
            continue
        models = resolve_models(task.spec, args.scale, bindings)
        # the scorer gets what one run would: the scale's GPUs (or, with too few, those there are)
        devices, per_run = gpu_plan(args.scale, task.spec.scale(args.scale).gpus, given,
                                    functools.partial(_say_for, task.name))
        gpus = devices[:per_run] if per_run else devices
        # and the cores of one run: calibrations measure on a run's share of the machine
        cores, per_run_cores = cpu_plan(args.scale, task.spec.scale(args.scale).cpus, given_cpus,
                                        functools.partial(_say_for, task.name))
        report = asyncio.run(check_task(task, args.scale, args.repeats, args.instances,
                                        progress=progress, save=not args.no_save,
                                        models=ModelGateway(models) if models else None,
                                        gpus=gpus, cpus=cores[:per_run_cores] or None))
        reports.append(report)
        if not args.json:
            _print(report)
    if args.json:
        payload = [r.model_dump() for r in reports]
        print(json.dumps(payload[0] if len(payload) == 1 and not args.all else payload, indent=2))
    return 0 if all(r.ok for r in reports) else 1


def _say_for(task: str, message: str) -> None:
    progress(f"{task}: {message}")


def _print(report: CheckReport) -> None:
    status = "ok" if report.ok else "FAILED"
    print(f"{report.task} ({report.scale}): {status} in {report.seconds:.0f} s")
    print(f"  starting  {report.starting}  (normalised {report.normalized_starting})")
    print(f"  reference {report.reference}  (normalised {report.normalized_reference})")
    if report.noise is not None:
        print(f"  noise (std of transformed repeats) {report.noise:.4g}")
    for problem in report.problems:
        print(f"  problem: {problem}")
