"""``rdbench report`` through the real CLI entry point: CSV inputs, hand-computed summary, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdbench.cli.main import main

CALIBRATION = "task,direction,transform,starting,reference,aggregation\nk,lower,none,10,0,final\n"
# lower is better, starting 10 -> 0, reference 0 -> 1: normalised = (10 - raw) / 10
ENTRIES = (
    "run_id,agent,task,elapsed_s,score\n"
    "a1,bot,k,600,5\na1,bot,k,1800,2\na1,bot,k,3600,8\n"  # final task: last entry 0.2, not best 0.8
    "a2,bot,k,600,4\na2,bot,k,3600,0\n"  # final 1.0
    "h1,expert,k,3600,3\n"  # 0.7
    "h2,expert,k,3600,nan\n"  # final answer invalid: the starting solution, 0
)


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    cal, entries = tmp_path / "cal.csv", tmp_path / "runs.csv"
    cal.write_text(CALIBRATION)
    entries.write_text(ENTRIES)
    return cal, entries


def test_report_cli_summary_matches_hand_computation(tmp_path: Path) -> None:
    cal, entries = write_inputs(tmp_path)
    out = tmp_path / "report"
    code = main(["report", str(entries), "--calibrations", str(cal), "--out", str(out),
                 "--budgets", "30m,1h,2h", "--human", "expert", "--bootstrap", "0"])
    assert code == 0
    for name in ("index.html", "summary.md", "summary.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert list(out.glob("*.png")), "the report draws its plots as PNG files"
    records = {(r["agent"], r["budget_s"]): r for r in json.loads((out / "summary.json").read_text())}
    assert set(records) == {("bot", 3600), ("bot", 7200), ("expert", 3600), ("expert", 7200)}
    one = records[("bot", 3600)]
    # k = 1: mean of the final scores 0.2 and 1.0; humans at 1 h score 0.7 and 0 -> midrank 50 %
    assert one["k"] == 1 and one["n_runs"] == 2 and one["score_at_k"] == pytest.approx(0.6)
    assert one["human_percentile"] == pytest.approx(50.0)
    assert one["ci_low"] is None and one["ci_high"] is None  # no bootstrap asked for
    two = records[("bot", 7200)]
    # k = 2 from n = 2: the better run, 1.0, above both human runs
    assert two["k"] == 2 and two["score_at_k"] == pytest.approx(1.0)
    assert two["human_percentile"] == pytest.approx(100.0)
    human = records[("expert", 3600)]
    assert human["score_at_k"] == pytest.approx(0.35) and human["human_percentile"] is None


def test_report_cli_bootstrap_interval_is_reproducible(tmp_path: Path) -> None:
    cal, entries = write_inputs(tmp_path)
    results = []
    for name in ("r1", "r2"):
        out = tmp_path / name
        assert main(["report", str(entries), "--calibrations", str(cal), "--out", str(out),
                     "--budgets", "1h", "--human", "expert", "--bootstrap", "200", "--seed", "7"]) == 0
        results.append(json.loads((out / "summary.json").read_text()))
    assert results[0] == results[1]
    bot = next(r for r in results[0] if r["agent"] == "bot")
    assert 0.2 <= bot["ci_low"] <= bot["score_at_k"] <= bot["ci_high"] <= 1.0


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("run_id,agent,task,elapsed_s,score\nr1,bot,k,600,1\nr1,bot,k,ten,2\n", r"bad\.csv: row 3"),
        ("run_id,agent,task,elapsed_s,score\nr1,bot,k,600,1\nr1,other,k,700,2\n", r"bad\.csv: row 3: run r1"),
    ],
)
def test_report_cli_bad_input_names_file_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, pattern: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    code = main(["report", str(bad), "--out", str(tmp_path / "out"), "--bootstrap", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    import re

    assert re.search(pattern, err), err
    assert not (tmp_path / "out" / "index.html").exists()


def test_report_cli_missing_input_and_bad_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "out")]) == 2
    assert "absent.csv: no such file" in capsys.readouterr().err
    _, entries = write_inputs(tmp_path)
    assert main(["report", str(entries), "--out", str(tmp_path / "out"), "--budgets", "soon"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
