"""rdbench's react research agent: Inspect's react loop with budget messages, background jobs,
compaction, and no early submit (it keeps improving while budget remains)."""

from __future__ import annotations

from inspect_ai.agent import Agent, AgentState, agent, react
from inspect_ai.model import CompactionAuto
from inspect_ai.tool import Tool, bash, python, tool
from inspect_ai.util import sandbox

from rdbench.agents.budget import budget_message
from rdbench.agents.cost import over_cost_limit, record_cost
from rdbench.harness.context import current_run
from rdbench.harness.prompts import research_prompt
from rdbench.harness.tools import score, score_log

JOBS = "/tmp/jobs"

SYSTEM = (
    "You are doing an ML research engineering task in a sandbox. Use bash and python to work, "
    "`score` to measure your current solution (you may score as often as you like) and `score_log` "
    "to see past scores. Run long commands with bash_background and poll them. You have a time "
    "budget: keep improving your score until it is spent; your best valid score counts."
)


def _job_ref(job_id: str) -> str:
    """Shell expression for a job id: digits only (no injection), or ``last`` for the newest job."""
    if job_id.strip() == "last":
        return f"$(ls -t {JOBS}/*.sh 2>/dev/null | head -1 | xargs -r basename | cut -d. -f1)"
    return "".join(c for c in job_id if c.isdigit()) or "none"


@tool
def bash_background() -> Tool:
    async def execute(cmd: str) -> str:
        """Start a long shell command in the background; returns a job id to poll.

        Args:
            cmd: The shell command to run.
        """
        # The id is set in this shell; only the job itself is backgrounded (setsid: survives the call).
        script = (
            f"mkdir -p {JOBS}; id=$(date +%s%N); printf '%s' \"$1\" > {JOBS}/$id.sh; "
            f"setsid nohup bash -c 'bash {JOBS}/'$id'.sh > {JOBS}/'$id'.out 2>&1; "
            f"echo $? > {JOBS}/'$id'.rc' >/dev/null 2>&1 < /dev/null & echo $id"
        )
        result = await sandbox().exec(["bash", "-c", script, "_", cmd])
        return result.stdout.strip() if result.success else f"failed: {result.stderr}"

    return execute


@tool
def job_status() -> Tool:
    async def execute(job_id: str) -> str:
        """Whether a background job is running or finished (with its exit code).

        Args:
            job_id: The id returned by bash_background, or "last".
        """
        jid = _job_ref(job_id)
        result = await sandbox().exec(
            ["bash", "-c", f"jid={jid}; if [ -f {JOBS}/$jid.rc ]; then echo finished rc=$(cat {JOBS}/$jid.rc); "
             f"elif [ -f {JOBS}/$jid.sh ]; then echo running; else echo unknown job; fi"]
        )
        return result.stdout.strip()

    return execute


@tool
def job_output() -> Tool:
    async def execute(job_id: str, tail: int = 50) -> str:
        """The last lines of a background job's output.

        Args:
            job_id: The id returned by bash_background, or "last".
            tail: How many lines from the end.
        """
        jid = _job_ref(job_id)
        result = await sandbox().exec(["bash", "-c", f"jid={jid}; tail -n {int(tail)} {JOBS}/$jid.out 2>&1"])
        return result.stdout

    return execute


@agent(name="react")
def research_agent(
    cost_limit: float | None = None,
    compaction_threshold: int | float = 0.8,
    command_timeout: int = 600,
) -> Agent:
    """The react research agent.

    Args:
        cost_limit: Stop when the run's priced model cost (USD) reaches this.
        compaction_threshold: Fraction of the model's context window (a float up to 1) or a token
            count (an int) at which the conversation is compacted (Inspect's CompactionAuto).
        command_timeout: Timeout of one bash/python call in seconds (use bash_background for longer).
    """

    async def on_continue(state: AgentState) -> bool | str:
        # Each turn the model sees its budget; the loop ends only when time or cost is spent.
        try:
            run = current_run()
        except RuntimeError:
            return True
        record_cost()
        if run.remaining_s() <= 0 or getattr(run, "submitted", False):
            return False
        if over_cost_limit(cost_limit):
            return False
        return budget_message(run.elapsed_s(), run.time_budget_s, cost_limit)

    return react(
        name="rdbench_react",
        prompt=research_prompt(SYSTEM),
        tools=[
            bash(timeout=command_timeout),
            python(timeout=command_timeout),
            score(),
            score_log(),
            bash_background(),
            job_status(),
            job_output(),
        ],
        submit=False,
        on_continue=on_continue,
        compaction=CompactionAuto(threshold=compaction_threshold),
    )
