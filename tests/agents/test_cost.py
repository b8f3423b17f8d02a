"""Pricing: hand-computed costs, cache pricing, unknown models, RDBENCH_PRICING override."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai.model import ModelUsage

from rdbench.agents.cost import over_cost_limit, run_cost, run_tokens
from rdbench.scoring.cost import Price, load_pricing, usage_cost, usage_tokens


def test_hand_computed_cost_with_cache_reads() -> None:
    table = {"openai/gpt-x": Price(input=2.0, output=8.0, cache_read=0.5)}
    usage = {"openai/gpt-x": ModelUsage(input_tokens=1_000_000, output_tokens=500_000,
                                        total_tokens=1_500_000, input_tokens_cache_read=200_000)}
    # 800k fresh * 2 + 200k cached * 0.5 + 500k out * 8, per million
    assert usage_cost(usage, table) == pytest.approx(1.6 + 0.1 + 4.0)
    assert usage_tokens(usage) == 1_500_000


def test_short_names_and_unknown_models() -> None:
    table = {"gpt-x": Price(input=1.0, output=1.0)}
    assert usage_cost({"openai/gpt-x": ModelUsage(input_tokens=10**6, output_tokens=0)}, table) == 1.0
    assert usage_cost({"other/model": ModelUsage(input_tokens=1)}, table) is None


def test_default_table_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_pricing()["mockllm/model"].input == 0.0
    custom = tmp_path / "p.yaml"
    custom.write_text("mockllm/model: {input: 3.0, output: 4.0}\n")
    monkeypatch.setenv("RDBENCH_PRICING", str(custom))
    assert load_pricing()["mockllm/model"] == Price(input=3.0, output=4.0)


def test_a_missing_explicit_pricing_path_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a mistyped table must never mean "no prices", which would let a cost limit pass everything
    with pytest.raises(ValueError, match=r"missing\.yaml: no such file"):
        load_pricing(tmp_path / "missing.yaml")
    monkeypatch.setenv("RDBENCH_PRICING", str(tmp_path / "typo.yaml"))
    with pytest.raises(ValueError, match=r"RDBENCH_PRICING=.*typo\.yaml: no such file"):
        load_pricing()


def test_outside_a_sample_nothing_is_spent() -> None:
    assert run_tokens() == 0
    assert run_cost() == 0.0
    assert not over_cost_limit(None)
    assert not over_cost_limit(0.01)
