"""watch_run instance generator: a recorded run, half with a validated fault, some look-alikes."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from typing import Any

from rdbench.tasklib.assist import runs


def _sign(key: str, step: int, kind: str, revealed: int) -> str:
    spec = importlib.util.spec_from_file_location(
        "watch_service_sign", Path(__file__).parent / "protected" / "watch_service.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    receipt: str = module.sign(key, step, kind, revealed)
    return receipt


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance; a fault is kept only if the run visibly diverges within 30 steps."""
    rng = random.Random(seed)
    steps = int(params.get("steps", 400))
    lookalike = rng.choice([None, None, *runs.LOOKALIKES])
    fault: str | None = rng.choice(runs.FAULTS) if rng.random() < 0.5 else None
    at = rng.randrange(steps // 4, steps - 120)
    rows = runs.record(seed, steps, None, at, lookalike)
    window_start: int | None = None
    rejected: list[str] = []
    if fault is not None:
        candidates = [fault, *rng.sample([f for f in runs.FAULTS if f != fault], len(runs.FAULTS) - 1)]
        for fault in candidates:
            faulty = runs.record(seed, steps, fault, at, lookalike)
            window_start = runs.divergence(rows, faulty, at)
            if window_start is not None and window_start <= at + 30:
                rows = faulty
                break
            rejected.append(fault)  # not visible within 30 steps of its start: not a real window
        else:
            raise RuntimeError(f"no fault visible at step {at}; the fault injector is broken")
    key = f"{rng.getrandbits(128):032x}"
    label = {"fault": fault, "at": at if fault else steps, "window_start": window_start,
             "steps": steps, "lookalike": lookalike, "key": key}
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "protected" / "run.json").write_text(json.dumps(rows))
    (out / "protected" / "label.json").write_text(json.dumps(label))
    (out / "workspace" / "answer.json").write_text(json.dumps({"answered": False, "receipt": None, "evidence": ""}) + "\n")
    receipt = _sign(key, window_start, fault, window_start + 1) if fault and window_start is not None else None
    (out / "reference" / "answer.json").write_text(json.dumps({"receipt": receipt, "evidence": "reference"}) + "\n")
    return {"fault": fault, "at": label["at"], "window_start": window_start, "lookalike": lookalike,
            "rejected": rejected}
