"""score@k records at the edges, hand-computed: k > n, ties with humans, NaN entries, final-only runs."""

from __future__ import annotations

import pytest

from rdbench.analysis.data import Point, Run
from rdbench.analysis.summary import score_at_k_records


def make(run_id: str, agent: str, points: list[tuple[float, float | None]], length: float,
         final_only: bool = False, aggregation: str = "best") -> Run:
    return Run(run_id=run_id, agent=agent, task="t", length_s=length, final_only=final_only,
               aggregation=aggregation, points=[Point(elapsed_s=e, score=s) for e, s in points])


def test_k_larger_than_n_is_the_best_run_and_its_interval_is_tight_above() -> None:
    runs = [make("a", "bot", [(600, 0.2)], 3600), make("b", "bot", [(600, 0.9), (1200, None)], 3600),
            make("c", "bot", [(100, None)], 3600)]  # only an invalid entry: the starting solution, 0
    [rec] = score_at_k_records(runs, [8 * 3600], bootstrap=300, seed=1)
    assert rec.k_budget == 8 and rec.n_runs == 3
    assert rec.k == 3  # shown as used: clipped to the three runs there are
    assert rec.score_at_k == pytest.approx(0.9)  # k clipped to n: the best of all three
    assert rec.ci_low is not None and rec.ci_high == pytest.approx(0.9)
    assert 0.0 <= rec.ci_low <= 0.9
    assert rec.human_percentile is None  # no human runs on the task


def test_tie_with_human_runs_is_a_midrank() -> None:
    runs = [make("a", "bot", [(600, 0.5)], 3600),
            make("h1", "human", [(600, 0.5)], 3600), make("h2", "human:bo", [(600, 0.5)], 3600),
            make("h3", "human", [(600, 0.1)], 3600), make("h4", "human", [(600, 0.9)], 3600)]
    recs = {r.agent: r for r in score_at_k_records(runs, [3600], bootstrap=0)}
    # below: 0.1 (1), equal: two 0.5s (half each) -> (1 + 1) / 4 = 50 %
    assert recs["bot"].human_percentile == pytest.approx(50.0)
    assert recs["human"].human_percentile is None and recs["human:bo"].human_percentile is None
    # "human" and "human:bo" are separate agents, each scored on its own runs
    assert recs["human"].score_at_k == pytest.approx((0.5 + 0.1 + 0.9) / 3)


def test_human_flag_makes_an_agent_a_baseline() -> None:
    runs = [make("a", "bot", [(600, 0.4)], 3600), make("p", "alice", [(600, 0.2)], 3600)]
    plain = {r.agent: r for r in score_at_k_records(runs, [3600], bootstrap=0)}
    assert plain["bot"].human_percentile is None
    flagged = {r.agent: r for r in score_at_k_records(runs, [3600], human_agents=["alice"], bootstrap=0)}
    assert flagged["bot"].human_percentile == pytest.approx(100.0)
    assert flagged["alice"].human_percentile is None


def test_final_only_runs_need_their_whole_length() -> None:
    runs = [make("a", "m", [(1800, 0.6)], 1800, final_only=True, aggregation="final"),
            make("b", "m", [(1800, 0.2)], 1800, final_only=True, aggregation="final"),
            make("h", "human", [(28800, 0.7)], 28800, final_only=True, aggregation="final")]
    recs = {(r.agent, r.budget_s): r for r in score_at_k_records(runs, [3600, 28800], bootstrap=0)}
    two = recs[("m", 3600)]
    assert two.k == 2 and two.score_at_k == pytest.approx(0.6)
    assert two.human_percentile is None  # the 8-hour human run has no known score at 1 h
    eight = recs[("m", 28800)]
    assert eight.k_budget == 16 and eight.k == 2 and eight.score_at_k == pytest.approx(0.6)
    assert eight.human_percentile == pytest.approx(0.0)  # below the human's 0.7
    assert ("human", 3600) not in recs and recs[("human", 28800)].score_at_k == pytest.approx(0.7)
