"""From a METR Task Standard family to an Inspect ``Task``: one sample per task of the family.

Per sample: the agent's sandbox has ``/home/agent`` as its home and working folder (a copy of the
image's home), runs as a host user of its own when rdbench runs as root, and never mounts ``/root``.
Before the agent starts, ``start(t)`` runs in a root sandbox (``steps``) with the sample's ``/root``
and the live ``/home/agent``; every score call freezes the agent and runs ``intermediate_score(t)``
in a root sandbox on a copy-on-write view of its home; the final score is ``aggregate_scores(t,
log)``, else ``score(t, submission)``, else the sidecar's aggregation of the log; ``teardown(t)``
runs last (``docs/metr-tasks.md``).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.agent import Agent
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store

from rdbench.harness.context import RUN_ID_KEY, RunContext, ScoringUnavailable, activate
from rdbench.harness.metr.image import FamilyImage, ensure_image, read_cached_setup
from rdbench.harness.metr.steps import (
    METR_LIB_TARGET,
    Place,
    Separation,
    StepResult,
    metr_library_mount,
    run_step,
    warn_shared_uid,
)
from rdbench.harness.scorer import rdbench_scorer
from rdbench.harness.services import make_handler
from rdbench.harness.task import _cleanup as cleanup_run
from rdbench.harness.task import _servers, default_solver
from rdbench.sandbox.api import (
    AGENT_HOME,
    HostCallServer,
    SandboxRequest,
    cpu_plan,
    gpu_plan,
    research_sandbox,
    sandbox_spec,
)
from rdbench.scoring.log import EntrySource, ScoreEntry, ScoreLog
from rdbench.scoring.normalise import aggregate
from rdbench.scoring.record import Calibration
from rdbench.scoring.runner import ScoreResult
from rdbench.scoring.runs import LOG_FILE, new_info, runs_dir, write_info
from rdbench.task.assets import Materialized
from rdbench.task.loader import LoadedTask
from rdbench.task.metr import FamilyError, MetrFamily, load_family
from rdbench.task.spec import TaskSpec, format_duration, parse_duration

log = logging.getLogger(__name__)
SCALE = "metr"
"""The scale name of a METR family's runs (the family's own resources, from its manifest)."""
FULL_INTERNET = "full_internet"
_samples: dict[str, SampleState] = {}


def family_spec(family: MetrFamily, image: FamilyImage, task: str | None) -> TaskSpec:
    """An rdbench spec standing for the family (``task``: that task's visibility and resources)."""
    manifest = family.manifest.task(task) if task is not None else None
    resources = _resources(family, [task] if task is not None else image.setup.tasks)
    scale = {"params": {}, "time_budget": family.sidecar.time_budget, **resources,
             "score_timeout": family.sidecar.score_timeout}
    return TaskSpec.model_validate({
        "name": family.name.lower(),
        "version": family.version,
        "description": f"METR Task Standard family ({len(image.setup.tasks)} tasks)",
        "scoring": {"direction": family.sidecar.direction, "aggregation": family.sidecar.aggregation,
                    "visible": True if manifest is None else manifest.scoring.visible_to_agent,
                    "timeout": family.sidecar.score_timeout, "hide_scorer": True},
        "scales": {"mini": scale, SCALE: scale},
        "tags": ["metr"],
    })


def _resources(family: MetrFamily, tasks: list[str]) -> dict[str, Any]:
    """The largest of the tasks' manifest resources (one sandbox request serves every sample);
    rdbench's defaults (2 cores, 8 GB, 20 GB of disk, no GPU) where no task gives one."""
    listed = [family.manifest.task(name).resources for name in tasks]
    cpus = [math.ceil(r.cpus) for r in listed if r.cpus]
    memory = [r.memory_gb for r in listed if r.memory_gb]
    disk = [r.storage_gb for r in listed if r.storage_gb]
    gpus = [r.gpu.count_range[0] for r in listed if r.gpu is not None]
    return {"cpus": max(cpus, default=2), "memory_gb": max(memory, default=8.0),
            "gpus": max(gpus, default=0), "disk_gb": max(disk, default=20.0)}


def parse_task_names(tasks: str | list[str] | None) -> list[str] | None:
    """``a,b`` (or a list) as names; None for every task."""
    if tasks is None:
        return None
    names = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    return [n.strip() for n in names if n.strip()] or None


def make_metr_task(
    path: Path,
    *,
    tasks: str | list[str] | None = None,
    allow_internet: bool = False,
    budget: str | float | None = None,
    solver: Solver | Agent | None = None,
    agent_name: str = "react",
    gpus: list[int] | None = None,
    cpus: list[int] | None = None,
    progress: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
    cost_limit: float | None = None,
) -> Task:
    """Build the Inspect task for a METR family: one sample per task (``tasks``: only these).

    Args:
        path: The family folder.
        tasks: Task names (``"a,b"`` or a list); every task of the family when None.
        allow_internet: Let tasks whose permissions include ``full_internet`` have the network.
        budget: Working-time budget; the sidecar's ``time_budget`` (default 8h) when None.
        solver: The agent; rdbench's default react agent when None.
        agent_name: Name recorded in the run record.
        gpus: GPU indices the samples may use (each takes its manifest's count).
        cpus: Host cores the samples may use.
        progress: Receives progress lines (environment and image builds).
        env: Where ``required_environment_variables`` are read (default: this process's).
        cost_limit: USD per sample (Inspect's ``cost_limit``).

    Raises:
        FamilyError: The family is malformed, a step failed, a task does not exist, a permission
            was refused or a required variable is missing; one message with the fix.
    """
    import os

    from rdbench.scoring.cost import register_pricing
    from rdbench.tokcache import ensure_tiktoken_cache

    ensure_tiktoken_cache()
    register_pricing()  # Inspect prices runs (and enforces cost_limit) with rdbench's table
    say = progress or (lambda message: print(message, file=sys.stderr))
    family = load_family(path)
    separation = Separation.current()
    warn_shared_uid(separation, say)
    image = ensure_image(family, say, separation)
    chosen = parse_task_names(tasks) or list(image.setup.tasks)
    missing = [name for name in chosen if name not in image.setup.tasks]
    if missing:
        raise FamilyError(family.name, "choosing tasks", f"get_tasks() has no task {missing[0]!r}",
                          f"choose among {', '.join(image.setup.tasks)} (-T tasks=a,b)")
    needs_net = [name for name in chosen if FULL_INTERNET in image.setup.permissions.get(name, [])]
    if needs_net and not allow_internet:
        raise FamilyError(family.name, "get_permissions", f"task {needs_net[0]!r} asks for full_internet, "
                          "which rdbench never grants by default",
                          "allow it with --allow-internet (rdbench run) or -T allow_internet=true, or "
                          "run the other tasks (-T tasks=...)")
    source = os.environ if env is None else env
    required = {name: source.get(name) for name in image.setup.required_environment_variables}
    unset = [name for name, value in required.items() if value is None]
    if unset:
        raise FamilyError(family.name, "required_environment_variables", f"{unset[0]} is not set",
                          f"export {unset[0]}=... before running (the family's root steps get it, the agent does not)")
    spec = family_spec(family, image, None)
    scale_spec = spec.scale(SCALE)
    budget_s = parse_duration(budget) if budget is not None else scale_spec.time_budget
    gpu_pool, per_sample = gpu_plan(SCALE, scale_spec.gpus, gpus, say)
    cpu_pool, cpus_per_sample = cpu_plan(SCALE, scale_spec.cpus, cpus, say)
    samples = [Sample(id=name, input=_instructions(image, name, budget_s), metadata={
        "rdbench_metr_family": str(family.root), "rdbench_metr_task": name,
        "rdbench_metr_image": str(image.folder), "rdbench_workspace": str(image.home),
        "rdbench_budget_s": budget_s, "rdbench_metr_network": bool(needs_net) and name in needs_net,
    }) for name in chosen]
    request = SandboxRequest(
        mounts=[metr_library_mount()],
        env={"PYTHONPATH": METR_LIB_TARGET},
        python_env=image.env,
        network=bool(needs_net),
        memory_mb=int(scale_spec.memory_gb * 1024),
        disk_mb=int(scale_spec.disk_gb * 1024),
        gpus=[] if per_sample else gpu_pool,
        gpus_per_sample=per_sample,
        gpu_pool=gpu_pool if per_sample else [],
        cpus_per_sample=cpus_per_sample,
        cpu_pool=cpu_pool if cpus_per_sample else [],
        workspace_target=AGENT_HOME,
        host_user=separation.agent,
    )
    return Task(
        dataset=MemoryDataset(samples, name=family.name),
        setup=metr_setup(agent_name, {k: v for k, v in required.items() if v is not None}),
        solver=solver if solver is not None else default_solver(),
        scorer=rdbench_scorer(),
        cleanup=_cleanup,
        sandbox=sandbox_spec(request),
        working_limit=int(budget_s),
        time_limit=int(budget_s * 2 + 2 * family.sidecar.step_timeout),
        cost_limit=cost_limit,
        name=family.name,
        version=family.version,
        metadata={"rdbench_task": family.name, "rdbench_scale": SCALE, "rdbench_budget_s": budget_s,
                  "rdbench_agent": agent_name, "rdbench_metr_tasks": chosen},
    )


def _instructions(image: FamilyImage, task: str, budget_s: float) -> str:
    text = image.setup.instructions[task].rstrip()
    notes = [f"(rdbench) You work as user `agent` in {AGENT_HOME}; your working time is "
             f"{format_duration(budget_s)}."]
    if "intermediate_score" in image.setup.methods:
        notes.append("Score your current work with the `score` command (or tool); `score-log` lists "
                     "your scores.")
    if "score" in image.setup.methods:
        notes.append("Submit your final answer with `submit ANSWER` in the shell; the run then ends.")
    return text + "\n\n" + " ".join(notes)


@dataclass
class SampleState:
    """One sample's root-side folders and what its steps need."""

    family: MetrFamily
    image: FamilyImage
    task: str
    folder: Path
    separation: Separation
    required_env: dict[str, str]
    network: bool
    memory_mb: int | None

    @property
    def root(self) -> Path:
        return self.folder / "root"

    def place(self, home: Path | None, overlay: bool) -> Place:
        return Place(root=self.root, protected=self.folder / "protected", env=self.image.env,
                     base_env=self.image.env, home=home, home_overlay=overlay)

    async def step(self, op: str, run: RunContext, home: Path | None, *, overlay: bool,
                   timeout: float, **extra: Any) -> StepResult:
        return await run_step(op, self.family.name, self.place(home, overlay), self.separation,
                              task=self.task, required_env=self.required_env, network=self.network,
                              timeout=timeout, memory_mb=self.memory_mb, cpus=run.cpus, gpus=run.gpus,
                              **extra)


class MetrHooks:
    """A METR family's scoring behind rdbench's run (``RunContext.hooks``)."""

    def __init__(self, sample: SampleState) -> None:
        self.sample = sample

    @property
    def methods(self) -> list[str]:
        return self.sample.image.setup.methods

    async def score(self, run: RunContext, source: EntrySource) -> ScoreResult:
        """``intermediate_score(t)`` on a frozen, copy-on-write view of the agent's home."""
        if "intermediate_score" not in self.methods:
            raise ScoringUnavailable(
                "this task has no intermediate scoring: it is scored on what you submit (`submit ANSWER`)")
        async with run.sandbox.workspace_snapshot() as home:
            result = await self.sample.step("intermediate_score", run, home, overlay=True,
                                            timeout=self.sample.family.sidecar.score_timeout)
        return _score_result(result, "intermediate_score")

    async def final(self, run: RunContext, state: TaskState | None) -> ScoreEntry | None:
        """The run's final score: a last ``intermediate_score``, then ``aggregate_scores`` over the
        log, else ``score(t, submission)``, else the sidecar's aggregation of the log."""
        sidecar = self.sample.family.sidecar
        try:
            if "intermediate_score" in self.methods:
                await run.score(source="final")
            if "aggregate_scores" in self.methods:
                score_log = [_metr_entry(entry) for entry in run.score_log.entries if entry.outcome != "scorer_error"]
                result = await self.sample.step("aggregate", run, None, overlay=False,
                                                timeout=sidecar.score_timeout, score_log=score_log)
                return self._log_final(run, _score_result(result, "aggregate_scores"))
            if "score" in self.methods:
                submission = run.submission
                if submission is None and state is not None:
                    submission = state.output.completion
                async with run.sandbox.workspace_snapshot() as home:
                    result = await self.sample.step("score", run, home, overlay=True,
                                                    timeout=sidecar.score_timeout, submission=submission or "")
                scored = _score_result(result, "score")
                scored.details["submission"] = (submission or "")[:2000]
                return self._log_final(run, scored)
            return aggregate(run.score_log.entries, sidecar.direction, sidecar.aggregation)
        finally:
            await self.teardown(run)

    def _log_final(self, run: RunContext, result: ScoreResult) -> ScoreEntry:
        entry = ScoreEntry(index=run.score_log.next_index(), timestamp=time.time(), elapsed_s=run.elapsed_s(),
                           value=result.value, message=result.message, details=result.details,
                           duration_s=result.duration_s, source="final", kind=result.kind)
        return run.log_entry(entry)

    async def teardown(self, run: RunContext) -> None:
        if "teardown" not in self.methods:
            return
        async with run.sandbox.live_workspace() as home:
            result = await self.sample.step("teardown", run, home, overlay=False,
                                            timeout=self.sample.family.sidecar.step_timeout)
        if not result.ok:
            log.warning("METR family %s: teardown(%r) failed: %s", self.sample.family.name, self.sample.task,
                        result.why())

    def calibration(self, run: RunContext) -> Calibration | None:
        sidecar = self.sample.family.sidecar
        anchor = sidecar.anchor(self.sample.task)
        if anchor is None:
            return None
        where = str(self.sample.family.sidecar_path) if self.sample.family.sidecar_path else "built in"
        return Calibration(task=run.task.name, task_version=run.task.spec.version, scale=SCALE,
                           starting=anchor.starting, reference=anchor.reference, fingerprint="sidecar",
                           machine={"sidecar": where, "source": sidecar.source}, created=time.time())


def _metr_entry(entry: ScoreEntry) -> dict[str, Any]:
    """An entry as the standard's score log holds it (``score`` None for an invalid one)."""
    return {"score": entry.value, "message": entry.details.get("metr_message", {}),
            "details": entry.details.get("metr_details", {}),
            "elapsed_seconds": entry.elapsed_s, "scored_at": entry.timestamp}


def _score_result(result: StepResult, what: str) -> ScoreResult:
    """A step's outcome as a score: the family's failure is a scorer error, never the agent's zero."""
    if not result.ok:
        return ScoreResult(value=None, kind="scorer_error", duration_s=result.duration_s,
                           message=f"scorer error: the family's {what} failed: {result.why()}",
                           details={"traceback": result.traceback[-3000:], "output": result.output_tail[-2000:]})
    payload = result.result if isinstance(result.result, dict) else {}
    value = payload.get("score")
    message = payload.get("message") or {}
    details: dict[str, Any] = {"metr_message": message, "metr_details": payload.get("details") or {}}
    if result.links_removed:
        details["links_removed"] = result.links_removed
    text = message if isinstance(message, str) else (json.dumps(message) if message else "")
    if value is None:
        return ScoreResult(value=None, kind="invalid", duration_s=result.duration_s, details=details,
                           message=text or f"{what} gave no score (invalid)")
    return ScoreResult(value=float(value), kind="scored", duration_s=result.duration_s, details=details,
                       message=text)


@solver
def metr_setup(agent_name: str, required_env: dict[str, str]) -> Solver:
    """Prepare a sample: its root folders, ``start(t)`` in a root sandbox, its run and services."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        family = load_family(Path(meta["rdbench_metr_family"]))
        image = ensure_image(family, lambda message: log.info(message))
        task_name = str(meta["rdbench_metr_task"])
        spec = family_spec(family, image, task_name)
        folder = Path(tempfile.mkdtemp(prefix=f"rdbench-metr-{family.name}-"))
        folder.chmod(0o700)
        shutil.copytree(image.root, folder / "root", symlinks=True)
        (folder / "protected").mkdir()
        sandbox = research_sandbox()
        sample = SampleState(family=family, image=image, task=task_name, folder=folder,
                             separation=Separation.current(), required_env=required_env,
                             network=bool(meta.get("rdbench_metr_network")),
                             memory_mb=int(spec.scale(SCALE).memory_gb * 1024))
        run_id = uuid.uuid4().hex
        _samples[run_id] = sample
        state.store.set(RUN_ID_KEY, run_id)
        loaded = LoadedTask(spec=spec, root=family.root)
        run_dir = runs_dir() / run_id
        run = RunContext(
            run_id=run_id,
            materialized=Materialized(task=loaded, scale=SCALE, root=image.folder, instance=f"{family.name}/{task_name}"),
            environment=image.env, sandbox=sandbox, time_budget_s=float(meta["rdbench_budget_s"]),
            score_log=ScoreLog(run_dir / LOG_FILE), agent=agent_name, gpus=list(sandbox.gpus),
            cpus=list(sandbox.cpus), store=store(), hooks=MetrHooks(sample),
        )
        async with sandbox.live_workspace() as home:
            result = await sample.step("start", run, home, overlay=False, timeout=family.sidecar.step_timeout)
        if not result.ok:
            log.warning("METR family %s: start(%r) failed:\n%s", family.name, task_name, result.traceback or result.output_tail)
            raise step_error(family.name, f"start({task_name!r})", result)
        hooks = run.hooks
        assert isinstance(hooks, MetrHooks)
        calibration = hooks.calibration(run)
        run.info = new_info(
            run_id=run_id, slot=None, task=family.name, task_version=spec.version, scale=SCALE,
            instance=run.materialized.instance, agent=agent_name, model=str(state.model), task_models={},
            direction=spec.scoring.direction, aggregation=spec.scoring.aggregation,
            transform=spec.scoring.transform_json(), time_budget_s=run.time_budget_s, calibration=calibration,
        )
        write_info(run_dir, run.info)
        activate(run)
        run.started_working += run.elapsed_s()  # the clock starts now, after start(t)
        server = HostCallServer(sandbox.host_call_socket("service"), make_handler(run))
        await server.start()
        _servers[run_id] = server
        return state

    return solve


def step_error(family: str, step: str, result: StepResult) -> FamilyError:
    """A failed per-sample step as one error naming the family and the step."""
    from rdbench.harness.metr.image import step_failure

    return step_failure(family, step, result, "fix the family's code (its traceback is in the log)")


async def _cleanup(state: TaskState) -> None:
    run_id = state.store.get(RUN_ID_KEY)
    await cleanup_run(state)  # the services socket, the run folder's status
    sample = _samples.pop(run_id, None) if run_id else None
    if sample is not None:
        shutil.rmtree(sample.folder, ignore_errors=True)


def family_rows(path: Path) -> list[dict[str, object]]:
    """``rdbench tasks`` rows for a METR family: one per task when its image was built before."""
    try:
        family = load_family(path)
    except FamilyError as error:
        return [{"task": path.name, "scale": "-", "error": str(error)}]
    setup = read_cached_setup(family)
    names = setup.tasks if setup is not None else [None]
    rows: list[dict[str, object]] = []
    for name in names:
        res = _resources(family, [name] if name else [])
        anchor = family.sidecar.anchor(name) if name else None
        rows.append({
            "task": family.name if name is None else f"{family.name}/{name}",
            "version": family.version,
            "tags": ["metr"],
            "scale": SCALE,
            "budget": format_duration(family.sidecar.time_budget),
            "resources": f"{res['cpus']} cpu, {res['memory_gb']:g} GB" + (f", {res['gpus']} gpu" if res["gpus"] else ""),
            "kind": "metr",
            "scoring": f"{family.sidecar.direction}/{family.sidecar.aggregation}",
            "calibrated": None if anchor is None else {"starting": anchor.starting, "reference": anchor.reference},
            "model_roles": [],
            "note": "tasks listed after the first run builds the family" if name is None else "",
        })
    return rows
