"""Agent-side cost accounting: the current sample's tokens and cost, and a cost limit check."""

from __future__ import annotations

from inspect_ai.model._model import sample_model_usage

from rdbench.scoring.cost import Price, recorded_cost, usage_tokens


def run_tokens() -> int:
    """Tokens used so far by the current sample (0 outside a sample)."""
    try:
        return usage_tokens(sample_model_usage())
    except LookupError:
        return 0


def run_cost(table: dict[str, Price] | None = None) -> float | None:
    """USD cost so far of the current sample (as Inspect accounts it), None when a model has no
    price."""
    try:
        usage = sample_model_usage()
    except LookupError:
        return 0.0
    return recorded_cost(usage, table)


def over_cost_limit(limit_usd: float | None, table: dict[str, Price] | None = None) -> bool:
    """True when a cost limit is set and the current sample's priced cost has reached it."""
    if limit_usd is None:
        return False
    cost = run_cost(table)
    return cost is not None and cost >= limit_usd


def record_cost() -> None:
    """Put the current sample's tokens and cost in the sample store (key ``rdbench:cost``)."""
    from inspect_ai.util import store

    store().set("rdbench:cost", {"tokens": run_tokens(), "usd": run_cost()})
