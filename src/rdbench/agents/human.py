"""The ``human`` baseline agent: a person works in the task's sandbox through a terminal.

The person gets an interactive shell inside the same bwrap sandbox an agent would use, with the
``score``, ``score-log``, ``status`` and ``submit`` commands on PATH. The clock is enforced here:
when the working-time budget runs out the shell's whole process tree is killed, whatever the person
is doing. The run then ends like an agent run (same setup, scorer and Inspect log), so people and
agents compare directly.
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

POLL_S = 0.02


def _say(text: str) -> None:
    # straight to the terminal: Inspect may replace sys.stderr while a sample runs
    os.write(2, text.replace("\n", "\r\n").encode())


def _banner(task: str, budget_s: float) -> str:
    return (
        f"\n=== rdbench: {task} — you have {budget_s:.0f} s of working time ===\n"
        "Commands: score (score your workspace), score-log, status (time left), submit (end now).\n"
        "The shell is closed when the time is up; exit the shell to end early.\n"
    )


@agent(name="human")  # Inspect prefixes the package: rdbench/human
def human(name: str | None = None) -> Agent:
    """A person at a terminal does the task inside the sandbox, against the enforced budget.

    Args:
        name: The person's name; only recorded (the harness's ``agent_name`` is ``human:<name>``).
    """

    async def execute(state: AgentState) -> AgentState:
        run = current_run()
        _say(_banner(run.task.name, run.time_budget_s))
        began = time.monotonic()
        # Inspect's connection mechanism: the sandbox says how to open a shell inside it
        shell = PtyShell((await sandbox().connection()).command)
        cut_off = False
        try:
            while shell.alive():
                if run.remaining_s() <= 0 or time.monotonic() - began >= run.time_budget_s:
                    cut_off = True
                    break
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
