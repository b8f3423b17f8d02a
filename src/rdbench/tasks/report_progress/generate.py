"""report_progress instance generator: a recorded campaign of runs with validated anomalies, the truth
at each checkpoint, and a reference made of signed perfect updates."""

from __future__ import annotations

import importlib.util
import json
import math
import random
from pathlib import Path
from types import ModuleType
from typing import Any

from rdbench.tasklib.assist import campaign

HERE = Path(__file__).parent
ANOMALIES = ("diverged", "crashed", "stalled", "finished_early")


def _service() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_progress_service_gen", HERE / "protected" / "progress_service.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plans(rng: random.Random) -> tuple[list[campaign.RunPlan], int]:
    """A campaign's runs (4-6, on 2 or 3 slots), 1-3 of them planned to go wrong (at most one stall)."""
    n = rng.choice([4, 5, 5, 6])
    slots = rng.choice([2, 2, 3])
    anomalies = rng.sample(ANOMALIES, rng.choice([1, 2, 2, 3]))
    chosen = rng.sample(range(n), len(anomalies))
    runs = []
    for i in range(n):
        width = rng.choice([32, 64, 128])
        steps = rng.choice([300, 400, 500])
        fault = anomalies[chosen.index(i)] if i in chosen else None
        speed = round({32: 30.0, 64: 22.0, 128: 15.0}[width] * rng.uniform(0.85, 1.15), 1)
        n_train = 100 if fault == "finished_early" else 4000
        lr = rng.choice([0.005, 0.01, 0.02])
        fault_step = rng.randrange(steps // 5, steps * 4 // 5)
        runs.append(campaign.RunPlan(name=f"run-{chr(97 + i)}", lr=lr, width=width, n_train=n_train, steps=steps,
                                     speed=speed, fault=None if fault == "finished_early" else fault,
                                     fault_step=fault_step))
    return runs, slots


def checkpoints(record: dict[str, Any], count: int = 4) -> list[float]:
    """Clock times of ``count`` checkpoints: equal shares of the campaign, the last once every event
    is visible."""
    end = float(record["end"])
    last = end
    for run in record["runs"].values():
        if run["outcome"] == "stalled":  # visible once the run has been silent long enough
            interval = campaign.LOG_EVERY / run["plan"]["speed"]
            last = max(last, run["last_line"] + campaign.STALL_INTERVALS * interval + campaign.EVAL_MINUTES + 0.5)
    return [round(i / count * end, 2) for i in range(1, count)] + [round(last + 0.5, 2)]


def validate(record: dict[str, Any], run_plans: list[campaign.RunPlan], final: dict[str, Any]) -> str | None:
    """Why the recorded campaign is not a usable instance (None when it is)."""
    states = final["states"]
    for plan in run_plans:
        planned = plan.fault or ("finished_early" if plan.n_train < 1000 else None)
        if planned and record["runs"][plan.name]["outcome"] != "queued" and states[plan.name] != planned:
            return f"{plan.name} was planned to end {planned} but ended {states[plan.name]}"
    if not final["events"]:
        return "no anomaly is visible by the last checkpoint"
    if final["best_run"] is None or not any(s in ("finished", "finished_early") for s in states.values()):
        return "no run finished: nothing to compare against"
    return None


def build(seed: int, count: int = 4) -> dict[str, Any]:
    """Draws, records and validates one campaign (redrawing the plans when validation fails)."""
    rng = random.Random(seed)
    rejected = []
    for attempt in range(20):
        run_plans, slots = plans(rng)
        record = campaign.record(run_plans, slots, seed * 37 + attempt)
        times = checkpoints(record, count)
        truths = [campaign.truth_at(record, t) for t in times]
        why = validate(record, run_plans, truths[-1])
        if why is None:
            return {"plans": run_plans, "slots": slots, "record": record, "checkpoints": times, "truths": truths,
                    "rejected": rejected}
        rejected.append(why)
    raise RuntimeError(f"seed {seed}: no valid campaign in 20 draws: {rejected}")


def perfect_update(truth: dict[str, Any], n_runs: int) -> dict[str, Any]:
    """The reference's status update: the truth, with a summary whose numbers are all in the logs."""
    events = [{"run": run, "event": event} for run, event in truth["events"]]
    actions = [{"run": run, "action": action} for run, action in truth["actions"]]
    parts = []
    if truth["best_run"]:
        parts.append(f"best so far {truth['best_run']} (val_loss {truth['best_metric']:.4f})")
    parts += [f"{run} {event.replace('_', ' ')}" for run, event in truth["events"]]
    return {"runs": truth["states"], "best_run": truth["best_run"], "best_metric": truth["best_metric"],
            "expected_finish_min": round(truth["finish"], 2), "events": events, "actions": actions,
            "summary": "; ".join(parts) or "all runs healthy so far"}


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance under ``out`` (workspace/, protected/, reference/, instructions.md)."""
    inst = build(seed, int(params.get("checkpoints", 4)))
    record, times, truths = inst["record"], inst["checkpoints"], inst["truths"]
    key = f"{random.Random(seed ^ 0x5EED).getrandbits(128):032x}"
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "protected" / "campaign.json").write_text(json.dumps({"lines": record["lines"]}))
    (out / "protected" / "truth.json").write_text(json.dumps(truths))
    (out / "protected" / "label.json").write_text(json.dumps({"key": key, "checkpoints": times, "end": record["end"],
                                                              "runs": record["runs"]}, default=str))
    (out / "workspace" / "answer.json").write_text(json.dumps({"answered": False, "updates": []}) + "\n")
    service = _service()
    updates = []
    for k, (t, truth) in enumerate(zip(times, truths, strict=True), start=1):
        update = perfect_update(truth, len(inst["plans"]))
        updates.append({"receipt": service.sign(key, k, t, update), "update": update})
    (out / "reference" / "answer.json").write_text(json.dumps({"updates": updates}, indent=1) + "\n")
    rows = "\n".join(f"| {p.name} | {p.lr:g} | {p.width} | {p.n_train} | {p.steps} |" for p in inst["plans"])
    (out / "instructions.md").write_text(
        f"\n## This campaign\n\n{len(inst['plans'])} runs share {inst['slots']} slots (a run starts when a slot "
        f"frees up, in this order); {len(times)} checkpoints.\n\n| run | lr | width | n_train | planned steps |\n"
        f"|---|---|---|---|---|\n{rows}\n")
    outcomes = {name: run["outcome"] for name, run in record["runs"].items()}
    return {"runs": len(inst["plans"]), "slots": inst["slots"], "outcomes": outcomes,
            "events": [e for _, e in truths[-1]["events"]], "end": round(record["end"], 2),
            "checkpoints": times, "rejected": inst["rejected"],
            "finite": all(math.isfinite(t) for t in times)}
