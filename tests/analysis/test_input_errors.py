"""Unreadable or inconsistent inputs: one AnalysisInputError naming the file and row."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbench.analysis.data import (
    AnalysisInputError,
    load_inputs,
    read_calibration_csv,
    read_entries_csv,
    read_metr_jsonl,
)


def quiet(_: str) -> None:
    """Progress sink for tests."""


def test_unknown_suffix_and_missing_path(tmp_path: Path) -> None:
    odd = tmp_path / "runs.txt"
    odd.write_text("x")
    with pytest.raises(AnalysisInputError, match=r"runs\.txt: unknown input type"):
        load_inputs([odd], progress=quiet)
    with pytest.raises(AnalysisInputError, match=r"gone\.csv: no such file"):
        load_inputs([tmp_path / "gone.csv"], progress=quiet)


def test_calibration_transform_and_number_errors(tmp_path: Path) -> None:
    cal = tmp_path / "cal.csv"
    cal.write_text("task,direction,transform,starting,reference\nk,lower,sqrt,1,2\n")
    with pytest.raises(AnalysisInputError, match=r"cal\.csv: row 2: transform 'sqrt'"):
        read_calibration_csv(cal)
    cal.write_text("task,direction,transform,starting,reference\nk,lower,log,1,2\nj,higher,none,one,2\n")
    with pytest.raises(AnalysisInputError, match=r"cal\.csv: row 3"):
        read_calibration_csv(cal)
    cal.write_text("task,direction,transform,starting,reference\nk,lower,log_offset:0.5,4,1\n")
    parsed = read_calibration_csv(cal)["k"]
    assert parsed["transform"].log_offset == 0.5 and parsed["aggregation"] == "best"


def test_metr_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"run_id": "a", "task_family": "ai_rd_x", "alias": "m", "time_limit": 60, "score": 0.1}\n'
                   "\n{not json\n")
    with pytest.raises(AnalysisInputError, match=r"bad\.jsonl: line 3"):
        read_metr_jsonl(bad)
    bad.write_text('{"run_id": "a", "alias": "m", "time_limit": 60, "score": 0.1}\n')
    with pytest.raises(AnalysisInputError, match=r"bad\.jsonl: line 1"):
        read_metr_jsonl(bad)


def test_entries_csv_without_agent_column(tmp_path: Path) -> None:
    bad = tmp_path / "noagent.csv"
    bad.write_text("run_id,task,elapsed_s,score\nr1,k,1,0.5\n")
    with pytest.raises(AnalysisInputError, match=r"noagent\.csv: row 2"):
        read_entries_csv(bad, {})


def test_entries_csv_bad_cost_names_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "cost.csv"
    bad.write_text("run_id,agent,task,elapsed_s,score,cost_usd\nr1,a,k,1,0.5,1\nr1,a,k,2,0.6,cheap\n")
    with pytest.raises(AnalysisInputError, match=r"cost\.csv: row 3"):
        read_entries_csv(bad, {})


def test_calibration_rejects_unknown_aggregation(tmp_path: Path) -> None:
    cal = tmp_path / "cal.csv"
    cal.write_text("task,direction,transform,starting,reference,aggregation\nk,lower,none,10,0,bestest\n")
    with pytest.raises(AnalysisInputError, match=r"cal\.csv: row 2: aggregation"):
        read_calibration_csv(cal)
