"""Protected scoring: run a task's scorer on a snapshot of a workspace in a separate sandbox.

The snapshot is an overlay (copy-on-write) of the live workspace, so its cost does not grow with the
workspace's size and nothing the scorer writes reaches the agent. Only this sandbox sees
``protected/``. A crash, timeout or out-of-memory becomes an invalid result with a clear message, never
an exception.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rdbench.sandbox.config import WORKSPACE, Mount
from rdbench.sandbox.oneshot import OneShotSpec, Overlay, run_oneshot
from rdbench.scoring.log import clean_value
from rdbench.scoring.shim import RESULT_MARKER
from rdbench.task.assets import Materialized

SHIM_PATH = Path(__file__).with_name("shim.py")
PROTECTED_TARGET = "/opt/rdbench/protected"
SHIM_TARGET = "/opt/rdbench/shim.py"
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
) -> ScoreResult:
    """Score ``workspace`` with the task's protected scorer in a one-shot sandbox.

    Args:
        materialized: The run's materialised task (its ``protected`` folder is mounted read-only).
        workspace: Host path of the workspace to snapshot (not modified).
        environment: The task's Python environment (venv).
        seed: Seed for the scorer's hidden inputs; fresh random when None.
        gpus: GPU indices the scorer may use.
        timeout: Seconds; the task's ``scoring.timeout`` when None.
    """
    spec = materialized.task.spec
    scale = spec.scale(materialized.scale)
    params = {
        **scale.params,
        "scale": materialized.scale,
        "seed": seed if seed is not None else random.SystemRandom().randrange(2**31),
    }
    limit = timeout if timeout is not None else spec.scoring.timeout
    oneshot = OneShotSpec(
        argv=[
            "python",
            SHIM_TARGET,
            f"{PROTECTED_TARGET}/score.py",
            PROTECTED_TARGET,
            WORKSPACE,
            json.dumps(params, default=str),
        ],
        mounts=[
            Mount(source=materialized.protected, target=PROTECTED_TARGET, mode="ro"),
            Mount(source=SHIM_PATH, target=SHIM_TARGET, mode="ro"),
        ],
        overlays=[Overlay(lower=workspace, target=WORKSPACE)],
        python_env=environment,
        cwd=SCRATCH,
        timeout=limit,
        memory_mb=int(scale.memory_gb * 1024),
        cpus=None,
        gpus=gpus or [],
        network=False,
    )
    started = time.monotonic()
    result = await run_oneshot(oneshot)
    duration = time.monotonic() - started
    tail = result.stderr[-4000:]
    base_details: dict[str, Any] = {"stderr_tail": tail, "returncode": result.returncode,
                                    "seed": params["seed"]}
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
        details={**details, "seed": params["seed"], "scorer_stderr_tail": tail[-1000:]},
        duration_s=duration,
    )


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                payload = json.loads(line[len(RESULT_MARKER) :])
            except json.JSONDecodeError:
                return None
            return payload if isinstance(payload, dict) else None
    return None
