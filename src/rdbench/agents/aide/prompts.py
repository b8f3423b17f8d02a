"""Prompts for AIDE's three stages. The model answers with one `solution` tool call."""

from __future__ import annotations

from rdbench.agents.aide.journal import Journal, Node, Stage

INTRO = (
    "You are an ML research engineer solving the task below by tree search. Each step you write a "
    "complete solution: a plan, the files to write into the workspace (path -> full content) and a "
    "shell command that runs it. The task's own scorer then measures the workspace. Answer by "
    "calling the `solution` tool."
)

STAGE_TEXT: dict[Stage, str] = {
    "draft": "Write a new, simple first solution (a draft) different from earlier drafts.",
    "debug": "The previous solution below failed or scored invalid. Fix the bug; keep the approach.",
    "improve": "The solution below is the best so far. Make one atomic improvement to raise its score.",
}


def _describe(node: Node, output_chars: int = 2000) -> str:
    files = "\n".join(f"--- {path}\n{content}" for path, content in node.files.items())
    return (
        f"Plan: {node.plan}\nCommand: {node.command}\nFiles:\n{files}\n"
        f"Exit code: {node.exit_code}\nOutput (tail):\n{node.output[-output_chars:]}\n"
        f"Score: {node.metric if node.metric is not None else ('valid' if node.valid else 'invalid')}"
        f" {node.score_message}"
    )


def step_prompt(
    instructions: str, journal: Journal, stage: Stage, parent: Node | None, budget: str
) -> str:
    """The user message for one step."""
    parts = [INTRO, f"# Task\n{instructions}", f"# Budget\n{budget}", f"# This step\n{STAGE_TEXT[stage]}"]
    if stage == "draft" and journal.drafts:
        plans = "\n".join(f"- {n.plan}" for n in journal.drafts)
        parts.append(f"# Earlier drafts (do something different)\n{plans}")
    if parent is not None:
        parts.append(f"# Parent solution (node {parent.id})\n{_describe(parent)}")
    return "\n\n".join(parts)
