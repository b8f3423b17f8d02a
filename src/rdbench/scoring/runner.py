"""Protected scoring: run a task's scorer on a snapshot of a workspace in a separate sandbox.

The snapshot is an overlay (copy-on-write) of the live workspace, so its cost does not grow with the
workspace's size and nothing the scorer writes reaches the agent. Only this sandbox sees
``protected/``. A crash, timeout or out-of-memory becomes an invalid result with a clear message, never
an exception.
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

from rdbench.sandbox.config import WORKSPACE, Mount
from rdbench.sandbox.hostcall import HostCallServer
from rdbench.sandbox.oneshot import OneShotResult, OneShotSpec, Overlay, run_oneshot
from rdbench.scoring.log import clean_value
from rdbench.scoring.scorer_host import SOCKET_ENV
from rdbench.scoring.shim import HOST_DIR_ENV, LIB_DIR_ENV, RESULT_MARKER
from rdbench.task.assets import Materialized

if TYPE_CHECKING:  # inspect_ai's model stack is heavy: only runs with models load it
    from rdbench.scoring.models import ModelGateway

SHIM_PATH = Path(__file__).with_name("shim.py")
HOST_CLIENT_PATH = Path(__file__).with_name("scorer_host.py")
PROTECTED_TARGET = "/opt/rdbench/protected"
SHIM_TARGET = "/opt/rdbench/shim.py"
LIB_TARGET = "/opt/rdbench/lib"
HOST_TARGET = "/opt/rdbench/host"
SCRATCH = "/tmp"


class ScoreResult(BaseModel):
    """What one scoring run produced."""

    value: float | None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    duration_s: float = 0.0


async def score_workspace(
    materialized: Materialized,
    workspace: Path,
    environment: Path,
    *,
    seed: int | None = None,
    gpus: list[int] | None = None,
    timeout: float | None = None,
    models: ModelGateway | None = None,
) -> ScoreResult:
    """Score ``workspace`` with the task's protected scorer in a one-shot sandbox.

    Args:
        materialized: The run's materialised task (its ``protected`` folder is mounted read-only).
        workspace: Host path of the workspace to snapshot (not modified).
        environment: The task's Python environment (venv).
        seed: Seed for the scorer's hidden inputs; fresh random when None.
        gpus: GPU indices the scorer may use.
        timeout: Seconds; the scale's scoring timeout when None.
        models: The run's language models, when the task's scale lists model roles: the scorer
            reaches them (``import rdbench_host``) within each role's ``score_budget`` per call.
    """
    spec = materialized.task.spec
    scale = spec.scale(materialized.scale)
    params = {
        **scale.params,
        "scale": materialized.scale,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**31),
    }
    limit = timeout if timeout is not None else spec.score_timeout(materialized.scale)
    roles = spec.model_roles(materialized.scale)
    if roles and models is None:
        names = ", ".join(r.role for r in roles)
        return ScoreResult(value=None, message=f"this scale's scorer needs the task's models ({names}) and "
                           "none were given: bind them with --model-role ROLE=MODEL")
    gateway = models.child({r.role: r.score_budget for r in roles}) if roles and models else None
    result, duration = await _run_scorer(materialized, workspace, environment, params, limit, gpus or [],
                                         gateway)
    tail = result.stderr[-4000:]
    usage: dict[str, Any] = {} if gateway is None else {"task_models": gateway.summary()}
    base_details: dict[str, Any] = {"stderr_tail": tail, "returncode": result.returncode,
                                    "seed": params["seed"], **usage}
    if result.timed_out:
        return ScoreResult(value=None, message=f"scoring timed out after {limit:.0f} s",
                           details=base_details, duration_s=duration)
    if result.oom:
        return ScoreResult(
            value=None,
            message=f"scoring ran out of memory (limit {scale.memory_gb:g} GB)",
            details=base_details,
            duration_s=duration,
        )
    payload = _parse(result.stdout)
    if payload is None:
        return ScoreResult(
            value=None,
            message=f"the scorer crashed (exit code {result.returncode})",
            details=base_details,
            duration_s=duration,
        )
    raw_details = payload.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    return ScoreResult(
        value=clean_value(payload.get("value")),
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
    gateway: ModelGateway | None,
) -> tuple[OneShotResult, float]:
    scale = materialized.task.spec.scale(materialized.scale)
    mounts = [
        Mount(source=materialized.protected, target=PROTECTED_TARGET, mode="ro"),
        Mount(source=SHIM_PATH, target=SHIM_TARGET, mode="ro"),
    ]
    env: dict[str, str] = {}
    server: HostCallServer | None = None
    sockets: Path | None = None
    if gateway is not None:
        sockets = Path(tempfile.mkdtemp(prefix="rdbench-scorer-host-"))
        sockets.chmod(0o755)
        server = HostCallServer(sockets / "host.sock", gateway.handle)
        await server.start()
        mounts += [Mount(source=HOST_CLIENT_PATH, target=f"{LIB_TARGET}/rdbench_host.py", mode="ro"),
                   Mount(source=sockets, target=HOST_TARGET, mode="ro")]
        env = {LIB_DIR_ENV: LIB_TARGET, HOST_DIR_ENV: HOST_TARGET, SOCKET_ENV: f"{HOST_TARGET}/host.sock"}
    oneshot = OneShotSpec(
        argv=[
            "python",
            SHIM_TARGET,
            f"{PROTECTED_TARGET}/score.py",
            PROTECTED_TARGET,
            WORKSPACE,
            json.dumps(params, default=str),
        ],
        mounts=mounts,
        overlays=[Overlay(lower=workspace, target=WORKSPACE)],
        python_env=environment,
        env=env,
        cwd=SCRATCH,
        timeout=limit,
        memory_mb=int(scale.memory_gb * 1024),
        cpus=None,
        gpus=gpus,
        network=False,
    )
    started = time.monotonic()
    try:
        result = await run_oneshot(oneshot)
    finally:
        if server is not None:
            await server.stop()
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
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
