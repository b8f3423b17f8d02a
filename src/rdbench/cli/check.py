"""``rdbench check``: calibrate tasks (starting and reference solutions through the real scorer)."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import click

from rdbench.cli.common import Args, Command, call, complete_tasks, debug_option, progress
from rdbench.cli.slurm import options as slurm_options
from rdbench.errors import UserError
from rdbench.sandbox.api import cpu_plan, gpu_plan, parse_cpus, parse_gpus
from rdbench.scoring.check import CheckReport, check_task
from rdbench.task.loader import discover, load_task


@click.command(
    "check",
    cls=Command,
    short_help="validate and calibrate tasks: score starting and reference solutions",
    help="Scores each task's starting and reference solutions through the real sandboxed "
    "scoring path, judges the result (noise, spread of the repeats, margin between the two "
    "solutions, agreement with the stored calibration, other load on the machine), and stores "
    "it for this machine and the task's version when it is good enough. Exit 1 when a check "
    "is not good enough; it then says why.",
)
@click.argument("tasks", nargs=-1, metavar="[TASK]...", shell_complete=complete_tasks)
@click.option("--tag", multiple=True,
              help="also check every task with this tag, e.g. rebench, mlrb or assist; repeatable")
@click.option("--all", is_flag=True, help="check every task on the search path")
@click.option("--scale", default="mini", show_default=True, help="scale to check")
@click.option("--repeats", type=int, default=2, show_default=True, help="scores per solution")
@click.option("--instances", type=int, default=3, show_default=True, help="families: instances")
@click.option("--json", is_flag=True, help="print JSON (one object, or a list for several)")
@click.option("--no-save", is_flag=True, help="don't store the new calibration")
@click.option("--force", is_flag=True,
              help="store the new calibration even when it fails its checks or is noisier than the stored one")
@click.option("--gpus", default=None,
              help="GPU indices the scorer may use, e.g. 0 or 0,1 (default: as many of this host's GPUs "
              "as the scale asks for)")
@click.option("--cpus", default=None,
              help="cores the scorer may use, e.g. 0-7 (default: this process's); it runs on as many as "
              "the scale gives one run")
@click.option("--model-role", multiple=True, metavar="ROLE=MODEL",
              help="bind a model role the task's scorer needs at this scale, e.g. "
              "--model-role codemodel=openai/gpt-4o-mini (repeatable)")
@slurm_options(runs=False)
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def run(args: Args) -> int:
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
    many = args.all or bool(args.tag)  # a selection: tasks that need a model role are skipped, not refused
    if args.all:
        names = list(discover(metr=False))
    elif args.tasks or args.tag:
        from rdbench.cli.run import select_tasks

        names = select_tasks(args.tasks, args.tag)
    else:
        raise UserError("name a task (see `rdbench tasks`), give --tag or pass --all")
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
        if not many:
            require_known_roles([task.spec], args.scale, bindings)
            require_roles(task.spec, args.scale, bindings)
        unbound = unbound_roles(task.spec, args.scale, bindings)
        if unbound and many:
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
        print(json.dumps(payload[0] if len(payload) == 1 and not many else payload, indent=2))
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
