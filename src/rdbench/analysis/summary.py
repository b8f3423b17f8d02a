"""The report's numbers: score@k records, per-run tables, profiles."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, Field

from rdbench.analysis.data import Run
from rdbench.analysis.stats import (
    attempts_per_hour,
    aup,
    human_cost,
    midrank_percentile,
    performance_profile,
    score_at,
    score_at_k,
)
from rdbench.scoring.identity import identity


class Record(BaseModel):
    """One row of ``summary.json``."""

    agent: str = Field(description="the agent and its behaviour-changing options")
    model: str | None = None
    task: str
    budget_s: float
    run_length_s: float
    k: int = Field(description="runs the score is the best of, as used: floor(budget / run length), "
                   "clipped to the runs available")
    k_budget: int = Field(description="floor(budget / run length): the runs the budget pays for")
    score_at_k: float | None
    ci_low: float | None
    ci_high: float | None
    n_runs: int
    human_percentile: float | None


class AgentTaskRow(BaseModel):
    """Per agent (and model) and task: runs, mean score, cost, attempts per hour, noise."""

    agent: str
    model: str | None = None
    task: str
    n_runs: int
    mean_score: float
    run_lengths_s: list[float]
    mean_cost_usd: float | None
    mean_task_model_cost_usd: float | None = None
    mean_attempts_per_hour: float | None
    noise: float | None
    invalid_runs: int = 0
    scorer_errors: int = Field(default=0, description="score calls that failed on the scorer's side")

    @property
    def identity(self) -> str:
        return identity(self.agent, None, self.model)


def group(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs by (agent + model, task): runs of different models or options are never pooled."""
    out: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        out[(run.identity, run.task)].append(run)
    return dict(out)


def score_at_k_records(
    runs: list[Run], budgets: list[float], human_agents: Iterable[str] = (), bootstrap: int = 1000,
    seed: int = 0,
) -> list[Record]:
    """score@k for every agent, task, total budget T and run length t <= T (k = floor(T / t)).

    Run lengths are the distinct lengths of the agent's runs on the task; all the agent's runs on
    the task contribute, each truncated at t (a shorter one is not stretched). The human percentile
    compares score@k with human runs on the same task scored at T.
    """
    humans = set(human_agents)
    groups = group(runs)
    humans_by_task: dict[str, list[Run]] = defaultdict(list)
    for (_, task), members in groups.items():
        if members[0].is_human(humans):
            humans_by_task[task] += members
    records = []
    for (_, task), members in sorted(groups.items()):
        agent, model = members[0].agent, members[0].model
        is_human = members[0].is_human(humans)
        human_runs = humans_by_task.get(task, [])
        lengths = sorted({r.length_s for r in members if r.length_s > 0})
        for budget in budgets:
            # a final-only human run longer than the budget has no known score at the budget
            human_pop = [score_at(r, budget) for r in human_runs
                         if not (r.final_only and r.length_s > budget + 1e-9)]
            for length in lengths:
                if length > budget + 1e-9:
                    continue
                k = int(budget // length + 1e-9)
                pool = [r for r in members if not r.final_only or r.length_s == length]
                values = [score_at(r, length) for r in pool]
                point, low, high = score_at_k(values, k, bootstrap=bootstrap, seed=seed)
                records.append(Record(
                    agent=agent, model=model, task=task, budget_s=budget, run_length_s=length,
                    k=max(1, min(k, len(values))), k_budget=k,
                    score_at_k=point, ci_low=low, ci_high=high, n_runs=len(values),
                    human_percentile=None if is_human else midrank_percentile(point, human_pop),
                ))
    return records


def agent_task_rows(runs: list[Run]) -> list[AgentTaskRow]:
    rows = []
    for (_, task), members in sorted(group(runs).items()):
        finals = [score_at(r, r.length_s) for r in members]
        costs = [r.cost_usd for r in members if r.cost_usd is not None]
        env_costs = [r.task_model_cost_usd for r in members if r.task_model_cost_usd is not None]
        rates = [a for r in members if not r.final_only and (a := attempts_per_hour(r)) is not None]
        noises = [r.noise for r in members if r.noise is not None]
        rows.append(AgentTaskRow(
            agent=members[0].agent, model=members[0].model, task=task, n_runs=len(members),
            mean_score=statistics.fmean(finals),
            run_lengths_s=sorted({r.length_s for r in members}),
            mean_cost_usd=statistics.fmean(costs) if costs else None,
            mean_task_model_cost_usd=statistics.fmean(env_costs) if env_costs else None,
            mean_attempts_per_hour=statistics.fmean(rates) if rates else None,
            noise=statistics.fmean(noises) if noises else None,
            invalid_runs=sum(1 for r in members if r.invalid),
            scorer_errors=sum(r.scorer_errors for r in members),
        ))
    return rows


def human_costs(runs: list[Run], hourly_rate: float, human_agents: Iterable[str] = ()) -> dict[str, float]:
    """Mean cost of a human run per task at ``hourly_rate``."""
    humans = set(human_agents)
    by_task: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run.is_human(humans):
            by_task[run.task].append(human_cost(run, hourly_rate))
    return {task: statistics.fmean(v) for task, v in sorted(by_task.items())}


def profiles(runs: list[Run]) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Performance profiles over tasks of each agent's mean final score, and their AUP."""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for row in agent_task_rows(runs):
        scores[row.identity][row.task] = row.mean_score
    taus = np.linspace(0, 3, 61)
    curves = performance_profile(scores, taus)
    return taus, curves, {agent: aup(curve, taus) for agent, curve in curves.items()}
