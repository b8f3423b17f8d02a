"""Protected scoring: run a task's scorer on a snapshot of a workspace in a separate sandbox.

The snapshot is an overlay (copy-on-write) of the live workspace, so its cost does not grow with the
workspace's size and nothing the scorer writes reaches the agent; what it writes lands on a
size-limited filesystem (the scale's ``disk_gb``). Only this sandbox sees ``protected/``. The call's
parameters (with the seed of its hidden inputs) reach the scorer in a file of a folder hidden from
every process it starts; those run in nested sandboxes with their own ``/proc`` (the scorer toolkit,
``lib/rdbench_scorer.py``, mounted for every scorer).

Every call ends in a result with a kind: ``scored``; ``invalid`` (the agent's fault: a bad submission,
a timeout or an out-of-memory); or ``scorer_error`` (the scorer's or the harness's fault: an
exception in the scorer, a sandbox that could not be made). Never an exception.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rdbench.sandbox.api import (
    WORKSPACE,
    GpuUsageReader,
    HostCallServer,
    Mount,
    OneShotResult,
    OneShotSpec,
    Overlay,
    SandboxSetupError,
    format_cpus,
    run_oneshot,
)
from rdbench.scoring.log import EntryKind, clean_value
from rdbench.scoring.shim import EXTRA_HIDDEN_ENV, HOST_DIR_ENV, LIB_DIR_ENV, RESULT_MARKER
from rdbench.task.assets import Materialized

if TYPE_CHECKING:  # inspect_ai's model stack is heavy: only runs with models load it
    from rdbench.scoring.models import ModelGateway

SHIM_PATH = Path(__file__).with_name("shim.py")
LIB_PATH = Path(__file__).with_name("lib")
"""The scorer's helper modules: ``rdbench_scorer`` (the toolkit) and ``rdbench_host`` (models)."""
SOCKET_ENV = "RDBENCH_SCORER_HOST_SOCKET"  # rdbench_host.SOCKET_ENV
CGROUPS_ENV = "RDBENCH_SCORER_CGROUPS"  # rdbench_scorer.CGROUP_DIR_ENV
PROTECTED_TARGET = "/opt/rdbench/protected"
SHIM_TARGET = "/opt/rdbench/shim.py"
LIB_TARGET = "/opt/rdbench/lib"
HOST_TARGET = "/opt/rdbench/host"
CALL_TARGET = "/opt/rdbench/call"
PROC_TARGET = "/opt/rdbench/proc"
CGROUP_TARGET = "/opt/rdbench/cgroup"
GPU_TARGET = "/opt/rdbench/gpu"
GPU_ENV = "RDBENCH_SCORER_GPU_WATCH"  # rdbench_scorer.GPU_WATCH_ENV
GPU_CAP_PARAM = "gpu_memory_mb"
"""A scale parameter: the GPU memory cap (MiB) on each run of the agent's code that the scorer starts,
enforced by the harness's watchdog (``rdbench.sandbox.gpuwatch``)."""
SCRATCH = "/tmp"


class ScoreResult(BaseModel):
    """What one scoring run produced (``value`` None unless ``kind`` is ``scored``)."""

    value: float | None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    duration_s: float = 0.0
    kind: EntryKind = "scored"


async def score_workspace(
    materialized: Materialized,
    workspace: Path,
    environment: Path,
    *,
    seed: int | None = None,
    gpus: list[int] | None = None,
    cpus: list[int] | None = None,
    timeout: float | None = None,
    models: ModelGateway | None = None,
    overrides: dict[str, Any] | None = None,
    gpu_reader: GpuUsageReader | None = None,
) -> ScoreResult:
    """Score ``workspace`` with the task's protected scorer in a one-shot sandbox.

    Args:
        materialized: The run's materialised task (its ``protected`` folder is mounted read-only).
        workspace: Host path of the workspace to snapshot (not modified).
        environment: The task's Python environment (venv).
        seed: Seed for the scorer's hidden inputs; fresh random when None.
        gpus: GPU indices the scorer may use.
        cpus: Host cores the scorer runs on (the run's own, so that scoring measures what the
            agent's sandbox would); not pinned when None or empty.
        timeout: Seconds; the scale's scoring timeout when None.
        models: The run's language models, when the task's scale lists model roles: the scorer
            reaches them (``import rdbench_host``) within each role's ``score_budget`` per call.
        overrides: Parameters to change from the scale's (tests, ``rdbench score --param``).
        gpu_reader: Where the GPU watchdog reads per-process GPU memory when the scale sets
            ``gpu_memory_mb`` (``nvidia-smi`` when None; the tests give a file-driven reader).
    """
    spec = materialized.task.spec
    scale = spec.scale(materialized.scale)
    params = {
        **scale.params,
        **(overrides or {}),
        "scale": materialized.scale,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**31),
    }
    limit = timeout if timeout is not None else spec.score_timeout(materialized.scale)
    roles = spec.model_roles(materialized.scale)
    if roles and models is None:
        names = ", ".join(r.role for r in roles)
        return ScoreResult(value=None, kind="scorer_error",
                           message=f"scorer error: this scale's scorer needs the task's models ({names}) "
                           "and none were given: bind them with --model-role ROLE=MODEL")
    gateway = models.child({r.role: r.score_budget for r in roles}) if roles and models else None
    try:
        result, duration = await _run_scorer(materialized, workspace, environment, params, limit,
                                             gpus or [], cpus or [], gateway, gpu_reader)
    except SandboxSetupError as error:
        return ScoreResult(value=None, kind="scorer_error",
                           message=f"scorer error: the scoring sandbox could not be made: {error}",
                           details={"seed": params["seed"]})
    tail = result.stderr[-4000:]
    usage: dict[str, Any] = {} if gateway is None else {"task_models": gateway.summary()}
    base_details: dict[str, Any] = {"stderr_tail": tail, "returncode": result.returncode,
                                    "seed": params["seed"], **usage}
    if result.timed_out:
        return ScoreResult(value=None, kind="invalid", message=f"scoring timed out after {limit:.0f} s",
                           details=base_details, duration_s=duration)
    if result.oom:
        return ScoreResult(value=None, kind="invalid",
                           message=f"scoring ran out of memory (limit {scale.memory_gb:g} GB)",
                           details=base_details, duration_s=duration)
    payload = _parse(result.stdout)
    if payload is None:
        return ScoreResult(value=None, kind="scorer_error",
                           message=f"scorer error: the scorer died without a result (exit code "
                           f"{result.returncode})", details=base_details, duration_s=duration)
    raw_details = payload.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    value = clean_value(payload.get("value"))
    said = payload.get("kind")
    kind: EntryKind = said if said in ("scored", "invalid", "scorer_error") else (
        "scored" if value is not None else "invalid")
    if kind == "scored" and value is None:
        kind = "scorer_error"
    return ScoreResult(
        value=value if kind == "scored" else None,
        kind=kind,
        message=str(payload.get("message", "")),
        details={**details, **usage, "seed": params["seed"], "scorer_stderr_tail": tail[-1000:]},
        duration_s=duration,
    )


async def _run_scorer(
    materialized: Materialized,
    workspace: Path,
    environment: Path,
    params: dict[str, Any],
    limit: float,
    gpus: list[int],
    cpus: list[int],
    gateway: ModelGateway | None,
    gpu_reader: GpuUsageReader | None = None,
) -> tuple[OneShotResult, float]:
    scale = materialized.task.spec.scale(materialized.scale)
    # the call's parameters, in a folder that the scorer's children never see (not on a command
    # line or in the environment, which any process of the sandbox could read)
    call = Path(tempfile.mkdtemp(prefix="rdbench-scorer-call-"))
    call.chmod(0o755)
    (call / "params.json").write_text(json.dumps(params, default=str))
    (call / "params.json").chmod(0o644)
    mounts = [
        Mount(source=materialized.protected, target=PROTECTED_TARGET, mode="ro"),
        Mount(source=SHIM_PATH, target=SHIM_TARGET, mode="ro"),
        Mount(source=LIB_PATH, target=LIB_TARGET, mode="ro"),
        Mount(source=call, target=CALL_TARGET, mode="ro"),
    ]
    env: dict[str, str] = {LIB_DIR_ENV: LIB_TARGET,
                           EXTRA_HIDDEN_ENV: f"{PROC_TARGET}:{CGROUP_TARGET}:{GPU_TARGET}"}
    gpu_cap = params.get(GPU_CAP_PARAM)
    server: HostCallServer | None = None
    sockets: Path | None = None
    if gateway is not None:
        sockets = Path(tempfile.mkdtemp(prefix="rdbench-scorer-host-"))
        sockets.chmod(0o755)
        server = HostCallServer(sockets / "host.sock", gateway.handle)
        await server.start()
        mounts.append(Mount(source=sockets, target=HOST_TARGET, mode="ro"))
        env.update({HOST_DIR_ENV: HOST_TARGET, SOCKET_ENV: f"{HOST_TARGET}/host.sock"})
    oneshot = OneShotSpec(
        argv=["python", SHIM_TARGET, f"{PROTECTED_TARGET}/score.py", PROTECTED_TARGET, WORKSPACE, CALL_TARGET],
        mounts=mounts,
        overlays=[Overlay(lower=workspace, target=WORKSPACE)],
        python_env=environment,
        env=env,
        cwd=SCRATCH,
        timeout=limit,
        memory_mb=int(scale.memory_gb * 1024),
        cpus=format_cpus(cpus) if cpus else None,
        gpus=gpus,
        network=False,
        disk_mb=int(scale.disk_gb * 1024),
        private_proc=PROC_TARGET,
        delegate_cgroups_to=CGROUP_TARGET,
        delegate_cgroups_env=CGROUPS_ENV,
        gpu_memory_mb=float(gpu_cap) if gpu_cap is not None else None,
        gpu_report_to=GPU_TARGET,
        gpu_report_env=GPU_ENV,
    )
    started = time.monotonic()
    try:
        result = await run_oneshot(oneshot, gpu_reader)
    finally:
        if server is not None:
            await server.stop()
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(call, ignore_errors=True)
    return result, time.monotonic() - started


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                payload = json.loads(line[len(RESULT_MARKER) :])
            except json.JSONDecodeError:
                return None
            return payload if isinstance(payload, dict) else None
    return None
