"""Transforms, aggregation and normalisation of raw scores.

Normalised score = (t(y) - t(ys)) / (t(yr) - t(ys)), with t the task's transform, ys the starting
solution's score and yr the reference's: 0 = starting solution, 1 = reference. The sign of the
denominator carries the direction, so no separate flip is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from rdbench.scoring.log import ScoreEntry
from rdbench.task.spec import LogOffset

Transform = Literal["none", "log"] | LogOffset
Direction = Literal["lower", "higher"]


def transform_value(value: float, transform: Transform) -> float:
    """Apply the task's transform; values outside its domain give NaN."""
    if transform == "none":
        return value
    if transform == "log":
        return math.log(value) if value > 0 else math.nan
    shifted = value - transform.log_offset
    return math.log(shifted) if shifted > 0 else math.nan


def normalise(value: float | None, starting: float, reference: float, transform: Transform) -> float | None:
    """Normalised score of a raw value, or None when it cannot be computed.

    Args:
        value: Raw score (None or non-finite = invalid).
        starting: Raw score of the starting solution (ys).
        reference: Raw score of the reference solution (yr).
        transform: The task's transform t.
    """
    if value is None or not math.isfinite(value):
        return None
    ty, ts, tr = (transform_value(v, transform) for v in (value, starting, reference))
    if not all(math.isfinite(v) for v in (ty, ts, tr)) or tr == ts:
        return None
    return (ty - ts) / (tr - ts)


def is_better(a: float, b: float, direction: Direction) -> bool:
    """Whether raw score ``a`` beats ``b`` under the direction."""
    return a < b if direction == "lower" else a > b


def aggregate(
    entries: Sequence[ScoreEntry],
    direction: Direction,
    aggregation: Literal["best", "final"],
    until_s: float | None = None,
) -> ScoreEntry | None:
    """The entry that makes the run's score.

    ``best``: the best valid entry (direction-aware; invalid entries ignored). ``final``: the last
    entry, valid or not (a final invalid answer is the run's answer). With ``until_s``, only entries
    whose elapsed working time is at most ``until_s`` count.
    """
    pool = [e for e in entries if until_s is None or e.elapsed_s <= until_s]
    if not pool:
        return None
    if aggregation == "final":
        return pool[-1]
    best: ScoreEntry | None = None
    for entry in pool:
        if not entry.valid:
            continue
        assert entry.value is not None
        if best is None or is_better(entry.value, best.value, direction):  # type: ignore[arg-type]
            best = entry
    return best
