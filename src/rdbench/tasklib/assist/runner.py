"""Runs training scripts and confirms that an injected fault really changes behaviour.

Scripts run in-process (``exec`` in a fresh namespace with ``SEED`` set) because importing torch
dominates a subprocess run; results are cached on disk by the hash of (source, seed), so mutants
reuse the validated clean baselines of their config across instances and processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
from pathlib import Path

from pydantic import BaseModel
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

SEEDS = (0, 1, 2)


def cache_dir() -> Path:
    """Where run results are cached (``RDBENCH_ASSIST_CACHE`` overrides)."""
    default = Path.home() / ".cache" / "rdbench" / "assist"
    return Path(os.environ.get("RDBENCH_ASSIST_CACHE", default))


def run_script(source: str, seed: int) -> float | None:
    """Runs ``source`` with ``SEED=seed``; returns its ``METRIC`` or None if it crashed."""
    key = hashlib.sha256(f"{seed}\0{source}".encode()).hexdigest()
    path = cache_dir() / f"{key}.json"
    if path.exists():
        cached: float | None = json.loads(path.read_text())["metric"]
        return cached
    old = os.environ.get("SEED")
    os.environ["SEED"] = str(seed)
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        # One BLAS/OpenMP thread, like the scripts' own torch.set_num_threads(1): on a shared
        # 2-core machine extra threads only contend (a small logistic regression runs 10x slower).
        with contextlib.redirect_stdout(io.StringIO()), threadpool_limits(1):
            exec(compile(source, "train.py", "exec"), namespace)
        raw = namespace.get("METRIC")
        metric = float(raw) if isinstance(raw, (int, float)) else None
    except Exception:
        metric = None
    finally:
        if old is None:
            os.environ.pop("SEED", None)
        else:
            os.environ["SEED"] = old
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"metric": metric}))
    tmp.replace(path)
    return metric


class Validation(BaseModel):
    """Outcome of comparing a mutant with its clean script over the same seeds."""

    clean: list[float]
    mutant: list[float | None]
    kept: bool
    reason: str


def run_seeds(source: str) -> list[float | None]:
    """Runs ``source`` over the validation seeds."""
    return [run_script(source, s) for s in SEEDS]


def validate(clean_source: str, mutant_source: str, margin: float = 0.02) -> Validation:
    """Keeps a mutant only if it runs and moves the metric outside the clean runs' spread.

    Every mutant seed must land outside ``[min(clean) - margin, max(clean) + margin]``; a non-finite
    metric counts as moved (the script ran without an exception but produced garbage silently).
    """
    clean_raw = run_seeds(clean_source)
    if any(c is None or not math.isfinite(c) for c in clean_raw):
        raise RuntimeError("the clean script itself failed; the generator is broken")
    clean = [float(c) for c in clean_raw if c is not None]
    mutant = run_seeds(mutant_source)
    if any(m is None for m in mutant):
        return Validation(clean=clean, mutant=mutant, kept=False, reason="mutant crashed")
    lo, hi = min(clean) - margin, max(clean) + margin
    moved = [m is not None and (not math.isfinite(m) or m < lo or m > hi) for m in mutant]
    if all(moved):
        return Validation(clean=clean, mutant=mutant, kept=True, reason="moved on every seed")
    return Validation(clean=clean, mutant=mutant, kept=False, reason="within the clean spread")


def same_behaviour(a: list[float], b: list[float], margin: float = 0.02) -> bool:
    """Whether two scripts' per-seed metrics agree within ``margin`` on every validation seed
    (used to confirm that a restyled clean script still behaves like its canonical form)."""
    return len(a) == len(b) and all(abs(x - y) <= margin for x, y in zip(a, b, strict=True))


def clean_spread(source: str) -> list[float]:
    """The clean script's metric over the validation seeds (raises if it fails)."""
    out = run_seeds(source)
    if any(c is None for c in out):
        raise RuntimeError("the clean script failed")
    return [float(c) for c in out if c is not None]
