"""Who ran: the identity of an agent in records, tables and plots.

A run's agent is the agent that actually ran (its registry name; rdbench's own agents without their
``rdbench/`` prefix), the model it ran with, and those of its arguments that change how it behaves.
Runs of different models or of different behaviour-changing options are different agents and are
never pooled.
"""

from __future__ import annotations

import json
from typing import Any

IGNORED_OPTIONS = frozenset({
    "cost_limit",         # a limit, like the time budget: recorded with the run, not who ran
    "time_limit_s",
    "journal_path",       # where a journal is kept
    "port",               # plumbing of the CLI bridge
    "startup_timeout_s",
    "log_tail_chars",
    "install",
    "env",                # may hold credentials; never shown
    "name",               # the person's name: already in the agent's name (human:<name>)
    "warn_at",            # when a person is warned of the end
})
"""Agent arguments that do not change how an agent behaves (or must not be shown)."""

MAX_VALUE_CHARS = 32


def display_name(registry_name: str) -> str:
    """An agent's name as shown: rdbench's own agents without the ``rdbench/`` prefix."""
    return registry_name.removeprefix("rdbench/")


def behaviour_options(arguments: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments that change how an agent behaves, JSON-able (others are dropped)."""
    options: dict[str, Any] = {}
    for key, value in sorted((arguments or {}).items()):
        if key in IGNORED_OPTIONS or value is None:
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = repr(value)
        options[key] = value
    return options


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def agent_label(agent: str, options: dict[str, Any] | None = None) -> str:
    """``agent[key=value,...]``: the agent and its behaviour-changing options."""
    shown = behaviour_options(options)
    if not shown:
        return agent
    return f"{agent}[{','.join(f'{k}={_short(v)}' for k, v in shown.items())}]"


def identity(agent: str, options: dict[str, Any] | None, model: str | None) -> str:
    """Agent, options and model in one label: ``aide[num_drafts=3] · openai/gpt-4o``."""
    label = agent_label(agent, options)
    return label if not model or model == "none" else f"{label} · {model}"
