"""Pure pricing: the dollar cost of a run's model usage from a pricing table, and the same prices
handed to Inspect so that its own cost accounting (``ModelUsage.total_cost``) and its ``cost_limit``
use them.

Lives in ``scoring`` (a lower layer) so the harness's scorer can price a run without importing
agent-level state. The table maps model names to USD per million input/output tokens.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml
from inspect_ai.model import ModelUsage
from pydantic import BaseModel

from rdbench.errors import UserError

DEFAULT_PRICING = Path(__file__).resolve().parent.parent / "agents" / "pricing.yaml"


class Price(BaseModel):
    """USD per million tokens for one model."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float | None = None


def pricing_path(path: str | Path | None = None) -> Path:
    """The pricing table in use: ``path``, else ``$RDBENCH_PRICING``, else the packaged default.

    Raises:
        ValueError: An explicit path (argument or ``$RDBENCH_PRICING``) that is not a file: a
            mistyped table must never mean "no prices".
    """
    if path is not None:
        chosen = Path(path)
        if not chosen.is_file():
            raise UserError(f"pricing table {chosen}: no such file")
        return chosen
    env = os.environ.get("RDBENCH_PRICING")
    if env:
        chosen = Path(env)
        if not chosen.is_file():
            raise UserError(f"$RDBENCH_PRICING={env}: no such file (unset it for the packaged prices)")
        return chosen
    return DEFAULT_PRICING


def load_pricing(path: str | Path | None = None) -> dict[str, Price]:
    """Load a pricing table (see :func:`pricing_path` for which one).

    Raises:
        ValueError: The file is missing (when named explicitly) or is not a table of prices.
    """
    chosen = pricing_path(path)
    try:
        raw = yaml.safe_load(chosen.read_text()) or {}
        if not isinstance(raw, dict):
            raise TypeError("the top level must be a mapping of model -> price")
        return {str(name): Price.model_validate(p) for name, p in raw.items()}
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as error:
        raise UserError(f"pricing table {chosen}: not a table of model: {{input, output}} USD per "
                         f"million tokens ({error})") from None


def _inspect_price(model: str) -> Price | None:
    """The price Inspect's model database knows for ``model`` (None for most models)."""
    try:
        from inspect_ai.model._model_info import _get_model_info_direct

        info = _get_model_info_direct(model)
    except Exception:
        return None
    if info is None or info.cost is None:
        return None
    return Price(input=info.cost.input, output=info.cost.output, cache_read=info.cost.input_cache_read)


def price_of(model: str, table: dict[str, Price] | None = None) -> Price | None:
    """A model's price: from the table (``provider/model`` or ``model``), else from Inspect's model
    database; None when neither prices it."""
    table = load_pricing() if table is None else table
    if model in table:
        return table[model]
    short = model.split("/", 1)[-1]
    if short in table:
        return table[short]
    return _inspect_price(model)


def unpriced(models: Iterable[str], table: dict[str, Price] | None = None) -> list[str]:
    """The models of ``models`` that have no price (``none``, a model-less run, needs none)."""
    table = load_pricing() if table is None else table
    return sorted({m for m in models if m and m != "none" and price_of(m, table) is None})


def register_pricing(table: dict[str, Price] | None = None, models: Iterable[str] = ()) -> None:
    """Give Inspect the table's prices (every entry, and ``models`` under their full names), so
    its own cost accounting and ``cost_limit`` price runs exactly as rdbench does."""
    from inspect_ai.model import ModelCost, ModelInfo, set_model_info
    from inspect_ai.model._model_info import _get_model_info_direct

    table = load_pricing() if table is None else table
    named = {name: price for name, price in table.items() if "/" in name}
    for model in models:
        price = price_of(model, table)
        if price is not None:
            named[model] = price
    for name, price in named.items():
        cache_read = price.input if price.cache_read is None else price.cache_read
        cost = ModelCost(input=price.input, output=price.output, input_cache_write=price.input,
                         input_cache_read=cache_read)
        known = _get_model_info_direct(name)
        set_model_info(name, ModelInfo(cost=cost) if known is None else known.model_copy(update={"cost": cost}))


def usage_cost(usage: dict[str, ModelUsage], table: dict[str, Price] | None = None) -> float | None:
    """Cost in USD of per-model usage; None if any used model has no price.

    Args:
        usage: Model name -> usage (e.g. ``sample_model_usage()`` or ``EvalSample.model_usage``).
        table: Pricing table; defaults to :func:`load_pricing`.
    """
    table = load_pricing() if table is None else table
    total = 0.0
    for model, u in usage.items():
        price = price_of(model, table)
        if price is None:
            return None
        cached = u.input_tokens_cache_read or 0
        cache_price = price.cache_read if price.cache_read is not None else price.input
        fresh_input = max(u.input_tokens - cached, 0)
        total += (fresh_input * price.input + cached * cache_price + u.output_tokens * price.output) / 1e6
    return total


def recorded_cost(usage: dict[str, ModelUsage], table: dict[str, Price] | None = None) -> float | None:
    """A sample's cost as Inspect accounted it (``ModelUsage.total_cost``, from the prices
    :func:`register_pricing` gave it), else priced with the table; None when a model has no price."""
    if usage and all(u.total_cost is not None for u in usage.values()):
        return sum(u.total_cost or 0.0 for u in usage.values())
    return usage_cost(usage, table)


def usage_tokens(usage: dict[str, ModelUsage]) -> int:
    """Total tokens across models."""
    return sum(u.total_tokens for u in usage.values())
