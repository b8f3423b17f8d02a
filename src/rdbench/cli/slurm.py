"""The ``--slurm`` side of ``rdbench run`` and ``rdbench check``: options, plan, submission."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rdbench.cli.common import Args, SectionOption, progress
from rdbench.errors import UserError

DEFAULT_SHARED = "rdbench-slurm"


def options(runs: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The Slurm options of ``rdbench run`` (``runs``) or ``rdbench check``."""
    section = functools.partial(click.option, cls=SectionOption, section="Slurm (many machines; docs/scale.md)")
    common = [
        section("--slurm", is_flag=True,
                help=("submit the runs as Slurm jobs instead of running them here" if runs else
                      "calibrate on the partition's nodes: one job per node type")),
        section("--shared", type=click.Path(path_type=Path), default=Path(DEFAULT_SHARED),
                metavar="FOLDER",
                help="folder every node can read and write: plans, run folders, Inspect logs, "
                f"calibrations, job files (default: ./{DEFAULT_SHARED})"),
        section("--partition", help="Slurm partition (default: the cluster's default)"),
        section("--time", help="time limit of each job, e.g. 6h (default: from the budgets)"),
        section("--slurm-arg", multiple=True, metavar="KEY=VALUE",
                help="another sbatch option, e.g. --slurm-arg account=myproj --slurm-arg qos=high"),
    ]
    if runs:
        common += [
            section("--jobs", type=int, help="split the runs into this many jobs (default: one job per run)"),
            section("--runs-at-once", type=int, default=1, show_default=True,
                    help="runs one job does in parallel, each on its own cores and GPUs"),
            section("--cpus-per-job", type=int,
                    help="cores per job (default: the scale's cpus x --runs-at-once)"),
            section("--gpus-per-job", type=int,
                    help="GPUs per job (default: the scale's gpus x --runs-at-once)"),
            section("--mem-gb", type=float,
                    help="memory per job in GB (default: the scale's memory x --runs-at-once + 4)"),
            section("--resume", is_flag=True,
                    help="complete what did not finish: without --slurm, the unfinished Inspect log of "
                    "this same run in --log-dir (only its missing samples run); with --slurm, the runs "
                    "of a plan in --shared that did not finish (without TASK, of every plan there)"),
            section("--wait", is_flag=True, help="wait until the jobs have ended"),
            section("--dry-run", is_flag=True, help="say what would be submitted, submit nothing"),
        ]
    else:
        common.append(section("--no-wait", is_flag=True,
                              help="submit the calibration jobs and return (default: wait and print results)"))

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(common):
            function = option(function)
        return function

    return decorate


def _extra(pairs: list[str]) -> dict[str, str]:
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--slurm-arg {pair!r} is not KEY=VALUE (an sbatch option without its dashes)")
        extra[key.strip().lstrip("-")] = value
    return extra


def run_on_slurm(args: Args) -> int:
    """``rdbench run ... --slurm``: submit the plan's unfinished runs (or resume plans)."""
    from rdbench.cli.run import parse_agent_args, select_tasks, use_pricing
    from rdbench.cluster.plan import RunPlan, load_plans
    from rdbench.cluster.slurm import SlurmOptions, submit_plan, uncalibrated, wait_for
    from rdbench.cluster.state import describe, slot_states
    from rdbench.scoring.models import parse_model_roles, require_roles
    from rdbench.task.loader import load_task

    shared: Path = args.shared.expanduser().resolve()
    options = SlurmOptions(partition=args.partition, jobs=args.jobs, runs_at_once=args.runs_at_once,
                           cpus_per_job=args.cpus_per_job, gpus_per_job=args.gpus_per_job, mem_gb=args.mem_gb,
                           time=args.time, extra=_extra(args.slurm_arg))
    if args.resume and not args.tasks and not args.tag:
        plans = load_plans(shared)
        if not plans:
            raise UserError(f"--resume: no plan in {shared} (give the tasks, or the --shared folder of the "
                             "first submission)")
    else:
        if not args.model:
            raise UserError("give --model (e.g. mockllm/model, openai/gpt-4o) or set INSPECT_EVAL_MODEL")
        names = [str(Path(n).resolve()) if Path(n).is_dir() else n for n in select_tasks(args.tasks, args.tag)]
        roles = parse_model_roles(args.model_role)
        for name in names:
            require_roles(load_task(name).spec, args.scale, roles)
        pricing = str(use_pricing(args.pricing)) if args.pricing else None
        if args.cost_limit is not None and args.cost_limit <= 0:
            raise UserError("--cost-limit must be a positive number of USD")
        plan = RunPlan(tasks=names, model=args.model, model_args=parse_agent_args(args.model_arg),
                       model_roles=dict(roles), agent=args.agent, agent_args=parse_agent_args(args.agent_arg),
                       scale=args.scale, budget=args.budget, epochs=args.epochs, instances=args.instances,
                       seed=args.seed, pricing=pricing, cost_limit=args.cost_limit)
        if args.resume and not (shared / "plans" / f"{plan.plan_id}.json").exists():
            raise UserError(f"--resume: {shared} holds no plan {plan.plan_id} for this command (a different "
                             "model, budget, epochs...?); drop --resume to submit it as a new plan")
        plans = [plan]
    jobs: list[str] = []
    for plan in plans:
        if not args.dry_run:
            missing = uncalibrated(plan, options, shared)
            if missing:
                progress(f"no calibration on node types {'; '.join(missing)}: runs there will not be "
                         f"normalised; calibrate first with: rdbench check {' '.join(plan.tasks)} --scale "
                         f"{plan.scale} --slurm --shared {shared}"
                         + (f" --partition {options.partition}" if options.partition else ""))
        jobs += [s.job_id for s in submit_plan(plan, options, shared, progress, dry_run=args.dry_run)]
    if args.wait and jobs:
        wait_for(jobs, progress, status=lambda: "; ".join(describe(slot_states(shared, p)) for p in plans))
        print(f"jobs ended; report: rdbench report {shared} --out report/")
    return 0


def check_on_slurm(args: Args, names: list[str]) -> int:
    """``rdbench check ... --slurm``: one calibration job per node type, then their results."""
    from rdbench.cluster.slurm import SlurmOptions, read_node_record, submit_calibrations, wait_for

    shared: Path = args.shared.expanduser().resolve()
    shared.mkdir(parents=True, exist_ok=True)
    options = SlurmOptions(partition=args.partition, time=args.time, extra=_extra(args.slurm_arg))
    jobs = submit_calibrations(names, args.scale, args.repeats, args.instances, options, shared, progress)
    if args.no_wait:
        print(f"submitted {len(jobs)} calibration jobs; results in {shared}/calibrations/nodes/")
        return 0
    wait_for([job for _, job in jobs], progress)
    code = 0
    for node_type, job in jobs:
        record = read_node_record(shared, node_type.key)
        reports = (record or {}).get("tasks") or {}
        print(f"node type {node_type.key} (job {job}, {len(node_type.nodes)} nodes"
              + (f", fingerprint {record['fingerprint']}" if record else "") + ")")
        for name in names:
            from rdbench.task.loader import load_task

            report = reports.get(f"{load_task(name).name}@{args.scale}")
            if report is None:
                print(f"  {name}: no result (see the job's log in {shared}/jobs/{job}/)")
                code = 1
                continue
            print(f"  {name}: {'ok' if report.get('ok') else 'FAILED'}  starting {report.get('starting')}  "
                  f"reference {report.get('reference')}  noise {report.get('noise')}")
            code = code or (0 if report.get("ok") else 1)
    return code
