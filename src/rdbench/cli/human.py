"""``rdbench human TASK``: a person does a task in its sandbox; the run is logged like an agent's."""

from __future__ import annotations

import sys
from typing import Any

import click

from rdbench.cli.common import (
    METR_SECTION,
    Args,
    Command,
    SectionOption,
    call,
    complete_tasks,
    debug_option,
    progress,
)


@click.command(
    "human", cls=Command,
    short_help="do a task yourself in its sandbox, against the clock",
    help="Shows you the task's instructions, then opens a shell in the task's sandbox (the "
    "same one an agent gets) with score, score-log, status, instructions and submit on PATH and "
    "the time left in the prompt; warns before the end and closes the shell when the time is up. "
    "The run is logged like an agent's (compare with `rdbench report`).")
@click.argument("task", shell_complete=complete_tasks)
@click.option("--name", help="your name (the run's agent becomes human:<name>)")
@click.option("--scale", default="mini", show_default=True, help="task scale")
@click.option("--budget", help="working time, e.g. 30m (default: the scale's budget)")
@click.option("--log-dir", default="logs/human", show_default=True, help="where the Inspect log goes")
@click.option("--warn-at", default="10m,1m", show_default=True,
              help="warn this long before the end, comma-separated")
@click.option("--model-role", multiple=True, metavar="ROLE=MODEL",
              help="bind a model role the task needs at this scale (e.g. scaffold_contests' "
              "codemodel at full scale); repeatable")
@click.option("-T", "--task-arg", multiple=True, metavar="KEY=VALUE", cls=SectionOption,
              section=METR_SECTION,
              help="tasks=a,b, the family's tasks to do (default: every task, one after another)")
@click.option("--allow-internet", is_flag=True, cls=SectionOption,
              section=METR_SECTION,
              help="allow a task that asks for full_internet")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def run(args: Args) -> int:
    """Run one human session and print where its log is."""
    from inspect_ai import eval as inspect_eval

    from rdbench.agents.human import human
    from rdbench.cli.run import parse_task_args
    from rdbench.harness.task import make_task
    from rdbench.scoring.models import parse_model_roles, require_known_roles, require_roles
    from rdbench.task.loader import load_task, resolve
    from rdbench.task.metr import is_metr_family
    from rdbench.task.spec import parse_duration

    roles = parse_model_roles(args.model_role)
    task_args = parse_task_args(args.task_arg, args.allow_internet)
    if not is_metr_family(resolve(args.task)):
        spec = load_task(args.task).spec
        require_known_roles([spec], args.scale, roles)
        require_roles(spec, args.scale, roles)
    if args.budget is not None:
        parse_duration(args.budget)  # one line for a bad duration, before anything runs
    warn_at = [parse_duration(w) for w in args.warn_at.split(",") if w.strip()]
    who = f"human:{args.name}" if args.name else "human"
    task = make_task(args.task, scale=args.scale, budget=args.budget,
                     solver=human(name=args.name, warn_at=warn_at), agent_name=who, progress=progress,
                     **task_args)
    logs = inspect_eval(task, model="none", log_dir=args.log_dir, display="none", max_samples=1,
                        model_roles=dict(roles) or None)
    log = logs[0]
    progress(f"log: {log.location}")
    if log.samples:
        for sample in log.samples:
            for name, value in (sample.scores or {}).items():
                progress(f"{name}: {value.value} ({value.explanation or ''})")
    progress("view it with `inspect view` or compare with `rdbench report`")
    return 0 if log.status == "success" else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m rdbench.cli.human`` (the same as ``rdbench human``)."""
    from rdbench.cli.main import main as rdbench_main

    return rdbench_main(["human", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
