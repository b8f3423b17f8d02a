"""System prompts of the agents that work on rdbench tasks, matching the tools they are given.

Inspect's ``react`` adds its default assistant prompt ("attempting to submit the best possible
answer") to a plain string prompt; rdbench's runs have no submit tool (the run ends when its time or
cost is spent), so the prompts here replace it with one that says how a run ends.
"""

from __future__ import annotations

from inspect_ai.agent import AgentPrompt

WORKING = (
    "You have several tools; you see each tool call's result right after your message. Reason "
    "briefly before acting: say which tool calls you will make and how they fit your plan. There is "
    "no submit tool and nothing to hand in: the run ends when its time budget is spent, and what "
    "counts is in your scores (see `score_log`)."
)

DEFAULT_INSTRUCTIONS = (
    "You are doing an ML research engineering task in a sandbox. Use bash and python to work, "
    "`score` to measure your current solution (you may score as often as you like) and `score_log` "
    "to see past scores. Keep improving your score until the time budget is spent."
)


def research_prompt(instructions: str = DEFAULT_INSTRUCTIONS) -> AgentPrompt:
    """The system prompt: ``instructions`` plus how a run without a submit tool ends."""
    return AgentPrompt(instructions=instructions, assistant_prompt=WORKING, submit_prompt=None)
