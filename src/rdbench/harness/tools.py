"""Inspect tools for model agents: ``score`` and ``score_log``."""

from __future__ import annotations

from inspect_ai.tool import Tool, tool

from rdbench.harness.context import ScoringUnavailable, current_run
from rdbench.harness.services import format_entry


@tool(name="score")
def score() -> Tool:
    """Score the current workspace with the task's protected scorer."""

    async def execute() -> str:
        """Score the current state of /home/agent/workspace with the task's scorer.

        Each call is logged with its time. Scoring takes a while (up to the task's scoring timeout);
        your background jobs are paused meanwhile. Returns the score and the scorer's message (or
        that the entry was recorded, when the task hides scores).
        """
        run = current_run()
        try:
            entry = await run.score(source="agent")
        except ScoringUnavailable as why:
            return str(why)
        return format_entry(run, entry)

    return execute


@tool(name="score_log")
def score_log() -> Tool:
    """Show this run's score log."""

    async def execute() -> str:
        """List every score entry of this run so far: index, working time, value and message."""
        run = current_run()
        entries = run.score_log.entries
        if not entries:
            return "no score entries yet; call the score tool"
        return "\n".join(format_entry(run, e) for e in entries)

    return execute
