from __future__ import annotations

import math

import pytest

from rdbench.scoring.log import ScoreEntry, ScoreLog
from rdbench.scoring.normalise import aggregate, normalise, transform_value
from rdbench.task.spec import LogOffset


def entry(i: int, value: float | None, t: float) -> ScoreEntry:
    return ScoreEntry(index=i, timestamp=0, elapsed_s=t, value=value)


def test_normalise_lower_is_better_log() -> None:
    # starting 100 ms, reference 10 ms, run 31.6 ms -> halfway in log space
    assert normalise(10 ** 1.5, 100, 10, "log") == pytest.approx(0.5)
    assert normalise(100, 100, 10, "log") == 0
    assert normalise(10, 100, 10, "log") == pytest.approx(1)
    assert normalise(1, 100, 10, "log") == pytest.approx(2)  # beating the reference goes above 1


def test_normalise_higher_and_offsets() -> None:
    assert normalise(0.75, 0.5, 1.0, "none") == pytest.approx(0.5)
    off = LogOffset(log_offset=1.0)
    assert transform_value(1.0 + math.e, off) == pytest.approx(1.0)
    assert math.isnan(transform_value(0.5, off))
    assert normalise(0.5, 3.0, 2.0, off) is None  # below the floor: undefined, not a crash
    assert normalise(None, 1, 2, "none") is None
    assert normalise(float("nan"), 1, 2, "none") is None


def test_aggregate_best_final_nan_and_time() -> None:
    log = [entry(0, 5.0, 10), entry(1, None, 20), entry(2, 3.0, 30), entry(3, 4.0, 40)]
    assert aggregate(log, "lower", "best").index == 2  # type: ignore[union-attr]
    assert aggregate(log, "higher", "best").index == 0  # type: ignore[union-attr]
    assert aggregate(log, "lower", "final").index == 3  # type: ignore[union-attr]
    assert aggregate(log, "lower", "best", until_s=25).index == 0  # type: ignore[union-attr]
    assert aggregate(log[:2], "lower", "final").value is None  # type: ignore[union-attr]
    assert aggregate([entry(0, None, 1)], "lower", "best") is None
    assert aggregate([], "lower", "best") is None


def test_score_log_persists_and_survives_torn_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "log.jsonl"
    log = ScoreLog(path)
    log.append(entry(7, 1.5, 1))
    log.append(entry(7, None, 2))
    with path.open("a") as handle:
        handle.write('{"index": 2, "timest')  # a writer killed mid-line
    again = ScoreLog(path)
    assert [e.index for e in again.entries] == [0, 1]
    assert again.entries[1].valid is False
    view = again.entries[0].for_agent(visible=False)
    assert "value" not in view and view["valid"] is True
