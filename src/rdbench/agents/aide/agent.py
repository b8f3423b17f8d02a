"""The `rdbench/aide` agent: AIDE's search loop run against the task's own scorer."""

from __future__ import annotations

import random
from pathlib import Path

from inspect_ai.agent import Agent, AgentState, agent
from inspect_ai.model import ChatMessageUser, get_model
from inspect_ai.tool import Tool, ToolFunction, tool
from inspect_ai.util import sandbox, store

from rdbench.agents.aide.journal import Journal, Node, Stage
from rdbench.agents.aide.policy import AideConfig, next_step
from rdbench.agents.aide.prompts import step_prompt
from rdbench.agents.budget import budget_message
from rdbench.agents.cost import over_cost_limit, record_cost
from rdbench.harness.context import RunContext, current_run

JOURNAL_NAME = "aide_journal.json"


@tool
def solution() -> Tool:
    async def execute(plan: str, files: dict[str, str], command: str) -> str:
        """Submit one complete solution.

        Args:
            plan: A short description of the approach.
            files: Workspace-relative path -> full file content to write.
            command: Shell command that runs the solution (may be empty).
        """
        return "recorded"

    return execute


async def _write_files(files: dict[str, str]) -> None:
    """Write a node's files, dropping their cached bytecode: a rewrite within the same second and
    of the same size would otherwise import the stale .pyc (CPython checks mtime and size)."""
    sbx = sandbox()
    for path, content in files.items():
        await sbx.write_file(path, content)
    stale = [
        str(Path(p).parent / "__pycache__" / f"{Path(p).stem}.*.pyc") for p in files if p.endswith(".py")
    ]
    if stale:
        await sbx.exec(["bash", "-c", "rm -f " + " ".join(stale)])


async def _run_node(
    run: RunContext, node_id: int, stage: Stage, parent: Node | None, args: dict[str, object], cfg: AideConfig
) -> Node:
    """Write the node's files, run its command, and score the workspace with the task's scorer."""
    raw_files = args.get("files") or {}
    files = {str(k): str(v) for k, v in raw_files.items()} if isinstance(raw_files, dict) else {}
    node = Node(
        id=node_id,
        parent=parent.id if parent else None,
        stage=stage,
        plan=str(args.get("plan", "")),
        files=files,
        command=str(args.get("command", "")),
    )
    sbx = sandbox()
    await _write_files(files)
    if node.command.strip():
        try:
            result = await sbx.exec(["bash", "-c", node.command], timeout=int(cfg.step_timeout_s))
            node.exit_code = result.returncode
            node.output = (result.stdout + result.stderr)[-20_000:]
        except TimeoutError:
            node.exit_code = 124
            node.output = f"timed out after {cfg.step_timeout_s:.0f} s"
    entry = await run.score()
    # Only what the agent may see: hidden-score tasks give validity, not the value.
    view = run.agent_view(entry)
    value = view.get("value")
    node.metric = float(value) if isinstance(value, int | float) else None
    node.valid = bool(view.get("valid", entry.valid)) if "value" not in view else entry.valid
    node.score_message = str(view.get("message", ""))
    return node


@agent(name="aide")
def aide_agent(
    num_drafts: int = 5,
    debug_prob: float = 0.5,
    max_debug_depth: int = 3,
    step_timeout_s: float = 600.0,
    max_steps: int = 100,
    seed: int = 0,
    journal_path: str | None = None,
    cost_limit: float | None = None,
) -> Agent:
    """AIDE's tree search (drafts, debugging, greedy improvement) over full solutions.

    Args:
        num_drafts: Drafts before debugging/improving starts.
        debug_prob: Probability of debugging a buggy leaf instead of improving the best node.
        max_debug_depth: Most consecutive debug steps on one line of nodes.
        step_timeout_s: Timeout of one node's command.
        max_steps: Most nodes in the journal (including resumed ones).
        seed: Seed of the search policy.
        journal_path: Journal file; default the run's host run dir. An existing journal is resumed.
        cost_limit: Stop when the run's priced model cost (USD) reaches this.
    """
    cfg = AideConfig(
        num_drafts=num_drafts,
        debug_prob=debug_prob,
        max_debug_depth=max_debug_depth,
        step_timeout_s=step_timeout_s,
        max_steps=max_steps,
        seed=seed,
    )

    async def execute(state: AgentState) -> AgentState:
        run = current_run()
        path = Path(journal_path) if journal_path else run.sandbox.host_dir / JOURNAL_NAME
        journal = Journal.load_or_new(path, run.task.spec.scoring.direction)
        # Seed with the journal's length so a resumed run does not replay the same random choices.
        rng = random.Random(cfg.seed + len(journal.nodes))
        instructions = state.messages[0].text if state.messages else run.task.instructions(run.scale)
        model = get_model()
        while len(journal.nodes) < cfg.max_steps and run.remaining_s() > 0:
            if getattr(run, "submitted", False) or over_cost_limit(cost_limit):
                break
            stage, parent = next_step(journal, cfg, rng)
            budget = budget_message(run.elapsed_s(), run.time_budget_s, cost_limit)
            prompt = ChatMessageUser(content=step_prompt(instructions, journal, stage, parent, budget))
            output = await model.generate([prompt], tools=[solution()], tool_choice=ToolFunction("solution"))
            state.messages.extend([prompt, output.message])
            calls = output.message.tool_calls or []
            args: dict[str, object] = dict(calls[0].arguments) if calls else {}
            node = await _run_node(run, journal.next_id(), stage, parent, args, cfg)
            journal.add(node)
            journal.save(path)
            store().set("aide:journal", journal.model_dump())
            record_cost()
        best = journal.best()
        if best is not None:
            # Leave the best node in the workspace: it is the run's result.
            await _write_files(best.files)
            if best.command.strip():
                await sandbox().exec(["bash", "-c", best.command], timeout=int(cfg.step_timeout_s))
            await run.score()
        store().set("aide:best", best.id if best else None)
        return state

    return execute
