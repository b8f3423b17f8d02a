"""``rdbench run --pricing FILE --cost-limit USD -S KEY=VALUE``: a custom pricing table prices the
run (log and output), the cost limit stops rdbench's react agent, agent arguments are parsed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log

from rdbench.cli.main import main
from rdbench.cli.run import parse_agent_args
from rdbench.scoring.cost import DEFAULT_PRICING

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"
PRICE = 5.0  # USD per million tokens, in and out: a react turn on toy_count costs about $0.006


@pytest.fixture(autouse=True)
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    # `--pricing` sets $RDBENCH_PRICING for the process: setenv (not delenv, which records nothing
    # when the variable is absent) makes monkeypatch restore the original state after each test
    monkeypatch.setenv("RDBENCH_PRICING", str(DEFAULT_PRICING))


@pytest.mark.slow
def test_pricing_file_prices_the_run_and_cost_limit_stops_react(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pricing = tmp_path / "prices.yaml"
    pricing.write_text(f"mockllm/model: {{input: {PRICE}, output: {PRICE}}}\n")
    limit = 0.02
    code = main(["run", "toy_count", "--model", "mockllm/model", "--budget", "5m", "--pricing",
                 str(pricing), "--cost-limit", str(limit), "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    [log_file] = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.samples
    sample = log.samples[0]
    calls = [e for e in sample.events if e.event == "model"]
    # priced with the file (the packaged table prices mockllm at $0): tokens * PRICE / 1e6
    tokens = sum(u.total_tokens for u in sample.model_usage.values())
    expected = tokens * PRICE / 1e6
    record = (sample.scores or {})["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["cost_usd"] == pytest.approx(expected)
    printed = re.search(r"cost \$([0-9.]+)", out)
    assert printed and float(printed.group(1)) == pytest.approx(expected, abs=1e-4), out
    # the limit ended the run: spent past it, and not before the last model call
    assert expected >= limit
    before_last = sum(e.output.usage.total_tokens for e in calls[:-1] if e.output.usage) * PRICE / 1e6
    assert before_last < limit, (before_last, len(calls))
    assert 2 <= len(calls) < 10


def test_bad_pricing_files_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- not a table\n")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("mockllm/model: {input: lots}\n")
    for path, message in [(tmp_path / "missing.yaml", "no such file"), (listed, "not a pricing table"),
                          (wrong, "not a pricing table")]:
        code = main(["run", "toy_count", "--model", "mockllm/model", "--pricing", str(path)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, err
    code = main(["run", "toy_count", "--model", "mockllm/model", "--cost-limit", "0"])
    assert code == 2 and "--cost-limit must be a positive" in capsys.readouterr().err


def test_agent_args_are_yaml_values() -> None:
    args = parse_agent_args(["command=my-agent --fast", "install=[/a, /b]", "time_limit_s=5",
                             "env={X: '1'}", "preset=codex"])
    assert args == {"command": "my-agent --fast", "install": ["/a", "/b"], "time_limit_s": 5,
                    "env": {"X": "1"}, "preset": "codex"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_agent_args(["no-equals-sign"])


def test_unknown_agent_argument_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "toy_count", "--model", "mockllm/model", "--agent", "cli", "-S", "preset=nope"])
    assert code == 2 and "unknown rdbench/cli preset" in capsys.readouterr().err
