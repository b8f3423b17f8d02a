"""From a task folder to an Inspect ``Task``: samples, sandbox, setup, tools, scorer, limits."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.agent import Agent, react
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import bash, python
from inspect_ai.util import store

from rdbench.harness.context import RUN_ID_KEY, RunContext, activate, current_run, model_name
from rdbench.harness.prompts import research_prompt
from rdbench.harness.scorer import rdbench_scorer
from rdbench.harness.services import make_handler, service_wrappers
from rdbench.harness.tools import score, score_log
from rdbench.paths import cache_dir
from rdbench.sandbox.api import (
    AGENT_HOME,
    HostCallServer,
    Mount,
    SandboxRequest,
    cpu_plan,
    gpu_plan,
    research_sandbox,
    sandbox_spec,
)
from rdbench.scoring.calibration import load_calibration
from rdbench.scoring.cost import register_pricing
from rdbench.scoring.identity import behaviour_options, display_name
from rdbench.scoring.integrity import hash_files
from rdbench.scoring.log import ScoreLog
from rdbench.scoring.machine import machine_record
from rdbench.scoring.models import ModelGateway, resolve_models
from rdbench.scoring.runs import LOG_FILE, new_info, read_run, runs_dir, write_info
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import LoadedTask, load_task, resolve
from rdbench.task.metr import is_metr_family
from rdbench.task.spec import parse_duration
from rdbench.tokcache import ensure_tiktoken_cache

SERVICES_TARGET = "/opt/rdbench/services"
SLOT_METADATA_KEY = "rdbench_slot"
"""Sample metadata naming which run of a plan a sample is (set by ``rdbench run --slurm`` jobs)."""
_servers: dict[str, HostCallServer] = {}


def default_solver() -> Agent:
    """Inspect's react agent with the research tools (the registry uses ``rdbench/react``)."""
    return react(
        prompt=research_prompt(),
        tools=[bash(timeout=600), python(timeout=600), score(), score_log()],
        submit=False,
    )


def make_task(
    task: str | Path | LoadedTask,
    scale: str = "mini",
    budget: str | float | None = None,
    solver: Solver | Agent | None = None,
    instances: int | None = None,
    seed: int | None = None,
    agent_name: str | None = None,
    gpus: list[int] | None = None,
    progress: Callable[[str], None] | None = None,
    cpus: list[int] | None = None,
    cost_limit: float | None = None,
    metr_tasks: str | list[str] | None = None,
    allow_internet: bool = False,
) -> Task:
    """Build the Inspect task for one rdbench task at one scale.

    Args:
        task: Task name, folder, or loaded task.
        scale: ``mini`` (CPU) or ``full`` (GPU) or another scale the task defines.
        budget: Working-time budget (e.g. ``"30m"``); the scale's ``time_budget`` when None.
        solver: The agent; Inspect's react agent with the research tools when None.
        instances: Families only: how many instances (samples) to generate.
        seed: Families only: the first instance seed (the family's default when None).
        agent_name: Name recorded in the run record (e.g. ``human:alice``); the solver's when None.
        gpus: GPU indices the samples may use; every device on the host when None. A scale
            that asks for GPUs gives each sample that many of these, exclusively.
        progress: Receives progress lines (environment builds, asset preparation).
        cpus: Host cores the samples may use; this process's (its CPU affinity) when None. Each
            sample takes the scale's ``cpus`` of these for its lifetime, exclusively (its scorer
            runs on the same); samples wait for free ones.
        cost_limit: USD per sample (Inspect's ``cost_limit``: every model the run uses must have a
            price, see :func:`rdbench.scoring.cost.register_pricing`).
        metr_tasks: METR families only: the family's tasks to run (``"a,b"``; all when None).
        allow_internet: METR families only: grant ``full_internet`` to tasks that ask for it.
    """
    if not isinstance(task, LoadedTask) and is_metr_family(resolve(task)):
        from rdbench.harness.metr.task import make_metr_task

        if scale not in ("mini", "metr") or instances not in (None, 1) or seed is not None:
            (progress or (lambda m: print(m, file=sys.stderr)))(
                "a METR family has one sample per task and its own resources: --scale, --instances and "
                "--seed are ignored (choose tasks with -T tasks=a,b)")
        return make_metr_task(resolve(task), tasks=metr_tasks, allow_internet=allow_internet, budget=budget,
                              solver=solver, agent_name=agent_name or (_solver_name(solver) if solver is not None else "react"), gpus=gpus,
                              cpus=cpus, progress=progress, cost_limit=cost_limit)
    ensure_tiktoken_cache()  # Inspect counts tokens with o200k_base; no downloads at run time
    register_pricing()  # Inspect prices runs (and enforces cost_limit) with rdbench's table
    loaded = task if isinstance(task, LoadedTask) else load_task(task)
    spec = loaded.spec
    scale_spec = spec.scale(scale)
    budget_s = parse_duration(budget) if budget is not None else scale_spec.time_budget
    say = progress or (lambda message: print(message, file=sys.stderr))
    # the task's own scripts (assets, instances) first: they fail at once, naming the extra to
    # install, where the host lacks a package they need; the environment's build takes minutes
    materialized = _materialize_all(loaded, scale, instances, seed, say)
    environment = ensure_environment(spec.environment, say)
    samples = [_sample(loaded, scale, budget_s, mat, environment) for mat in materialized]
    mounts = []
    if not spec.scoring.hide_scorer:
        mounts.append(Mount(source=loaded.scorer_path, target=f"{AGENT_HOME}/score.py"))
    if spec.services:
        wrappers = service_wrappers(
            cache_dir() / "services" / loaded.name, [s.name for s in spec.services]
        )
        mounts.append(Mount(source=wrappers, target=SERVICES_TARGET))
    gpu_pool, per_sample = gpu_plan(scale, scale_spec.gpus, gpus, say)
    cpu_pool, cpus_per_sample = cpu_plan(scale, scale_spec.cpus, cpus, say)
    request = SandboxRequest(
        mounts=mounts,
        python_env=environment,
        network=spec.permissions.network,
        memory_mb=int(scale_spec.memory_gb * 1024),
        disk_mb=int(scale_spec.disk_gb * 1024),
        gpus=[] if per_sample else gpu_pool,
        gpus_per_sample=per_sample,
        gpu_pool=gpu_pool if per_sample else [],
        cpus_per_sample=cpus_per_sample,
        cpu_pool=cpu_pool if cpus_per_sample else [],
        env={"RDBENCH_EXTRA_PATH": SERVICES_TARGET} if spec.services else {},
    )
    chosen = solver if solver is not None else default_solver()
    solver_name = _solver_name(chosen)
    name = agent_name or display_name(solver_name)
    options = _agent_options(chosen) if solver is not None else {}  # the harness's own default
    metrics = _family_metrics(loaded)
    return Task(
        dataset=MemoryDataset(samples, name=loaded.name),
        setup=rdbench_setup(name, options, solver_name),
        solver=chosen,
        scorer=rdbench_scorer(),
        metrics=metrics,
        cleanup=_cleanup,
        sandbox=sandbox_spec(request),
        working_limit=int(budget_s),
        time_limit=int(budget_s * 2 + 900),
        cost_limit=cost_limit,
        name=loaded.name,
        version=spec.version,
        metadata={"rdbench_task": loaded.name, "rdbench_scale": scale, "rdbench_budget_s": budget_s,
                  "rdbench_agent": name, "rdbench_agent_options": options},
    )


def _materialize_all(
    loaded: LoadedTask, scale: str, instances: int | None, seed: int | None, say: Callable[[str], None]
) -> list[Materialized]:
    family = loaded.spec.family
    if family is None:
        if instances not in (None, 1):
            say(f"{loaded.name} is not a task family; --instances ignored (use --epochs for repeats)")
        return [materialize(loaded, scale, progress=say)]
    count = instances or family.default_instances
    first = family.seed if seed is None else seed
    say(f"generating {count} instances of {loaded.name} (seeds {first}..{first + count - 1})")
    return [materialize(loaded, scale, seed=first + i, progress=say) for i in range(count)]


def _sample(
    loaded: LoadedTask, scale: str, budget_s: float, mat: Materialized, environment: Path
) -> Sample:
    text = loaded.instructions(scale, budget_s)
    if mat.extra_instructions:
        text = f"{text}\n\n{mat.extra_instructions}"
    return Sample(
        id=mat.instance or loaded.name,
        input=text,
        metadata={
            "rdbench_task_root": str(loaded.root),
            "rdbench_scale": scale,
            "rdbench_seed": None if mat.metadata is None else mat.metadata.get("seed"),
            "rdbench_materialized": str(mat.root),
            "rdbench_workspace": str(mat.workspace),
            "rdbench_environment": str(environment),
            "rdbench_budget_s": budget_s,
        },
    )


def _solver_name(solver: Solver | Agent) -> str:
    """The solver's registry name (``rdbench/aide``, ``inspect_ai/react``), else its Python name."""
    from inspect_ai._util.registry import is_registry_object, registry_info

    if is_registry_object(solver):
        return str(registry_info(solver).name)
    return str(getattr(solver, "__name__", type(solver).__name__))


def _agent_options(solver: Solver | Agent) -> dict[str, Any]:
    """The arguments the solver was created with that change how it behaves."""
    from inspect_ai._util.registry import is_registry_object, registry_params

    return behaviour_options(dict(registry_params(solver))) if is_registry_object(solver) else {}


def _family_metrics(loaded: LoadedTask) -> list[Any] | None:
    if loaded.spec.family is None or not (loaded.root / "metrics.py").exists():
        return None
    from inspect_ai.scorer import mean, stderr

    from rdbench.harness.scorer import family_metric

    return [mean(), stderr(), family_metric(str(loaded.root / "metrics.py"))]


@solver
def rdbench_setup(
    agent_name: str, agent_options: dict[str, Any] | None = None, solver_name: str | None = None
) -> Solver:
    """Prepare the run: its context, the host services socket, and the integrity baseline.

    Args:
        agent_name: The agent as recorded (e.g. ``aide``, ``human:alice``).
        agent_options: Its behaviour-changing arguments.
        solver_name: The registry name of the task's solver: when another solver runs instead
            (``inspect eval --solver``), the scorer records that one.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        loaded = load_task(meta["rdbench_task_root"])
        mat = Materialized(
            task=loaded,
            scale=meta["rdbench_scale"],
            root=Path(meta["rdbench_materialized"]),
            instance=None if meta.get("rdbench_seed") is None else f"{loaded.name}/{meta['rdbench_seed']}",
        )
        env = research_sandbox()
        # the task's own models (e.g. scaffold_contests' code model at full scale), bound by
        # --model-role in this eval; an unbound role fails the sample here, with the fix
        models = resolve_models(loaded.spec, mat.scale)
        run_id = uuid.uuid4().hex
        run_dir = runs_dir() / run_id
        run = RunContext(
            run_id=run_id,
            materialized=mat,
            environment=Path(meta["rdbench_environment"]),
            sandbox=env,
            time_budget_s=float(meta["rdbench_budget_s"]),
            score_log=ScoreLog(run_dir / LOG_FILE),
            agent=agent_name,
            agent_options=dict(agent_options or {}),
            solver_name=solver_name,
            instructions=state.input_text,
            gpus=list(env.gpus),
            cpus=list(env.cpus),
            store=store(),
            models=ModelGateway(models) if models else None,
        )
        async with env.workspace_snapshot() as workspace:
            run.integrity_before = hash_files(workspace, loaded.spec.scoring.protected_files)
        scoring = loaded.spec.scoring
        run.info = new_info(
            run_id=run_id, slot=meta.get(SLOT_METADATA_KEY), task=loaded.name,
            task_version=loaded.spec.version, scale=mat.scale,
            instance=mat.instance, agent=agent_name, agent_options=run.agent_options,
            model=model_name(state), machine=machine_record(), task_models=run.model_binding,
            direction=scoring.direction, aggregation=scoring.aggregation,
            transform=scoring.transform_json(),
            time_budget_s=run.time_budget_s,
            calibration=load_calibration(loaded.name, mat.scale, run.model_binding,
                                         version=loaded.spec.version),
        )
        write_info(run_dir, run.info)
        activate(run)
        state.store.set(RUN_ID_KEY, run_id)
        server = HostCallServer(env.host_call_socket("service"), make_handler(run))
        await server.start()
        _servers[run_id] = server
        return state

    return solve


async def _cleanup(state: TaskState) -> None:
    run_id = state.store.get(RUN_ID_KEY)
    if run_id and run_id in _servers:
        await _servers.pop(run_id).stop()
    if run_id:
        folder = runs_dir() / run_id
        view = read_run(folder)
        if view is not None and view.info.status == "running":
            # the sample ended without the rdbench scorer (an error, a cancelled eval)
            write_info(folder, view.info.model_copy(update={"status": "ended", "ended": time.time()}))


def run_for(state: TaskState) -> RunContext:
    """The run of a sample's state."""
    return current_run(state.store.get(RUN_ID_KEY))
