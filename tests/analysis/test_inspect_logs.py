"""Reading rdbench run records from real Inspect ``.eval`` logs built with Inspect's own API.

Hand-computed normalisation (lower-is-better log tasks, log_offset, final tasks), failed integrity,
calibration noise in normalised units, extra fields tolerated, and malformed records rejected.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalSample, EvalSpec, write_eval_log
from inspect_ai.scorer import Score

from rdbench.analysis.data import AnalysisInputError, load_inputs, read_inspect_log
from rdbench.analysis.stats import score_at
from rdbench.analysis.summary import agent_task_rows, score_at_k_records
from rdbench.scoring.log import ScoreEntry
from rdbench.scoring.record import Calibration, IntegrityReport, RunRecord
from rdbench.task.spec import LogOffset


def calibration(task: str, starting: float, reference: float, noise: float | None = None) -> Calibration:
    return Calibration(task=task, task_version="1", scale="small", starting=starting, reference=reference,
                       noise=noise, fingerprint="test-machine", created=0.0)


def record(task: str, agent: str, entries: list[tuple[float, float | None]], *, direction: str = "lower",
           transform: Any = "log", aggregation: str = "best", cal: Calibration | None = None,
           ok: bool = True, budget: float = 600.0, scale: str = "mini") -> dict[str, Any]:
    log = [ScoreEntry(index=i, timestamp=1000.0 + e, elapsed_s=e, value=v) for i, (e, v) in enumerate(entries)]
    rec = RunRecord(task=task, task_version="1", scale=scale, agent=agent, direction=direction,  # type: ignore[arg-type]
                    transform=transform, aggregation=aggregation, time_budget_s=budget,  # type: ignore[arg-type]
                    working_time_s=budget, raw_score=None, normalised_score=None, calibration=cal,
                    score_log=log, integrity=IntegrityReport(ok=ok, changed=[] if ok else ["score.py"]),
                    tokens=1234, cost_usd=0.5)
    return rec.model_dump(mode="json")


def write_log(path: Path, records: list[dict[str, Any] | None]) -> Path:
    samples = []
    for i, rec in enumerate(records):
        scores = {} if rec is None else {"rdbench": Score(value=math.nan, metadata={"rdbench": rec})}
        samples.append(EvalSample(id=f"s{i}", epoch=1, input="go", target="", scores=scores))
    spec = EvalSpec(created="2026-01-01T00:00:00+00:00", task="rdbench", dataset=EvalDataset(),
                    model="mockllm/model", config=EvalConfig())
    write_eval_log(EvalLog(eval=spec, samples=samples), str(path))
    return path


def test_lower_is_better_log_task_normalised_with_recorded_calibration(tmp_path: Path) -> None:
    # t = ln; starting 100, reference 10: s = (ln y - ln 100) / (ln 10 - ln 100)
    # y = 10**1.5 -> 0.5, y = 10 -> 1.0; noise 0.1 * ln 10 in transformed units -> 0.1 normalised
    rec = record("k", "bot", [(60, 10**1.5), (120, None), (300, 10.0)], cal=calibration("k", 100, 10, 0.1 * math.log(10)))
    rec["future_field"] = {"anything": 1}  # records from a newer harness must still read
    rec["score_log"][0]["extra"] = "ignored"
    path = write_log(tmp_path / "a.eval", [rec, None])  # the second sample has no rdbench score
    [run] = read_inspect_log(path)
    assert run.agent == "bot" and run.task == "k v1" and run.length_s == 600
    assert run.model == "mockllm/model"  # a record without the field: the log's model
    assert [p.score for p in run.points] == [pytest.approx(0.5), None, pytest.approx(1.0)]
    assert run.noise == pytest.approx(0.1)
    assert run.score_calls == 3 and run.cost_usd == 0.5 and run.tokens == 1234
    assert score_at(run, 200) == pytest.approx(0.5) and score_at(run, 600) == pytest.approx(1.0)


def test_scales_and_task_model_bindings_are_separate_tasks(tmp_path: Path) -> None:
    """A full-scale run, or one with another code model, is another benchmark: never pooled with the
    mini runs; the task models' cost is read apart from the agent's."""
    mini = record("k", "bot", [(60, 10.0)], cal=calibration("k", 100, 10))
    full = record("k", "bot", [(60, 10.0)], cal=calibration("k", 100, 10), scale="full")
    coded = record("k", "bot", [(60, 10.0)], cal=calibration("k", 100, 10), scale="full")
    coded["task_models"] = {"codemodel": {"model": "openai/weak", "calls": 800}}
    coded["task_model_cost_usd"] = 0.25
    runs = read_inspect_log(write_log(tmp_path / "s.eval", [mini, full, coded]))
    assert [r.task for r in runs] == ["k v1", "k@full v1", "k@full[codemodel=openai/weak] v1"]
    assert runs[2].task_model_cost_usd == 0.25 and runs[2].cost_usd == 0.5
    rows = agent_task_rows(runs)
    assert len(rows) == 3 and all(r.n_runs == 1 for r in rows)
    assert [r.mean_task_model_cost_usd for r in rows] == [None, None, 0.25]


def test_failed_integrity_counts_as_the_starting_solution(tmp_path: Path) -> None:
    rec = record("k", "cheat", [(60, 10.0)], cal=calibration("k", 100, 10), ok=False)
    [run] = read_inspect_log(write_log(tmp_path / "b.eval", [rec]))
    assert [p.score for p in run.points] == [None]
    assert score_at(run, 600) == 0.0


def test_final_task_and_log_offset_transform(tmp_path: Path) -> None:
    # t(y) = ln(y - 1); starting 1 + e**2, reference 1 + e**0 -> s = (ln(y-1) - 2) / (0 - 2)
    cal = calibration("loss", 1 + math.e**2, 2.0)
    rec = record("loss", "bot", [(100, 1 + math.e), (200, 1 + math.e**1.5)], transform=LogOffset(log_offset=1.0),
                 aggregation="final", cal=cal)
    [run] = read_inspect_log(write_log(tmp_path / "c.eval", [rec]))
    assert [p.score for p in run.points] == [pytest.approx(0.5), pytest.approx(0.25)]
    assert score_at(run, 150) == pytest.approx(0.5)
    assert score_at(run, 600) == pytest.approx(0.25)  # final, not best


def test_folder_of_logs_to_score_at_k(tmp_path: Path) -> None:
    cal = calibration("h", 0.2, 0.8)  # higher is better, no transform: s = (y - 0.2) / 0.6
    folder = tmp_path / "logs"
    folder.mkdir()
    write_log(folder / "1.eval", [record("h", "bot", [(100, 0.5)], direction="higher", transform="none", cal=cal)])
    write_log(folder / "2.eval", [record("h", "bot", [(100, 0.8)], direction="higher", transform="none", cal=cal),
                                  record("h", "human:ann", [(500, 0.35)], direction="higher", transform="none",
                                         cal=cal)])
    messages: list[str] = []
    runs = load_inputs([folder], progress=messages.append)
    assert len(runs) == 3 and any("2 log files" in m for m in messages)
    [rec] = [r for r in score_at_k_records(runs, [600], bootstrap=0) if r.agent == "bot"]
    assert rec.k == 1 and rec.score_at_k == pytest.approx((0.5 + 1.0) / 2)
    assert rec.human_percentile == pytest.approx(100.0)  # above ann's 0.25
    rows = {r.agent: r for r in agent_task_rows(runs)}
    assert rows["human:ann"].mean_score == pytest.approx(0.25)
    assert rows["bot"].mean_cost_usd == pytest.approx(0.5)


def test_malformed_record_names_file_and_sample(tmp_path: Path) -> None:
    rec = record("k", "bot", [(60, 10.0)], cal=calibration("k", 100, 10))
    del rec["agent"]
    path = write_log(tmp_path / "bad.eval", [rec])
    with pytest.raises(AnalysisInputError, match=r"bad\.eval: sample s0: malformed rdbench record"):
        read_inspect_log(path)
