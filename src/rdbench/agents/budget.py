"""Budget messages shown to agents each turn: time and tokens used, with a warning near the end."""

from __future__ import annotations

from inspect_ai.util import sample_limits

from rdbench.agents.cost import run_cost, run_tokens

WARN_FRACTION = 0.9


def budget_message(elapsed_s: float, budget_s: float, cost_limit: float | None = None) -> str:
    """The per-turn budget line (time, tokens, cost) plus a warning when little time is left."""
    tokens = run_tokens()
    try:
        limit = sample_limits().token.limit
    except RuntimeError:  # outside a running sample: no limits apply
        limit = None
    token_part = f"{tokens} tokens used" + (f" of {int(limit)}" if limit is not None else "")
    cost = run_cost()
    cost_part = f"; cost ${cost:.4f}" if cost is not None else ""
    if cost_limit is not None:
        cost_part += f" of ${cost_limit:.2f}"
    left = max(budget_s - elapsed_s, 0.0)
    text = (
        f"[budget] time used {elapsed_s / 60:.1f} of {budget_s / 60:.1f} min "
        f"({left / 60:.1f} min left); {token_part}{cost_part}."
    )
    if budget_s > 0 and elapsed_s >= WARN_FRACTION * budget_s:
        text += " WARNING: the budget is nearly spent: make sure your best solution is in place and scored."
    else:
        text += " Time remains: keep improving your score."
    return text
