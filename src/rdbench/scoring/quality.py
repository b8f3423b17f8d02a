"""Whether a calibration is good enough to normalise runs with (``rdbench check`` judges its own).

All figures are in normalised units (the gap between the starting solution and the reference is 1),
so one bar serves every task: ``NOISE_BAR`` = 0.1, the bar the suite's calibrations are held to
(``docs/tasks.md``): a score that moves by a tenth of that gap between two scorings of the same
solution cannot tell runs apart.
"""

from __future__ import annotations

import datetime
import math
import statistics

from pydantic import BaseModel, Field

from rdbench.scoring.normalise import Transform, normalise, transform_value
from rdbench.scoring.record import Calibration

NOISE_BAR = 0.1
LOAD_BAR = 0.5
"""Cores' worth of other work on the machine during a check above which its timings are suspect."""


class CheckQuality(BaseModel):
    """A calibration's own judgement; ``problems`` empty means it may normalise runs."""

    bar: float = NOISE_BAR
    noise: float | None = Field(
        default=None, description="pooled std of repeated scores of one solution, normalised")
    spread: float | None = Field(
        default=None, description="largest distance of a repeat from its solution's median, normalised")
    margin: float | None = Field(
        default=None, description="worst reference repeat minus best starting repeat, normalised")
    starting_vs_stored: float | None = Field(
        default=None, description="this check's starting score normalised with the stored calibration")
    reference_vs_stored: float | None = Field(
        default=None, description="this check's reference score normalised with the stored calibration")
    other_load_cores: float | None = Field(
        default=None, description="cores' worth of other processes' CPU use during the check")
    cores: int | None = None
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _span(starting: float, reference: float, transform: Transform) -> float | None:
    span = abs(transform_value(reference, transform) - transform_value(starting, transform))
    return span if math.isfinite(span) and span > 0 else None


def stored_noise(calibration: Calibration, transform: Transform) -> float | None:
    """A stored calibration's noise in normalised units (None when it was not measured)."""
    span = _span(calibration.starting, calibration.reference, transform)
    if calibration.noise is None or span is None:
        return None
    return calibration.noise / span


def _valid(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def judge(
    starting: list[list[float | None]],
    reference: list[list[float | None]],
    calibration: Calibration,
    transform: Transform,
    stored: Calibration | None = None,
    other_load_cores: float | None = None,
    cores: int | None = None,
) -> CheckQuality:
    """Judge a new calibration from its repeats (one list per instance, for the starting solution
    and the reference), against the bar and, when there is one, against the stored calibration."""
    ys, yr = calibration.starting, calibration.reference
    quality = CheckQuality(other_load_cores=other_load_cores, cores=cores)
    span = _span(ys, yr, transform)
    if span is None:
        return quality

    def norm(value: float) -> float:
        result = normalise(value, ys, yr, transform)
        return math.nan if result is None else result

    if calibration.noise is not None:
        quality.noise = calibration.noise / span
    deviations: list[float] = []
    margins: list[float] = []
    for s_values, r_values in zip(starting, reference, strict=True):
        s, r = _valid(s_values), _valid(r_values)
        for group in (s, r):
            if group:
                centre = norm(statistics.median(group))
                deviations += [abs(norm(v) - centre) for v in group]
        if s and r:
            margins.append(min(norm(v) for v in r) - max(norm(v) for v in s))
    quality.spread = max(deviations) if deviations else None
    quality.margin = min(margins) if margins else None
    bar = quality.bar
    if quality.noise is None:
        quality.warnings.append("one score per solution: the noise was not measured (use --repeats 2 or more)")
    elif quality.noise > bar:
        quality.problems.append(
            f"noise {quality.noise:.3f} is above the bar {bar}: repeated scores of one solution differ by "
            f"more than a tenth of the gap between the starting solution and the reference")
    if quality.spread is not None and quality.spread > bar:
        quality.problems.append(
            f"a repeat lies {quality.spread:.3f} from its solution's median (bar {bar})")
    if quality.margin is not None and quality.margin <= 0:
        quality.problems.append(
            f"the reference's worst repeat does not beat the starting solution's best "
            f"(margin {quality.margin:.3f})")
    if stored is not None:
        quality.starting_vs_stored = normalise(ys, stored.starting, stored.reference, transform)
        quality.reference_vs_stored = normalise(yr, stored.starting, stored.reference, transform)
        s_n, r_n = quality.starting_vs_stored, quality.reference_vs_stored
        if s_n is None or r_n is None or abs(s_n) > bar or abs(r_n - 1) > bar:
            when = datetime.datetime.fromtimestamp(stored.created).strftime("%Y-%m-%d %H:%M")
            shown = "undefined" if s_n is None or r_n is None else f"starting {s_n:+.3f}, reference {r_n:.3f}"
            quality.problems.append(
                f"this check disagrees with the stored calibration of {when}: normalised with it, "
                f"{shown} (want within {bar} of 0 and 1)")
    if other_load_cores is not None and other_load_cores > LOAD_BAR:
        busy = (f"other processes kept {other_load_cores:.1f} of {cores or '?'} cores busy during the "
                "check")
        if quality.problems:
            quality.problems.append(f"{busy}, the likely cause: re-run when the machine is idle "
                                    "(see `uptime`)")
        else:
            quality.warnings.append(f"{busy}; the figures passed, but timing tasks are best "
                                    "calibrated on an idle machine")
    return quality
