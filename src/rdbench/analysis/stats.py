"""The formulas of rdbench's analysis (documented in docs/analysis.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rdbench.analysis.data import Run


def score_at(run: Run, t: float) -> float:
    """A run's normalised score after ``t`` seconds of working time.

    Entries with elapsed time <= t count (a longer run is truncated at t; a shorter run keeps its
    last score, it is not stretched). ``best``: the best valid entry; ``final``: the last entry.
    No valid entry means the starting solution's score, 0.
    """
    if run.final_only:
        valid = [p.score for p in run.points if p.score is not None]
        return valid[-1] if valid and run.length_s <= t + 1e-9 else 0.0
    pool = [p for p in run.points if p.elapsed_s <= t + 1e-9]
    if not pool:
        return 0.0
    if run.aggregation == "final":
        last = pool[-1].score
        return 0.0 if last is None else last
    valid = [p.score for p in pool if p.score is not None]
    return max(valid) if valid else 0.0


def scores_over(run: Run, times: np.ndarray) -> np.ndarray:
    """:func:`score_at` at many times at once (vectorised; the same values, for plots)."""
    times = np.asarray(times, dtype=float)
    if run.final_only:
        valid = [p.score for p in run.points if p.score is not None]
        last = valid[-1] if valid else 0.0
        return np.where(run.length_s <= times + 1e-9, last, 0.0)
    if not run.points:
        return np.zeros(len(times))
    at = np.array([p.elapsed_s for p in run.points])
    order = np.argsort(at, kind="stable")
    at = at[order]
    raw = np.array([np.nan if p.score is None else p.score for p in run.points])[order]
    if run.aggregation == "final":
        values = np.nan_to_num(raw, nan=0.0)  # an invalid final answer is the starting solution
    else:
        values = np.fmax.accumulate(np.where(np.isnan(raw), -np.inf, raw))
        values = np.where(np.isinf(values), 0.0, values)  # no valid entry yet: the starting solution
    index = np.searchsorted(at, times + 1e-9, side="right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)], 0.0)


def expected_max(values: Sequence[float], k: int) -> float:
    """Expected maximum of ``k`` values drawn without replacement from ``values`` (exact).

    With v_(1) <= ... <= v_(n) sorted: E[max] = sum_{i=k..n} v_(i) * C(i-1, k-1) / C(n, k).
    ``k`` larger than n is clipped to n (the best of all runs).
    """
    n = len(values)
    if n == 0:
        return math.nan
    k = max(1, min(k, n))
    ordered = np.sort(np.asarray(values, dtype=float))
    # a weighted mean of the values: clip the dot product's float error to their range
    return float(np.clip(ordered @ max_weights(n, k), ordered[0], ordered[-1]))


def max_weights(n: int, k: int) -> np.ndarray:
    """Weights w_i = C(i-1, k-1) / C(n, k) of the sorted values (i = 1..n), computed in log space."""
    i = np.arange(1, n + 1)
    weights = np.zeros(n)
    mask = i >= k
    log_c = _log_comb(i[mask] - 1, k - 1) - _log_comb(np.array([n]), k)[0]
    weights[mask] = np.exp(log_c)
    return weights


_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    """ln C(n, k), elementwise (log-gamma; no SciPy needed for this one function)."""
    n = np.asarray(n, dtype=float)
    return np.asarray(_lgamma(n + 1) - math.lgamma(k + 1) - _lgamma(n - k + 1), dtype=float)


def score_at_k(
    values: Sequence[float], k: int, bootstrap: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float | None, float | None]:
    """score@k and a bootstrap confidence interval (runs resampled with replacement)."""
    point = expected_max(values, k)
    n = len(values)
    if n < 2 or bootstrap <= 0:
        return point, None, None
    rng = np.random.default_rng(seed)
    samples = np.sort(rng.choice(np.asarray(values, dtype=float), size=(bootstrap, n), replace=True), axis=1)
    # a weighted mean of each sorted resample lies within its min and max; clip away the float error
    # of the dot product (all-1.0 resamples summed to 1.0000000000000004, above any reachable score)
    estimates = np.clip(samples @ max_weights(n, max(1, min(k, n))), samples[:, 0], samples[:, -1])
    low, high = np.quantile(estimates, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(low), float(high)


def midrank_percentile(value: float, population: Sequence[float]) -> float | None:
    """Percent of the population below ``value``, counting ties as half (midrank)."""
    if not population:
        return None
    below = sum(1 for p in population if p < value)
    ties = sum(1 for p in population if p == value)
    return 100.0 * (below + 0.5 * ties) / len(population)


def attempts_per_hour(run: Run) -> float | None:
    """Score calls per hour of working time."""
    hours = run.length_s / 3600
    return run.score_calls / hours if hours > 0 else None


def human_cost(run: Run, hourly_rate: float) -> float:
    """What a person's run costs at an hourly rate."""
    return run.length_s / 3600 * hourly_rate


def performance_profile(
    scores: dict[str, dict[str, float]], taus: np.ndarray, epsilon: float = 1e-3
) -> dict[str, np.ndarray]:
    """MLGym-style performance profiles.

    ``scores[agent][task]`` (higher is better, normalised). Per task, the ratio of agent m is
    r = best_score / score_m, scores floored at ``epsilon`` (normalised scores can be <= 0); the
    profile rho_m(tau) is the fraction of tasks with log10(r) <= tau (a missing task counts as
    never solved).
    """
    tasks = sorted({task for by_task in scores.values() for task in by_task})
    best = {t: max(max(s.get(t, -math.inf), epsilon) for s in scores.values()) for t in tasks}
    profiles = {}
    for agent, by_task in scores.items():
        ratios = np.array([
            math.log10(best[t] / max(by_task[t], epsilon)) if t in by_task else math.inf for t in tasks
        ])
        profiles[agent] = np.array([(ratios <= tau).mean() if len(tasks) else 0.0 for tau in taus])
    return profiles


def aup(profile: np.ndarray, taus: np.ndarray) -> float:
    """Area under a performance profile (trapezoidal rule over the tau grid)."""
    return float(np.trapezoid(profile, taus)) if len(taus) > 1 else 0.0
