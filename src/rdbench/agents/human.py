"""The ``human`` baseline agent: a person works in the task's sandbox through a terminal.

The person is shown the task's instructions (the same text an agent gets; ``instructions`` shows
them again), then gets an interactive shell inside the same bwrap sandbox an agent would use, with
the ``score``, ``score-log``, ``status``, ``instructions`` and ``submit`` commands on PATH and the
time left in the prompt. Warnings come 10 minutes and 1 minute before the end. The clock is enforced
here: when the working-time budget runs out the shell's whole process tree is killed, whatever the
person is doing. The run then ends like an agent run (same setup, scorer and Inspect log), so people
and agents compare directly.
"""

from __future__ import annotations

import asyncio
import os
import time

from inspect_ai.agent import Agent, AgentState, agent
from inspect_ai.model import ChatMessageAssistant
from inspect_ai.util import sandbox

from rdbench.harness.context import current_run
from rdbench.sandbox.api import PtyShell
from rdbench.task.spec import format_duration

POLL_S = 0.02
WARN_AT_S = (600.0, 60.0)
"""Seconds before the end at which the person is warned (only those shorter than the budget)."""

# The prompt shows the time left, computed by bash itself before each prompt (no fork)
CLOCK = ("__l=$((RDBENCH_DEADLINE-EPOCHSECONDS)); ((__l<0)) && __l=0; "
         "printf -v RDBENCH_LEFT '%d:%02d:%02d' $((__l/3600)) $((__l%3600/60)) $((__l%60))")
PROMPT = "[rdbench ${RDBENCH_LEFT} left] \\w$ "


def _say(text: str) -> None:
    # straight to the terminal: Inspect may replace sys.stderr while a sample runs
    os.write(2, text.replace("\n", "\r\n").encode())


def _banner(task: str, budget_s: float, instructions: str, warn_at: list[float]) -> str:
    warnings = " and ".join(format_duration(w) for w in warn_at)
    return (
        f"\n=== rdbench: {task} — you have {format_duration(budget_s)} ({budget_s:.0f} s) of working "
        "time ===\n\n"
        f"{instructions.strip()}\n\n"
        "=== Your workspace is /home/agent/workspace (the shell starts there). Commands: score (score "
        "your workspace), score-log, status (time left), instructions (show the text above again), "
        "submit (end now). The prompt shows the time left"
        + (f"; you are warned {warnings} before the end" if warnings else "")
        + ". The shell is closed when the time is up; exit the shell to end early. ===\n"
    )


def _warning(left_s: float) -> str:
    return (f"\n*** rdbench: {format_duration(left_s)} left: the shell is closed when the time is up; "
            "make sure your best solution is in place and scored (`score`). ***\n")


@agent(name="human")  # Inspect prefixes the package: rdbench/human
def human(name: str | None = None, warn_at: list[float] | None = None) -> Agent:
    """A person at a terminal does the task inside the sandbox, against the enforced budget.

    Args:
        name: The person's name; only recorded (the harness's ``agent_name`` is ``human:<name>``).
        warn_at: Seconds before the end at which to warn (default 600 and 60); those not shorter
            than the budget are dropped.
    """
    thresholds = sorted(WARN_AT_S if warn_at is None else warn_at, reverse=True)

    async def execute(state: AgentState) -> AgentState:
        run = current_run()
        began = time.monotonic()
        budget = run.time_budget_s
        pending = [w for w in thresholds if 0 < w < budget]
        instructions = run.instructions or next((m.text for m in state.messages if m.role == "user"), "")
        _say(_banner(run.task.name, budget, instructions, pending))
        deadline = time.time() + min(run.remaining_s(), budget)
        # Inspect's connection mechanism: the sandbox says how to open a shell inside it
        clock = {"RDBENCH_DEADLINE": str(int(deadline)), "PROMPT_COMMAND": CLOCK, "PS1": PROMPT}
        shell = PtyShell((await sandbox().connection()).command, extra_env=clock)
        cut_off = False
        try:
            while shell.alive():
                left = min(run.remaining_s(), budget - (time.monotonic() - began))
                if left <= 0:
                    cut_off = True
                    break
                while pending and left <= pending[0]:
                    _say(_warning(pending.pop(0)))
                if run.submitted:
                    break
                shell.pump()
                await asyncio.sleep(POLL_S)
            shell.pump()
        finally:
            shell.kill()
            while shell.alive():  # a score call may have the sandbox frozen: let it finish
                await asyncio.sleep(POLL_S)
                shell.kill()
            shell.close()
        used = time.monotonic() - began
        how = "time is up: the shell was killed" if cut_off else (
            "submitted" if run.submitted else "the shell exited")
        _say(f"\n=== rdbench: {how} after {used:.0f} s ===\n")
        who = f"human:{name}" if name else "human"
        state.messages.append(ChatMessageAssistant(
            content=f"{who} worked {used:.1f} s in a terminal ({how}); "
            f"{len(run.score_log.entries)} score calls.",
            source="generate",
        ))
        if run.store is not None:
            run.store.set("rdbench:human", {"cut_off": cut_off, "used_s": used,
                                            "submitted": run.submitted, "name": who})
        return state

    return execute
