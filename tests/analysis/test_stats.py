"""Every formula against hand-computed examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rdbench.analysis.data import (
    AnalysisInputError,
    Point,
    Run,
    read_calibration_csv,
    read_entries_csv,
)
from rdbench.analysis.stats import (
    attempts_per_hour,
    aup,
    expected_max,
    human_cost,
    midrank_percentile,
    performance_profile,
    score_at,
    score_at_k,
)
from rdbench.analysis.summary import score_at_k_records


def run(points: list[tuple[float, float | None]], length: float = 3600, agg: str = "best",
        agent: str = "a", task: str = "t", calls: int = 0) -> Run:
    return Run(run_id=f"{agent}-{id(points)}", agent=agent, task=task, length_s=length, aggregation=agg,
               points=[Point(elapsed_s=e, score=s) for e, s in points], score_calls=calls)


def test_expected_max_without_replacement() -> None:
    assert expected_max([1, 2, 3], 1) == pytest.approx(2.0)
    assert expected_max([3, 1, 2], 2) == pytest.approx(8 / 3)  # pairs: 2, 3, 3
    assert expected_max([1, 2, 3], 3) == pytest.approx(3.0)
    assert expected_max([1, 2, 3], 7) == pytest.approx(3.0)  # k > n: the best of all runs
    assert expected_max([1, 1, 2], 2) == pytest.approx(5 / 3)  # ties: pairs 1, 2, 2
    assert np.isnan(expected_max([], 2))
    values = list(np.random.default_rng(0).normal(size=30))
    # brute force over all 4-subsets agrees with the order-statistics formula
    import itertools

    brute = np.mean([max(c) for c in itertools.combinations(values, 4)])
    assert expected_max(values, 4) == pytest.approx(brute)


def test_score_at_time_best_final_nan_truncation() -> None:
    r = run([(100, 0.2), (200, None), (300, 0.5), (400, 0.4)])
    assert score_at(r, 50) == 0.0  # nothing scored yet: the starting solution
    assert score_at(r, 250) == 0.2  # invalid entry ignored
    assert score_at(r, 1000) == 0.5  # best, not last
    final = run([(100, 0.2), (300, 0.5), (400, None)], agg="final")
    assert score_at(final, 350) == 0.5
    assert score_at(final, 500) == 0.0  # a final invalid answer is the run's answer
    short = run([(100, 0.3)], length=600)
    assert score_at(short, 3600) == 0.3  # a shorter run is not stretched: it keeps its last score


def test_score_at_k_records_budget_and_truncation() -> None:
    runs = [run([(1000, 0.2), (3000, 0.9)], length=3600), run([(1000, 0.4)], length=3600),
            run([(100, 1.0)], length=1800, agent="h", task="t"), run([(100, 0.0)], length=1800, agent="human")]
    records = {(r.agent, r.budget_s, r.run_length_s): r for r in score_at_k_records(runs, [3600, 7200], bootstrap=0)}
    one = records[("a", 3600, 3600)]
    assert one.k == 1 and one.score_at_k == pytest.approx((0.9 + 0.4) / 2)
    two = records[("a", 7200, 3600)]
    assert two.k == 2 and two.score_at_k == pytest.approx(0.9)
    assert two.human_percentile == pytest.approx(100.0)  # above the single human run (0.0)
    assert ("a", 1800, 3600) not in records  # runs longer than the budget don't fit
    assert records[("human", 3600, 1800)].human_percentile is None


def test_bootstrap_interval_brackets_the_point() -> None:
    values = list(np.random.default_rng(1).uniform(size=40))
    point, low, high = score_at_k(values, 3, bootstrap=500, seed=3)
    assert low is not None and high is not None and low <= point <= high
    assert score_at_k(values, 3, bootstrap=500, seed=3) == (point, low, high)


def test_midrank_percentile_with_ties() -> None:
    assert midrank_percentile(2, [1, 2, 2, 3]) == pytest.approx(50.0)
    assert midrank_percentile(5, [1, 2]) == 100.0
    assert midrank_percentile(0, [1, 2]) == 0.0
    assert midrank_percentile(1, []) is None


def test_attempts_cost_profiles() -> None:
    assert attempts_per_hour(run([], length=7200, calls=10)) == pytest.approx(5.0)
    assert human_cost(run([], length=8 * 3600), 231.9) == pytest.approx(1855.2)
    scores = {"x": {"t1": 1.0, "t2": 0.1}, "y": {"t1": 0.5, "t2": 1.0}}
    taus = np.array([0.0, 0.5, 1.0, 1.5])
    profiles = performance_profile(scores, taus)
    # x: ratios t1 = 1 (log 0), t2 = 10 (log 1); y: t1 = 2 (log 0.301), t2 = 1 (log 0)
    assert list(profiles["x"]) == [0.5, 0.5, 1.0, 1.0]
    assert list(profiles["y"]) == [0.5, 1.0, 1.0, 1.0]
    assert aup(profiles["x"], taus) == pytest.approx(0.5 * 0.5 + 0.75 * 0.5 + 1.0 * 0.5)


def test_csv_lower_is_better_log_normalisation_and_errors(tmp_path: Path) -> None:
    cal = tmp_path / "cal.csv"
    cal.write_text("task,direction,transform,starting,reference\nk,lower,log,100,10\n")
    entries = tmp_path / "runs.csv"
    entries.write_text("run_id,agent,task,elapsed_s,score,cost_usd\n"
                       "r1,a,k,60,31.6227766,\nr1,a,k,120,nan,\nr1,a,k,300,100,2.5\n")
    [r] = read_entries_csv(entries, read_calibration_csv(cal))
    assert [p.score for p in r.points] == [pytest.approx(0.5), None, pytest.approx(0.0)]
    assert r.cost_usd == 2.5 and r.length_s == 300 and r.score_calls == 3
    assert score_at(r, 1000) == pytest.approx(0.5)
    bad = tmp_path / "bad.csv"
    bad.write_text("run_id,agent,task,elapsed_s,score\nr1,a,k,sixty,1\n")
    with pytest.raises(AnalysisInputError, match=r"bad\.csv: row 2"):
        read_entries_csv(bad, {})
    bad.write_text("run_id,agent,task,elapsed_s,score\nr1,a,k,1,1\nr1,b,k,2,1\n")
    with pytest.raises(AnalysisInputError, match=r"row 3: run r1 changes agent"):
        read_entries_csv(bad, {})
    cal.write_text("task,direction,transform,starting,reference\nk,sideways,log,1,2\n")
    with pytest.raises(AnalysisInputError, match=r"cal\.csv: row 2: direction"):
        read_calibration_csv(cal)


def test_score_at_k_never_leaves_the_range_of_the_scores() -> None:
    """All-equal scores: the point and every bootstrap bound are exactly that score (CI once saw
    1.0000000000000004 from the float error of the weighted sum)."""
    for n in (3, 7, 11, 29):
        for k in (1, 2, 5, 40):
            point, low, high = score_at_k([1.0] * n, k, bootstrap=300, seed=7)
            assert point == low == high == 1.0, (n, k, point, low, high)
    values = [0.1, 0.3, 0.3, 0.9, 1.0, 1.0]
    point, low, high = score_at_k(values, 3, bootstrap=500, seed=1)
    assert low is not None and high is not None
    assert min(values) <= low <= point <= high <= max(values)


def test_scores_over_time_match_score_at() -> None:
    """The vectorised curve of the plots is score_at at every time, for both aggregations, invalid
    entries, ties in time and final-only runs."""
    import numpy as np

    from rdbench.analysis.data import Point, Run
    from rdbench.analysis.stats import score_at, scores_over

    rng = np.random.default_rng(3)
    grid = np.linspace(0, 1000, 97)
    for trial in range(60):
        times = np.sort(rng.choice([0.0, 100.0, 250.0, 250.0, 400.0, 999.0, 1000.0], size=rng.integers(0, 6)))
        points = [Point(elapsed_s=float(t), score=None if rng.random() < 0.3 else float(rng.normal(0.3, 0.5)))
                  for t in times]
        run = Run(run_id=str(trial), agent="a", task="t", length_s=1000.0, points=points,
                  aggregation="final" if trial % 2 else "best", final_only=trial % 7 == 0)
        assert np.allclose(scores_over(run, grid), [score_at(run, t) for t in grid]), run
