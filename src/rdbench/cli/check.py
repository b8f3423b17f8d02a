"""``rdbench check``: calibrate tasks (starting and reference solutions through the real scorer)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json

from rdbench.cli.common import guarded, progress
from rdbench.cli.slurm import add_options as add_slurm_options
from rdbench.errors import UserError
from rdbench.sandbox.api import cpu_plan, gpu_plan, parse_cpus, parse_gpus
from rdbench.scoring.check import CheckReport, check_task
from rdbench.task.loader import discover, load_task


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate and calibrate tasks: score starting and reference solutions",
        description="Scores each task's starting and reference solutions through the real sandboxed "
        "scoring path, judges the result (noise, spread of the repeats, margin between the two "
        "solutions, agreement with the stored calibration, other load on the machine), and stores "
        "it for this machine and the task's version when it is good enough. Exit 1 when a check "
        "is not good enough; it then says why.",
    )
    parser.add_argument("tasks", nargs="*", help="task names or folders")
    parser.add_argument("--all", action="store_true", help="check every task on the search path")
    parser.add_argument("--scale", default="mini", help="scale to check (default: mini)")
    parser.add_argument("--repeats", type=int, default=2, help="scores per solution (default: 2)")
    parser.add_argument("--instances", type=int, default=3, help="families: instances (default: 3)")
    parser.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several)")
    parser.add_argument("--no-save", action="store_true", help="don't store the new calibration")
    parser.add_argument("--force", action="store_true",
                        help="store the new calibration even when it fails its checks or is noisier "
                        "than the stored one")
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
        require_known_roles,
        require_roles,
        resolve_models,
        unbound_roles,
    )

    bindings = parse_model_roles(args.model_role)
    given = parse_gpus(args.gpus) if args.gpus is not None else None
    given_cpus = parse_cpus(args.cpus) if args.cpus is not None else None
    names = list(discover(metr=False)) if args.all else args.tasks
    if not names:
        raise UserError("name a task (see `rdbench tasks`) or pass --all")
    if args.repeats < 1:
        raise UserError("--repeats must be at least 1 (2 or more measure the noise)")
    if args.instances < 1:
        raise UserError("--instances must be at least 1")
    if args.slurm:
        from rdbench.cli.slurm import check_on_slurm

        return check_on_slurm(args, names)
    reports: list[CheckReport] = []
    for name in names:
        task = load_task(name)
        if args.scale not in task.spec.scales:
            progress(f"{task.name}: no scale {args.scale!r}; skipped")
            continue
        if not args.all:
            require_known_roles([task.spec], args.scale, bindings)
            require_roles(task.spec, args.scale, bindings)
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
                                        gpus=gpus, cpus=cores[:per_run_cores] or None, force=args.force))
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
    status = "ok" if report.ok else "NOT GOOD ENOUGH"
    print(f"{report.task} ({report.scale}): {status} in {report.seconds:.0f} s")
    print(f"  starting  {report.starting}  (normalised {_num(report.normalized_starting)})")
    print(f"  reference {report.reference}  (normalised {_num(report.normalized_reference)})")
    q = report.quality
    if q is not None:
        print(f"  noise {_num(q.noise)}, spread {_num(q.spread)}, margin {_num(q.margin)} "
              f"(normalised; bar {q.bar}); other load {_num(q.other_load_cores, 1)} of {q.cores} cores")
    for problem in report.problems:
        print(f"  problem: {problem}")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    print(f"  calibration: {report.storage}")


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
