"""The ``cli`` agent's run record (store key ``rdbench:cli``): how the external agent's run ended,
what it ran with, and one line describing it for ``rdbench run``'s summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from inspect_ai.util import LimitExceededError, sample_limits

LIMIT_KINDS = ("working", "time", "token", "message", "turn", "cost")
"""Inspect's sample limits, in the order a cancelled run is attributed to them."""


@dataclass
class Outcome:
    """How the external agent's run ended, and what it ran with (the ``rdbench:cli`` record)."""

    reason: str = "cancelled"
    exit_code: int | None = None
    started_at: float | None = None
    elapsed_s: float = 0.0
    killed: int = 0
    left: int = 0
    log_tail: str = ""
    launch_error: str | None = None
    error: str | None = None
    inspect_limit: dict[str, Any] | None = None
    refused_calls: int = 0
    preset: str | None = None
    cli_path: str | None = None
    cli_version: str | None = None
    tested_version: str | None = None
    model: str | None = None
    context_window: int | None = None

    def record(self, command: str) -> dict[str, Any]:
        """The record kept in the sample store."""
        return {"command": command, "reason": self.reason, "exit_code": self.exit_code,
                "started_at": self.started_at, "elapsed_s": round(self.elapsed_s, 2),
                "killed_processes": self.killed, "processes_left": self.left, "log_tail": self.log_tail,
                "launch_error": self.launch_error, "error": self.error,
                "inspect_limit": self.inspect_limit, "refused_model_calls": self.refused_calls,
                "preset": self.preset, "cli_path": self.cli_path, "cli_version": self.cli_version,
                "tested_version": self.tested_version, "model": self.model,
                "context_window": self.context_window}


def describe_cli_run(record: dict[str, Any]) -> str:
    """One line on how an external agent's run ended, from its ``rdbench:cli`` record."""
    program = (str(record.get("command") or "").split() or ["?"])[0]
    who = f"{program} {record['cli_version']}" if record.get("cli_version") else program
    how = str(record.get("reason"))
    if how == "exited":
        how = f"exited with status {record.get('exit_code')}"
    limit = record.get("inspect_limit")
    if isinstance(limit, dict):
        value = limit.get("limit")
        shown = f"{value:.4g}" if isinstance(value, float) else value
        how += f" (Inspect's {limit.get('type')} limit, {shown})"
    if record.get("error"):
        how += f": {record['error']}"
    refused = record.get("refused_model_calls") or 0
    return (f"external agent {who}: {how} after {record.get('elapsed_s')} s"
            + (f"; {refused} model calls refused after the end" if refused else ""))


def exceeded_limit() -> dict[str, Any] | None:
    """The Inspect sample limit that is used up (type, limit, usage), or None."""
    try:
        limits = sample_limits()
    except RuntimeError:  # outside a sample
        return None
    for kind in LIMIT_KINDS:
        limit = getattr(limits, kind)
        remaining = limit.remaining
        if limit.limit is not None and remaining is not None and remaining <= 0:
            return {"type": kind, "limit": limit.limit, "usage": round(float(limit.usage), 2)}
    return None


def explain_end(outcome: Outcome, error: BaseException) -> None:
    """Set how the run ended from what interrupted it: one of Inspect's limits (the working-time
    limit is the run's budget), a cancellation, or an error."""
    limit = exceeded_limit()
    if limit is None and isinstance(error, LimitExceededError):
        limit = {"type": error.type, "limit": error.limit, "usage": error.value}
    if limit is not None:
        outcome.inspect_limit = limit
        # the working-time limit is the run's budget; Inspect's cost limit is `--cost-limit`
        outcome.reason = {"working": "budget", "cost": "cost_limit"}.get(str(limit["type"]), "limit")
    elif isinstance(error, anyio.get_cancelled_exc_class()):
        outcome.reason = "cancelled"
    else:
        outcome.reason = "error"
        outcome.error = f"{type(error).__name__}: {error}"
