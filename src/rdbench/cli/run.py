"""``rdbench run``: run an agent on a task through Inspect, with rdbench's defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
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
from rdbench.cli.slurm import options as slurm_options
from rdbench.errors import UserError
from rdbench.progress import enable_bars
from rdbench.sandbox.api import parse_cpus, parse_gpus
from rdbench.task.loader import load_task, resolve
from rdbench.task.metr import is_metr_family

_INSPECT = "Inspect's options, passed through (`inspect eval --help`)"


@click.command(
    "run",
    cls=Command,
    short_help="run an agent on a task (an Inspect eval) and print its score",
    help="Runs each TASK with an agent and model through Inspect AI, one Inspect log per "
    "task (the transcript, the score log and the run record; open it with `inspect view`). The "
    "logs name their task and arguments, so `inspect eval-retry LOG` or `rdbench run ... --resume` "
    "completes an interrupted run. Warns before a task that has no calibration on this machine "
    "(its runs are left out of reports until it has one); --calibrate calibrates it first.",
)
@click.argument("tasks", nargs=-1, metavar="[TASK]...", shell_complete=complete_tasks)
@click.option("--tag", multiple=True,
              help="also run every task with this tag, e.g. --tag rebench (the seven RE-Bench "
              "counterparts) or --tag assist (the research-assistance families); repeatable")
@click.option("--max-tasks", type=int, default=1, show_default=True,
              help="tasks run at once (1: timing tasks need the machine to themselves)")
@click.option("--model", envvar="INSPECT_EVAL_MODEL", show_envvar=True,
              help="Inspect model, e.g. anthropic/claude-sonnet-4-0 or mockllm/model")
@click.option("-M", "--model-arg", multiple=True, metavar="KEY=VALUE",
              help="argument of the model (Inspect's -M), repeatable, e.g. -M script=steps.yaml "
              "for --model script/NAME (a scripted mock model)")
@click.option("--agent", default="react", show_default=True, help="react, aide, cli, or a registered agent")
@click.option("--scale", default="mini", show_default=True, help="mini (CPU) or full (GPU)")
@click.option("--budget", help="working-time budget, e.g. 30m, 90min or 2h (default: the scale's)")
@click.option("--epochs", type=int, default=1, show_default=True, help="independent runs per sample")
@click.option("--instances", type=int, help="families: number of instances")
@click.option("--seed", type=int, help="families: first instance seed")
@click.option("--gpus", default=None,
              help="GPU indices the runs may use, e.g. 0 or 0,1 (default: every GPU of this "
              "host); at a scale that asks for GPUs each run gets its own, and runs wait for free ones")
@click.option("--cpus", default=None,
              help="cores the runs may use, e.g. 0-15 (default: this process's); each run gets "
              "the scale's `cpus` of them for itself, and runs wait for free ones")
@click.option("--log-dir", envvar="INSPECT_LOG_DIR", show_envvar=True, default="logs", show_default=True,
              help="where Inspect writes its log")
@click.option("--max-samples", type=int, help="samples run in parallel")
@click.option("--pricing", metavar="FILE",
              help="pricing table (YAML: model -> {input, output, cache_read} USD per "
              "million tokens) for the run's cost and --cost-limit; default: "
              "$RDBENCH_PRICING, else the packaged table")
@click.option("--cost-limit", type=float, metavar="USD",
              help="stop a run when its model cost reaches this (Inspect's cost_limit, with "
              "the pricing table's prices); refuses to start unless every model the run uses has a price")
@click.option("--model-role", multiple=True, metavar="ROLE=MODEL",
              help="bind a model role the task needs (its services and scorer use it), "
              "e.g. --model-role codemodel=openai/gpt-4o-mini; repeatable; `rdbench tasks` lists each task's roles")
@click.option("-S", "--agent-arg", multiple=True, metavar="KEY=VALUE",
              help="argument of the agent, repeatable; the value is read as YAML, e.g. "
              "--agent cli -S command='my-agent \"$(cat $RDBENCH_PROMPT_FILE)\"' or -S preset=codex")
@click.option("--calibrate", is_flag=True,
              help="calibrate tasks that have no calibration on this machine first "
              "(`rdbench check`), instead of only warning")
@click.option("--limit", type=int, metavar="N", cls=SectionOption, section=_INSPECT,
              help="run only the first N samples")
@click.option("--sample-id", metavar="IDS", cls=SectionOption, section=_INSPECT,
              help="run only these samples (comma-separated ids)")
@click.option("--display", type=click.Choice(["full", "conversation", "rich", "plain", "log", "none"]),
              cls=SectionOption, section=_INSPECT,
              help="Inspect's display (default: $INSPECT_DISPLAY, else Inspect's)")
@click.option("--fail-on-error", type=float, metavar="X", cls=SectionOption, section=_INSPECT,
              help="fail the eval when this fraction (0-1) or count of samples errs")
@click.option("-G", "--generate", multiple=True, metavar="KEY=VALUE", cls=SectionOption, section=_INSPECT,
              help="a generation setting of the agent's model (Inspect's GenerateConfig), "
              "repeatable, e.g. -G temperature=0.2 -G max_tokens=4096")
@click.option("-T", "--task-arg", multiple=True, metavar="KEY=VALUE", cls=SectionOption, section=METR_SECTION,
              help="tasks=a,b runs only these tasks of the family (default: every task)")
@click.option("--allow-internet", is_flag=True, cls=SectionOption, section=METR_SECTION,
              help="give tasks whose permissions include full_internet the host's network "
              "(refused without this flag)")
@slurm_options(runs=True)
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def parse_agent_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs to agent arguments (values parsed as YAML, like Inspect's ``-S``).

    Raises:
        ValueError: A pair has no ``=``.
    """
    import yaml

    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"agent argument {pair!r} is not KEY=VALUE")
        try:
            parsed[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed[key.strip()] = value
    return parsed


def parse_task_args(pairs: Sequence[str], allow_internet: bool = False) -> dict[str, Any]:
    """``-T tasks=a,b`` (and ``--allow-internet``) as ``make_task`` arguments.

    Raises:
        ValueError: A pair is not KEY=VALUE or names an unknown argument.
    """
    out: dict[str, Any] = {"allow_internet": allow_internet} if allow_internet else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"-T {pair}: give KEY=VALUE, e.g. -T tasks=main,hidden")
        if key == "tasks":
            out["metr_tasks"] = value
        elif key == "allow_internet":
            out["allow_internet"] = value.strip().lower() in ("1", "true", "yes")
        else:
            raise ValueError(f"-T {key}: unknown task argument; rdbench run takes -T tasks=a,b and "
                             "-T allow_internet=true (other settings have flags: --scale, --budget, ...)")
    return out


def use_pricing(path: str) -> Path:
    """Check a pricing table and make it the one this process prices runs with.

    Raises:
        ValueError: The file is missing or is not a valid pricing table.
    """
    import yaml

    from rdbench.scoring.cost import load_pricing

    chosen = Path(path).expanduser().resolve()
    if not chosen.is_file():
        raise UserError(f"--pricing {path}: no such file")
    try:
        table = load_pricing(chosen)
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as error:
        raise UserError(f"--pricing {path}: not a pricing table (model: {{input, output}} USD "
                         f"per million tokens): {error}") from error
    if not table:
        raise UserError(f"--pricing {path}: the table is empty")
    # The harness's scorer and the agents price runs in this process through $RDBENCH_PRICING.
    os.environ["RDBENCH_PRICING"] = str(chosen)
    return chosen


def select_tasks(names: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The tasks named, then those with any of ``tags`` (each once, in that order).

    Raises:
        ValueError: Nothing selected, or a tag no task carries.
    """
    from rdbench.task.loader import discover

    chosen = list(dict.fromkeys(names))
    suite_tags = {name: load_task(path).spec.tags for name, path in discover(metr=False).items()} if tags else {}
    for tag in tags:
        tagged = [name for name, task_tags in suite_tags.items() if tag in task_tags]
        if not tagged:
            known = sorted({t for task_tags in suite_tags.values() for t in task_tags})
            raise UserError(f"--tag {tag}: no task has this tag; tags: {', '.join(known)}")
        chosen += [name for name in tagged if name not in chosen]
    if not chosen:
        raise UserError("name a task (see `rdbench tasks`) or give --tag")
    return chosen


def _check_counts(args: Args) -> None:
    """Counts that must be at least 1: one line each, before anything runs."""
    for flag, value in [("--instances", args.instances), ("--epochs", args.epochs),
                        ("--max-samples", args.max_samples), ("--max-tasks", args.max_tasks)]:
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1 (got {value})")
    if args.cost_limit is not None and not args.cost_limit > 0:
        raise UserError("--cost-limit must be a positive number of USD")
    if args.budget is not None:
        from rdbench.task.spec import parse_duration

        parse_duration(args.budget)  # one line for a bad duration, before anything runs


def _calibrations(
    names: Sequence[str], scale: str, roles: dict[str, str], calibrate: bool, gpus: list[int] | None,
) -> None:
    """Warn about (or, with ``calibrate``, calibrate) every task that this machine has no
    calibration of: its runs could not be normalised."""
    import asyncio

    from rdbench.scoring.calibration import load_calibration, missing_message
    from rdbench.scoring.check import check_task
    from rdbench.scoring.models import ModelGateway, resolve_models

    for name in names:
        task = load_task(name)
        binding = {r.role: roles.get(r.role) or str(r.default) for r in task.spec.model_roles(scale)}
        if load_calibration(task.name, scale, binding, version=task.spec.version) is not None:
            continue
        if not calibrate:
            progress(f"warning: {missing_message(task.name, scale, task.spec.version, binding)} "
                     "(or add --calibrate); until then its runs are not normalised and reports leave "
                     "them out")
            continue
        progress(f"{task.name}: no calibration on this machine; calibrating it first (rdbench check)")
        models = resolve_models(task.spec, scale, roles)
        report = asyncio.run(check_task(task, scale, repeats=2, progress=progress, gpus=gpus,
                                        models=ModelGateway(models) if models else None))
        if not report.saved:
            why = "; ".join(report.problems) or report.storage
            raise UserError(f"calibrating {task.name} failed: {why} (see `rdbench check {task.name}`; "
                             "run without --calibrate to run uncalibrated)")


def _matching_logs(log_dir: str, registry: str, task_args: dict[str, Any], model: str,
                   roles: dict[str, str], epochs: int) -> list[Any]:
    """Headers of the logs in ``log_dir`` of this same run (task, arguments, model, roles, epochs),
    newest first."""
    import json

    from inspect_ai.log import list_eval_logs, read_eval_log

    wanted = json.dumps(task_args, sort_keys=True, default=str)
    found = []
    if not Path(log_dir).is_dir():
        return []
    for info in list_eval_logs(log_dir, recursive=False):
        try:
            header = read_eval_log(info, header_only=True)
        except Exception:
            continue  # an unreadable log is no run of ours
        spec = header.eval
        if spec.task_registry_name != registry or spec.model != model:
            continue
        if json.dumps(spec.task_args_passed or {}, sort_keys=True, default=str) != wanted:
            continue
        bound = {role: config.model for role, config in (spec.model_roles or {}).items()
                 if not isinstance(config, list)}
        if bound != roles or (spec.config.epochs or 1) != epochs:
            continue
        found.append(header)
    return sorted(found, key=lambda h: h.eval.created, reverse=True)


def run(args: Args) -> int:
    from inspect_ai import eval as inspect_eval
    from inspect_ai import eval_retry
    from inspect_ai._eval.registry import task_create

    from rdbench.harness.agents import agent_parameters, check_agent_args
    from rdbench.scoring.cost import load_pricing, register_pricing, unpriced
    from rdbench.scoring.models import parse_model_roles, require_known_roles, require_roles
    from rdbench.suite import registry_name

    if args.slurm:
        from rdbench.cli.slurm import run_on_slurm

        given = [flag for flag, value in [("--limit", args.limit), ("--sample-id", args.sample_id),
                                          ("--fail-on-error", args.fail_on_error),
                                          ("-G", args.generate or None)] if value is not None]
        if given:
            raise UserError(f"{', '.join(given)}: not passed to Slurm jobs; run without --slurm, or "
                            "drop them")
        return run_on_slurm(args)
    if not args.model:
        raise UserError("give --model (e.g. mockllm/model, openai/gpt-4o) or set INSPECT_EVAL_MODEL")
    _check_counts(args)
    passthrough = inspect_options(args)  # a bad one is one line before anything runs
    gpus = parse_gpus(args.gpus) if args.gpus is not None else None
    cpus = parse_cpus(args.cpus) if args.cpus is not None else None
    if args.pricing:
        use_pricing(args.pricing)
    table = load_pricing()  # a missing $RDBENCH_PRICING is an error here, not "no prices"
    agent_args = parse_agent_args(args.agent_arg)
    check_agent_args(args.agent, agent_args)
    model_roles = parse_model_roles(args.model_role)
    names = select_tasks(args.tasks, args.tag)
    families = [name for name in names if is_metr_family(resolve(name))]
    metr_args = parse_task_args(args.task_arg, args.allow_internet)
    if metr_args and not families:
        raise UserError("-T and --allow-internet are for METR families; none of the tasks is one")
    specs = [load_task(name).spec for name in names if name not in families]
    require_known_roles(specs, args.scale, model_roles)
    for spec in specs:  # every task's roles, before anything runs
        require_roles(spec, args.scale, model_roles)
    models = [args.model, *model_roles.values()]
    if args.cost_limit is not None:
        missing = unpriced(models, table)
        if missing:
            raise UserError(f"--cost-limit: no price for {', '.join(missing)}, so its cost could not be "
                             "limited: add it to a pricing table (MODEL: {input: USD, output: USD} per "
                             "million tokens) and pass --pricing FILE")
        # rdbench's agents also know the limit: they stop cleanly and show it in their budget notes
        if "cost_limit" in agent_parameters(args.agent):
            agent_args.setdefault("cost_limit", args.cost_limit)
    register_pricing(table, models)
    _calibrations([n for n in names if n not in families], args.scale, model_roles, args.calibrate, gpus)
    task_args = {k: v for k, v in {
        "scale": args.scale, "budget": args.budget, "instances": args.instances, "seed": args.seed,
        "agent": args.agent, "agent_args": agent_args or None, "gpus": gpus, "cpus": cpus,
        "cost_limit": args.cost_limit, "tasks": metr_args.get("metr_tasks"),
        "allow_internet": metr_args.get("allow_internet"),
    }.items() if v is not None}
    registries = [registry_name(name) for name in names]
    retry: list[Any] = []
    fresh: list[str] = []
    for registry in registries:
        same = _matching_logs(args.log_dir, registry, task_args, args.model, model_roles, args.epochs)
        latest = same[0] if same else None
        if latest is not None and latest.status != "success" and args.resume:
            progress(f"{registry}: resuming {latest.location} ({latest.status}): only its missing samples run")
            retry.append(latest)
            continue
        if latest is not None and latest.status == "success" and args.resume:
            progress(f"{registry}: {latest.location} is complete; nothing to resume")
            continue
        if latest is not None and latest.status != "success":
            progress(f"{registry}: an unfinished log of this same run exists ({latest.location}); "
                     "add --resume to complete only its missing samples")
        fresh.append(registry)
    logs: list[Any] = []
    shown = {} if args.display is None else {"display": args.display}
    enable_bars(False)  # Inspect's display owns the terminal from here
    if retry:
        logs += eval_retry(retry, log_dir=args.log_dir, max_samples=args.max_samples,
                           max_tasks=args.max_tasks, **shown)
    if fresh:
        tasks = [task_create(registry, **task_args) for registry in fresh]
        logs += inspect_eval(tasks, model=args.model, epochs=args.epochs, log_dir=args.log_dir,
                             max_samples=args.max_samples, max_tasks=args.max_tasks,
                             model_roles=dict(model_roles) or None,
                             model_args=parse_agent_args(args.model_arg), **shown, **passthrough)
    return print_results(logs)


def inspect_options(args: Args) -> dict[str, Any]:
    """Inspect's own options given to ``rdbench run`` (sample selection, failure threshold,
    generation settings), checked here so that a bad one is one line before anything runs."""
    from inspect_ai.model import GenerateConfig

    options: dict[str, Any] = {}
    if args.limit is not None:
        if args.limit < 1:
            raise UserError(f"--limit must be at least 1 (got {args.limit})")
        options["limit"] = args.limit
    if args.sample_id:
        ids = [int(i) if i.strip().isdigit() else i.strip() for i in args.sample_id.split(",") if i.strip()]
        if not ids:
            raise UserError("--sample-id: give sample ids, e.g. 1 or 1,3")
        options["sample_id"] = ids
    if args.fail_on_error is not None:
        if args.fail_on_error < 0:
            raise UserError("--fail-on-error must be a fraction (0-1) or a count of samples")
        options["fail_on_error"] = int(args.fail_on_error) if args.fail_on_error >= 1 else args.fail_on_error
    settings = parse_agent_args(args.generate) if args.generate else {}
    unknown = sorted(set(settings) - set(GenerateConfig.model_fields))
    if unknown:
        raise UserError(f"-G {', '.join(unknown)}: not a generation setting (e.g. temperature, max_tokens, "
                        "top_p, reasoning_effort; see Inspect's GenerateConfig)")
    if settings:
        try:
            GenerateConfig(**settings)
        except ValueError as error:
            raise UserError(f"-G: {' '.join(str(error).split())}") from None
        options.update(settings)
    return options


def print_results(logs: Sequence[object]) -> int:
    """Print each sample's score, normalised score and cost, and where the log is."""
    from inspect_ai.log import EvalLog

    from rdbench.agents.cli import STORE_KEY as CLI_STORE_KEY
    from rdbench.agents.cli_record import describe_cli_run

    code = 0
    shown = ""
    for log in logs:
        assert isinstance(log, EvalLog)
        print(f"\nlog: {Path(log.location).resolve() if log.location else '(not written)'}")
        print(f"status: {log.status}")
        if log.error:
            print(f"error: {log.error.message}")
            code = 1
        for sample in log.samples or []:
            score = (sample.scores or {}).get("rdbench")
            if score is None:
                print(f"  {sample.id}: no score ({sample.error.message if sample.error else 'not scored'})")
                continue
            record = (score.metadata or {}).get("rdbench", {})
            if record:
                from rdbench.scoring.identity import identity

                who = identity(str(record.get("agent")), record.get("agent_options"), record.get("model"))
                if who != shown:
                    print(f"agent: {who}")
                    shown = who
            value = score.value if isinstance(score.value, float) else float("nan")
            norm = "n/a" if math.isnan(value) else f"{value:.3f}"
            cost = record.get("cost_usd")
            print(f"  {sample.id} (epoch {sample.epoch}): raw {record.get('raw_score')}, "
                  f"normalised {norm}, score calls {len(record.get('score_log', []))}, "
                  f"tokens {record.get('tokens')}, cost {'n/a' if cost is None else f'${cost:.4f}'}")
            external = (sample.store or {}).get(CLI_STORE_KEY)
            if isinstance(external, dict):
                print(f"    {describe_cli_run(external)}")
            for role, usage in (record.get("task_models") or {}).items():
                env_cost = record.get("task_model_cost_usd")
                print(f"    task model {role} ({usage.get('model')}): {usage.get('calls', 0)} calls, "
                      f"{usage.get('refused', 0)} refused, "
                      f"{usage.get('input_tokens', 0) + usage.get('output_tokens', 0)} tokens"
                      + ("" if env_cost is None else f", ${env_cost:.4f} (not the agent's cost)"))
            if score.explanation:
                print(f"    {score.explanation[:300]}")
    print("\nopen the transcript with: inspect view   |   compare runs with: rdbench report LOGDIR --out report/"
          "   |   runs on this machine: rdbench watch --all")
    return code
