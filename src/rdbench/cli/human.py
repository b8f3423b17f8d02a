"""``rdbench human TASK``: a person does a task in its sandbox; the run is logged like an agent's."""

from __future__ import annotations

import argparse

from rdbench.cli.common import guarded, progress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``human`` subcommand."""
    parser = subparsers.add_parser(
        "human", help="do a task yourself in its sandbox, against the clock",
        description="Shows you the task's instructions, then opens a shell in the task's sandbox (the "
        "same one an agent gets) with score, score-log, status, instructions and submit on PATH and "
        "the time left in the prompt; warns before the end and closes the shell when the time is up. "
        "The run is logged like an agent's (compare with `rdbench report`).")
    parser.add_argument("task", help="task name or folder")
    parser.add_argument("--name", help="your name (the run's agent becomes human:<name>)")
    parser.add_argument("--scale", default="mini", help="task scale (default: mini)")
    parser.add_argument("--budget", help="working time, e.g. 30m (default: the scale's budget)")
    parser.add_argument("--log-dir", default="logs/human", help="where the Inspect log goes")
    parser.add_argument("--warn-at", default="10m,1m",
                        help="warn this long before the end, comma-separated (default 10m,1m)")
    parser.add_argument("--model-role", action="append", default=[], metavar="ROLE=MODEL",
                        help="bind a model role the task needs at this scale (e.g. scaffold_contests' "
                        "codemodel at full scale); repeatable")
    parser.add_argument("-T", "--task-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="METR families: tasks=a,b, the family's tasks to do (default: every task, one after another)")
    parser.add_argument("--allow-internet", action="store_true",
                        help="METR families: allow a task that asks for full_internet")
    parser.set_defaults(handler=guarded(run))


def run(args: argparse.Namespace) -> int:
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
    """Entry point for ``python -m rdbench.cli.human`` (used before ``rdbench human`` is wired)."""
    parser = argparse.ArgumentParser(prog="rdbench")
    sub = parser.add_subparsers()
    register(sub)
    args = parser.parse_args(["human", *(argv or [])] if argv is not None else None)
    return int(args.handler(args))


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
