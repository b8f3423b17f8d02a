"""Durations in the forms people write them (budgets, report horizons)."""

from __future__ import annotations

import pytest

from rdbench.task.spec import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("2h", 7200), ("90m", 5400), ("90min", 5400), ("1h30m", 5400), ("2 hours", 7200),
    ("1 hour 30 minutes", 5400), ("1.5h", 5400), ("45s", 45), ("120", 120), ("1h 30m 10s", 5410),
    ("0.5 hr", 1800), ("3 mins", 180), (600, 600),
])
def test_durations_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "h", "2h2h", "-5", "0", "abc", "30m2", "1 fortnight"])
def test_bad_durations_are_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|must be positive"):
        parse_duration(text)


def test_format_round_trips() -> None:
    assert format_duration(5410) == "1h30m10s" and parse_duration(format_duration(5410)) == 5410


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from rdbench import __version__
    from rdbench.cli.main import main

    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"rdbench {__version__}"
