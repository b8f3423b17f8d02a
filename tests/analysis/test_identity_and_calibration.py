"""Numbers that cannot be misread, each with a hand-computed expectation: the end-of-run scoring
counts at the end of the run; runs of different models (or agent options, or task versions) are
never pooled; the agent is the one that ran; uncalibrated runs are listed, never zeroed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalSample, EvalSpec, write_eval_log
from inspect_ai.scorer import Score

from rdbench.analysis.data import load_inputs, read_inspect_log
from rdbench.analysis.report import write_report
from rdbench.analysis.stats import score_at
from rdbench.analysis.summary import agent_task_rows, score_at_k_records
from rdbench.scoring.calibration import save_calibration
from rdbench.scoring.log import ScoreEntry
from rdbench.scoring.record import Calibration, RunRecord

BUDGET = 600.0


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calibrations looked up by the report come from this test's cache only."""
    monkeypatch.setenv("RDBENCH_CACHE_DIR", str(tmp_path / "cache"))


def cal(version: str = "1", starting: float = 0.2, reference: float = 0.8) -> Calibration:
    return Calibration(task="h", task_version=version, scale="mini", starting=starting, reference=reference,
                       noise=0.006, fingerprint="fp-lab", machine={"cpu": "Lab Xeon", "cores": 8}, created=0.0)


def record(entries: list[dict[str, Any]], *, agent: str = "react", model: str | None = "openai/a",
           options: dict[str, Any] | None = None, version: str = "1", calibration: Calibration | None = None,
           aggregation: str = "best") -> dict[str, Any]:
    """A higher-is-better task 'h', no transform: normalised = (y - 0.2) / 0.6 with cal()."""
    log = [ScoreEntry(index=i, timestamp=1000.0 + e["elapsed_s"], **e) for i, e in enumerate(entries)]
    rec = RunRecord(task="h", task_version=version, scale="mini", agent=agent, agent_options=options or {},
                    model=model, machine={"fingerprint": "fp-lab", "cpu": "Lab Xeon", "cores": 8},
                    direction="higher", transform="none", aggregation=aggregation,  # type: ignore[arg-type]
                    time_budget_s=BUDGET, working_time_s=BUDGET, raw_score=None, normalised_score=None,
                    calibration=calibration, score_log=log, cost_usd=1.0)
    return rec.model_dump(mode="json")


def write_log(path: Path, records: list[dict[str, Any]], solver: str | None = None,
              solver_args: dict[str, Any] | None = None) -> Path:
    samples = [EvalSample(id=f"s{i}", epoch=1, input="go", target="",
                          scores={"rdbench": Score(value=math.nan, metadata={"rdbench": rec})})
               for i, rec in enumerate(records)]
    spec = EvalSpec(created="2026-01-01T00:00:00+00:00", task="h", dataset=EvalDataset(), model="openai/a",
                    config=EvalConfig(), solver=solver, solver_args={**(solver_args or {}), "seed": 0},
                    solver_args_passed=solver_args)
    write_eval_log(EvalLog(eval=spec, samples=samples), str(path))
    return path


def final_entry(value: float, elapsed: float = BUDGET + 45.0, duration: float = 45.0) -> dict[str, Any]:
    # the harness's end-of-run scoring: stamped after the budget (budget + the scoring's 45 s)
    return {"elapsed_s": elapsed, "value": value, "duration_s": duration, "source": "final", "kind": "scored"}


def test_a_run_whose_only_entry_is_the_end_of_run_scoring_reports_that_entry(tmp_path: Path) -> None:
    # raw 0.175: (0.175 - 0.2) / 0.6 = -0.041666...: below the starting solution, and reported so
    [run] = read_inspect_log(write_log(tmp_path / "a.eval", [record([final_entry(0.175)], calibration=cal())]))
    assert run.points[0].elapsed_s == pytest.approx(BUDGET)  # counted at the run's end
    assert score_at(run, BUDGET) == pytest.approx(-0.025 / 0.6)
    [row] = agent_task_rows([run])
    assert row.mean_score == pytest.approx(-0.0416667, abs=1e-6)
    [rec] = score_at_k_records([run], [BUDGET], bootstrap=0)
    assert rec.score_at_k == pytest.approx(-0.0416667, abs=1e-6)


def test_the_final_answer_of_a_final_task_counts_at_the_end(tmp_path: Path) -> None:
    # aggregation final (scaling_law, the families): an agent entry at 100 s (0.5 -> 0.5), then the
    # final answer 0.8 -> 1.0 scored after the budget: the run's score at its end is 1.0, not 0.5
    entries = [{"elapsed_s": 100.0, "value": 0.5, "duration_s": 2.0, "source": "agent"}, final_entry(0.8)]
    [run] = read_inspect_log(write_log(tmp_path / "f.eval", [record(entries, calibration=cal(),
                                                                     aggregation="final")]))
    assert [p.elapsed_s for p in run.points] == [pytest.approx(98.0), pytest.approx(BUDGET)]
    assert score_at(run, 300) == pytest.approx(0.5)
    assert score_at(run, BUDGET) == pytest.approx(1.0)


def test_two_models_under_one_agent_are_two_rows(tmp_path: Path) -> None:
    # model a scores 0.5 -> 0.5, model b scores 0.8 -> 1.0; pooled they would be one row at 0.75
    a = record([{"elapsed_s": 60.0, "value": 0.5}], model="openai/a", calibration=cal())
    b = record([{"elapsed_s": 60.0, "value": 0.8}], model="openai/b", calibration=cal())
    runs = read_inspect_log(write_log(tmp_path / "m.eval", [a, b]))
    rows = {r.model: r for r in agent_task_rows(runs)}
    assert set(rows) == {"openai/a", "openai/b"}
    assert rows["openai/a"].agent == rows["openai/b"].agent == "react"
    assert rows["openai/a"].mean_score == pytest.approx(0.5) and rows["openai/b"].mean_score == pytest.approx(1.0)
    records = score_at_k_records(runs, [BUDGET], bootstrap=0)
    assert sorted((r.model, r.n_runs) for r in records) == [("openai/a", 1), ("openai/b", 1)]


def test_behaviour_options_are_part_of_the_agent_and_credentials_never_shown(tmp_path: Path) -> None:
    plain = record([{"elapsed_s": 60.0, "value": 0.5}], agent="aide", calibration=cal())
    tuned = record([{"elapsed_s": 60.0, "value": 0.5}], agent="aide", calibration=cal(),
                   options={"num_drafts": 3, "cost_limit": 5, "env": {"API_KEY": "secret"}})
    runs = read_inspect_log(write_log(tmp_path / "o.eval", [plain, tuned]))
    assert [r.agent for r in runs] == ["aide", "aide[num_drafts=3]"]
    assert [r.identity for r in runs] == ["aide · openai/a", "aide[num_drafts=3] · openai/a"]
    assert len(agent_task_rows(runs)) == 2


def test_a_solver_that_replaced_the_tasks_is_the_agent(tmp_path: Path) -> None:
    # `inspect eval rdbench/h --solver rdbench/aide -S num_drafts=2`: the record says react (the
    # task's default), the log says what ran
    rec = record([{"elapsed_s": 60.0, "value": 0.5}], agent="react", calibration=cal())
    [run] = read_inspect_log(write_log(tmp_path / "s.eval", [rec], solver="rdbench/aide",
                                       solver_args={"num_drafts": 2}))
    assert run.agent == "aide[num_drafts=2]"


def test_a_version_bump_is_another_task(tmp_path: Path) -> None:
    old = record([{"elapsed_s": 60.0, "value": 0.5}], version="1", calibration=cal("1"))
    new = record([{"elapsed_s": 60.0, "value": 0.8}], version="2", calibration=cal("2"))
    runs = read_inspect_log(write_log(tmp_path / "v.eval", [old, new]))
    assert sorted(r.task for r in runs) == ["h v1", "h v2"]
    assert sorted((r.task, r.mean_score) for r in agent_task_rows(runs)) == [("h v1", pytest.approx(0.5)),
                                                                             ("h v2", pytest.approx(1.0))]


def test_an_uncalibrated_run_is_listed_not_zeroed(tmp_path: Path) -> None:
    calibrated = record([{"elapsed_s": 60.0, "value": 0.8}], calibration=cal())  # 1.0
    bare = record([{"elapsed_s": 60.0, "value": 0.2}], model="openai/b")  # no calibration anywhere
    runs = load_inputs([write_log(tmp_path / "u.eval", [calibrated, bare])], progress=lambda m: None)
    [counted] = [r for r in runs if not r.uncalibrated]
    [left] = [r for r in runs if r.uncalibrated]
    assert counted.model == "openai/a" and counted.points[0].score == pytest.approx(1.0)
    assert left.model == "openai/b" and left.fix is not None and "`rdbench check h`" in left.fix
    assert "Lab Xeon, 8 cores [fp-lab]" in left.fix  # where to run it
    out = tmp_path / "report"
    records = write_report(runs, out, [BUDGET], bootstrap=0)
    # only the calibrated run counts: mean 1.0 (with the bare run as 0 it would be 0.5)
    assert [(r.model, r.n_runs, r.score_at_k) for r in records] == [("openai/a", 1, pytest.approx(1.0))]
    summary = json.loads((out / "summary.json").read_text())
    assert all(r["model"] != "openai/b" for r in summary)
    md = (out / "summary.md").read_text()
    assert "1 uncalibrated run left out of every number" in md
    assert "- 1 run of h v1 (react · openai/b): run `rdbench check h`" in md
    html = (out / "index.html").read_text()
    assert "<code>rdbench check h</code>" in html and "`" not in html.split("<script>")[0] + html.split("</script>")[1]
    assert "**" not in html


def test_a_calibration_made_after_the_run_on_its_machine_normalises_it(tmp_path: Path) -> None:
    bare = record([{"elapsed_s": 60.0, "value": 0.5}])
    save_calibration(cal())  # `rdbench check h` on machine fp-lab, after the run
    save_calibration(cal("2", starting=0.0, reference=1.0))  # another version: must not be used
    [run] = load_inputs([write_log(tmp_path / "c.eval", [bare])], progress=lambda m: None)
    assert not run.uncalibrated
    assert run.points[0].score == pytest.approx(0.5)  # (0.5 - 0.2) / 0.6, not version 2's 0.5 / 1
    assert run.calibration is not None and "checked after the run" in run.calibration.source


def test_a_corrupt_log_is_skipped_and_the_rest_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rdbench.cli.main import main

    folder = tmp_path / "logs"
    folder.mkdir()
    write_log(folder / "good.eval", [record([{"elapsed_s": 60.0, "value": 0.8}], calibration=cal())])
    (folder / "torn.eval").write_bytes(b"PK\x03\x04 torn by a killed writer")
    code = main(["report", str(folder), "--out", str(tmp_path / "r"), "--bootstrap", "0", "--budgets", "10m"])
    captured = capsys.readouterr()
    assert code == 1  # written, but not everything was read
    [warning] = [line for line in captured.err.splitlines() if "torn.eval" in line]
    assert "warning: skipped" in warning and "not a readable Inspect log" in warning
    assert "Traceback" not in captured.err
    assert [r["n_runs"] for r in json.loads((tmp_path / "r" / "summary.json").read_text())] == [1]
    assert "1 input could not be read and was skipped" in (tmp_path / "r" / "summary.md").read_text()
