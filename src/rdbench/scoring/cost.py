"""Pure pricing: the dollar cost of a run's model usage from a pricing table.

Lives in ``scoring`` (a lower layer) so the harness's scorer can price a run without importing
agent-level state. The table maps model names to USD per million input/output tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from inspect_ai.model import ModelUsage
from pydantic import BaseModel

DEFAULT_PRICING = Path(__file__).resolve().parent.parent / "agents" / "pricing.yaml"


class Price(BaseModel):
    """USD per million tokens for one model."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float | None = None


def load_pricing(path: str | Path | None = None) -> dict[str, Price]:
    """Load a pricing table: ``path``, else ``$RDBENCH_PRICING``, else the packaged default."""
    chosen = Path(path or os.environ.get("RDBENCH_PRICING") or DEFAULT_PRICING)
    if not chosen.exists():
        return {}
    raw = yaml.safe_load(chosen.read_text()) or {}
    return {str(name): Price.model_validate(p) for name, p in raw.items()}


def _lookup(model: str, table: dict[str, Price]) -> Price | None:
    # Inspect names models "provider/model"; tables may use either form.
    if model in table:
        return table[model]
    short = model.split("/", 1)[-1]
    return table.get(short)


def usage_cost(usage: dict[str, ModelUsage], table: dict[str, Price] | None = None) -> float | None:
    """Cost in USD of per-model usage; None if any used model has no price.

    Args:
        usage: Model name -> usage (e.g. ``sample_model_usage()`` or ``EvalSample.model_usage``).
        table: Pricing table; defaults to :func:`load_pricing`.
    """
    table = load_pricing() if table is None else table
    total = 0.0
    for model, u in usage.items():
        price = _lookup(model, table)
        if price is None:
            return None
        cached = u.input_tokens_cache_read or 0
        cache_price = price.cache_read if price.cache_read is not None else price.input
        fresh_input = max(u.input_tokens - cached, 0)
        total += (fresh_input * price.input + cached * cache_price + u.output_tokens * price.output) / 1e6
    return total


def usage_tokens(usage: dict[str, ModelUsage]) -> int:
    """Total tokens across models."""
    return sum(u.total_tokens for u in usage.values())
