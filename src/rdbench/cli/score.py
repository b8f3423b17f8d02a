"""``rdbench score TASK FOLDER``: score any folder as a run's ``score`` call would, and print the entry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from rdbench.cli.common import Args, call, complete_tasks, debug_option, progress
from rdbench.errors import UserError


@click.command(
    "score",
    short_help="score a folder with a task's scorer, as a run would (for task authors and reviews)",
    help="Scores FOLDER with TASK's protected scorer in the real scoring sandbox (an overlay of "
    "the folder: nothing is changed) and prints the entry: kind (scored, invalid, scorer_error), "
    "value, normalised value when this machine has a calibration, message and details. For "
    "reviewing a suspicious run's kept workspace, re-scoring one, or testing a scorer.",
)
@click.argument("task", shell_complete=complete_tasks)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--scale", default="mini", show_default=True, help="scale")
@click.option("--seed", type=int, default=None, help="seed of the hidden inputs (default: fresh)")
@click.option("--instance", type=int, default=None,
              help="families: the instance seed the folder belongs to (default: the family's first)")
@click.option("--gpus", default=None, help="GPU indices the scorer may use, e.g. 0")
@click.option("--model-role", multiple=True, metavar="ROLE=MODEL",
              help="bind a model role the scorer needs at this scale (repeatable)")
@click.option("--json", is_flag=True, help="print the entry as JSON")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def run(args: Args) -> int:
    from rdbench.sandbox.api import cpu_plan, parse_gpus
    from rdbench.scoring.calibration import load_calibration
    from rdbench.scoring.normalise import normalise
    from rdbench.scoring.runner import score_workspace
    from rdbench.task.assets import materialize
    from rdbench.task.environment import ensure_environment
    from rdbench.task.loader import load_task

    folder: Path = args.folder
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give the workspace folder to score")
    task = load_task(args.task)
    spec = task.spec
    spec.scale(args.scale)
    seed = args.instance if args.instance is not None else (spec.family.seed if spec.family else None)
    mat = materialize(task, args.scale, seed=seed, progress=progress)
    env = ensure_environment(spec.environment, progress)
    models = None
    if spec.model_roles(args.scale):
        from rdbench.scoring.models import ModelGateway, parse_model_roles, resolve_models

        models = ModelGateway(resolve_models(spec, args.scale, parse_model_roles(args.model_role)))
    gpus = parse_gpus(args.gpus) if args.gpus else None
    cores, per_run = cpu_plan(args.scale, spec.scale(args.scale).cpus, None, progress)
    result = asyncio.run(score_workspace(mat, folder.resolve(), env, seed=args.seed, gpus=gpus,
                                         cpus=cores[:per_run] or None, models=models))
    calibration = load_calibration(task.name, args.scale, None if models is None else models.binding(),
                                   version=spec.version)
    normalised = None
    if result.value is not None and calibration is not None:
        normalised = normalise(result.value, calibration.starting, calibration.reference, spec.scoring.transform)
    entry = {"task": task.name, "scale": args.scale, "version": spec.version, "kind": result.kind,
             "value": result.value, "normalised": normalised,
             "calibration": None if calibration is None else
             {"starting": calibration.starting, "reference": calibration.reference},
             "message": result.message, "duration_s": round(result.duration_s, 2), "details": result.details}
    if args.json:
        print(json.dumps(entry, indent=2, default=str))
    else:
        print(f"{task.name} ({args.scale}, version {spec.version}): {result.kind}")
        print(f"  value      {'(none)' if result.value is None else f'{result.value:.6g}'}")
        shown = ("(no calibration on this machine: rdbench check " + task.name + ")") if calibration is None \
            else "(none)" if normalised is None else f"{normalised:.4f}"
        print(f"  normalised {shown}")
        print(f"  message    {result.message}")
        print(f"  took       {result.duration_s:.1f} s")
    return 0 if result.kind == "scored" else 1
