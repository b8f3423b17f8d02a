"""Recorded training campaigns (for report_progress): several runs sharing a few slots, some of which
diverge, stall, crash or stop early, every log line stamped on the campaign's clock.

A campaign is a list of run plans (a learning rate, a width, a training-set size, planned steps, a
speed in steps per minute and, for some, an injected fault) and a number of slots: runs start in order
as slots free up. Each run really trains a small MLP with SGD on synthetic 4-class data (one CPU
thread, deterministic in the seed) and logs its training loss every ``LOG_EVERY`` steps and its
validation loss every ``EVAL_EVERY`` steps; early stopping (patience ``PATIENCE`` evaluations) ends a
run whose validation loss stops improving. Faults: ``diverged`` (gradients grow 20 % a step from a
step on: the loss blows up and turns NaN), ``crashed`` (a traceback line, then nothing; the slot frees),
``stalled`` (the process hangs: no line after a step, the slot stays taken).

What is true at a time ``t`` (the states, the best evaluation so far, the events, the actions a
researcher would take, when the campaign ends) is computed from the recorded lines alone, with the
rule each state follows stated in :func:`truth_at`; the report_progress scorer reads it from the
instance's ``protected/truth.json``.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

LOG_EVERY = 10
EVAL_EVERY = 50
PATIENCE = 4  # evaluations without an improvement of MIN_DELTA before early stopping
MIN_DELTA = 1e-3
EVAL_MINUTES = 0.4  # an evaluation's cost on the clock
STALL_INTERVALS = 5  # a run with no line for this many of its log intervals has stalled
DIVERGED_LOSS = 5.0  # a training loss above this (or not finite) means the run diverged
EVENTS = ("diverged", "stalled", "crashed", "finished_early")
STATES = ("queued", "running", "finished", "finished_early", "diverged", "stalled", "crashed")
CRASHES = ("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
           "RuntimeError: DataLoader worker (pid 4137) is killed by signal: Killed.",
           "OSError: [Errno 28] No space left on device: 'checkpoints/last.pt'",
           "FileNotFoundError: [Errno 2] No such file or directory: 'data/shard_07.npy'")


@dataclass(frozen=True)
class RunPlan:
    """One run of a campaign (its configuration and, for some, the fault it develops)."""

    name: str
    lr: float
    width: int
    n_train: int
    steps: int
    speed: float  # steps per minute
    fault: str | None = None  # diverged | crashed | stalled | None
    fault_step: int = 0


def _line(t: float, run: str, text: str) -> dict[str, Any]:
    return {"t": round(t, 2), "run": run, "text": text}


def train(plan: RunPlan, seed: int, start: float) -> tuple[list[dict[str, Any]], float, str]:
    """Trains ``plan`` from clock time ``start``; returns its log lines, when it frees its slot
    (``inf`` for a hang) and how it ended (``finished``, ``finished_early``, ``crashed``, ``stalled``)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    jitter = random.Random(seed)
    d, k = 32, 4
    # labels from a random two-layer teacher (with 10 % noise): an MLP keeps improving on it for
    # thousands of steps, so a healthy run rarely stops early, while a small training set overfits
    x_np = rng.normal(size=(plan.n_train + 600, d))
    teacher = np.tanh(x_np @ rng.normal(size=(d, 64)) / 3) @ rng.normal(size=(64, k))
    y_all = np.where(rng.random(len(x_np)) < 0.1, rng.integers(0, k, size=len(x_np)), teacher.argmax(1))
    x_all = torch.tensor(x_np, dtype=torch.float32)
    y_t = torch.tensor(y_all)
    x_tr, y_tr, x_va, y_va = x_all[:plan.n_train], y_t[:plan.n_train], x_all[plan.n_train:], y_t[plan.n_train:]
    model = torch.nn.Sequential(torch.nn.Linear(d, plan.width), torch.nn.ReLU(), torch.nn.Linear(plan.width, plan.width),
                                torch.nn.ReLU(), torch.nn.Linear(plan.width, k))
    opt = torch.optim.SGD(model.parameters(), lr=plan.lr, momentum=0.9)
    lines = [_line(start, plan.name, f"started lr={plan.lr:g} width={plan.width} n_train={plan.n_train} "
                                     f"steps={plan.steps}")]
    t = start
    best, waited = math.inf, 0
    for step in range(1, plan.steps + 1):
        if plan.fault == "stalled" and step == plan.fault_step:
            return lines, math.inf, "stalled"
        if plan.fault == "crashed" and step == plan.fault_step:
            t += 1.0 / plan.speed
            lines.append(_line(t, plan.name, f"step={step} ERROR Traceback (most recent call last): "
                                             f"{jitter.choice(CRASHES)}"))
            return lines, t, "crashed"
        # a divergence: gradients that grow 20 % a step (a loss-scale bug), until the weights blow up
        scale = 1.2 ** (step - plan.fault_step) if plan.fault == "diverged" and step >= plan.fault_step else 1.0
        idx = torch.randint(0, plan.n_train, (32,))
        loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
        opt.zero_grad()
        (loss * scale).backward()  # type: ignore[no-untyped-call]
        opt.step()
        t += (1.0 + 0.04 * (jitter.random() - 0.5)) / plan.speed
        if step % LOG_EVERY == 0:
            lines.append(_line(t, plan.name, f"step={step} loss={loss.item():.4f} "
                                             f"steps_per_min={plan.speed * (1 + 0.04 * (jitter.random() - 0.5)):.1f}"))
        if step % EVAL_EVERY == 0:
            with torch.no_grad():
                val = float(F.cross_entropy(model(x_va), y_va))
            t += EVAL_MINUTES
            lines.append(_line(t, plan.name, f"step={step} val_loss={val:.4f}"))
            if math.isfinite(val) and val < best - MIN_DELTA:
                best, waited = val, 0
            else:
                waited += 1
            if waited >= PATIENCE and math.isfinite(best) and plan.fault != "diverged":
                lines.append(_line(t, plan.name, f"early stopping at step={step}: val_loss has not improved for "
                                                 f"{PATIENCE} evaluations (best val_loss={best:.4f})"))
                return lines, t, "finished_early"
    lines.append(_line(t, plan.name, f"finished step={plan.steps}"
                                     + (f" best val_loss={best:.4f}" if math.isfinite(best) else "")))
    return lines, t, "finished"


def record(plans: list[RunPlan], slots: int, seed: int) -> dict[str, Any]:
    """Runs the campaign: each plan starts when a slot frees up (in order). Returns the lines sorted by
    time, each run's start, end (``inf`` for a hang) and outcome, and the campaign's end (the last
    line of a run that ends)."""
    free = [0.0] * slots
    runs: dict[str, dict[str, Any]] = {}
    lines: list[dict[str, Any]] = []
    for i, plan in enumerate(plans):
        slot = min(range(slots), key=lambda j: free[j])
        start = free[slot]
        if not math.isfinite(start):
            runs[plan.name] = {"start": None, "end": None, "outcome": "queued", "plan": asdict(plan)}
            continue
        run_lines, end, outcome = train(plan, seed * 100 + i, start)
        free[slot] = end
        lines += run_lines
        runs[plan.name] = {"start": start, "end": end if math.isfinite(end) else None, "outcome": outcome,
                           "last_line": run_lines[-1]["t"], "plan": asdict(plan)}
    lines.sort(key=lambda line: (line["t"], line["run"]))
    ends = [r["end"] for r in runs.values() if r["end"] is not None]
    return {"lines": lines, "runs": runs, "end": max(ends) if ends else 0.0, "slots": slots}


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def numbers(text: str) -> list[str]:
    """The numbers written in ``text`` (as written)."""
    return _NUMBER.findall(text)


def _interval(run: dict[str, Any]) -> float:
    return LOG_EVERY / float(run["plan"]["speed"])


def truth_at(campaign: dict[str, Any], t: float) -> dict[str, Any]:
    """What a perfect observer knows at clock time ``t`` from the lines stamped ``<= t``.

    States: ``queued`` before a run's first line; ``crashed`` after an ERROR line; ``finished_early``
    after an early-stopping line; ``finished`` after its last line; ``diverged`` once a training loss is
    not finite or above ``DIVERGED_LOSS``; ``stalled`` once a running run has written nothing for
    ``STALL_INTERVALS`` of its log intervals; else ``running``. Events are the runs in the four
    anomalous states (cumulative). The best evaluation is the lowest finite ``val_loss`` seen. Actions:
    stop a diverged or stalled run, restart a crashed one. ``finish`` is when the campaign's last
    ending run ends.
    """
    seen = [line for line in campaign["lines"] if line["t"] <= t + 1e-9]
    states: dict[str, str] = {}
    best: tuple[float, str] | None = None
    for name, run in campaign["runs"].items():
        mine = [line for line in seen if line["run"] == name]
        if not mine:
            states[name] = "queued"
            continue
        texts = [line["text"] for line in mine]
        state = "running"
        for text in texts:
            loss = re.search(r"\bloss=(\S+)", text)
            if loss and (not math.isfinite(float(loss.group(1))) or float(loss.group(1)) > DIVERGED_LOSS):
                state = "diverged"
        if any("ERROR" in text for text in texts):
            state = "crashed"
        elif any(text.startswith("early stopping") for text in texts):
            state = "finished_early"
        elif state != "diverged" and any(text.startswith("finished") for text in texts):
            state = "finished"
        elif state == "running" and t - mine[-1]["t"] > STALL_INTERVALS * _interval(run) + EVAL_MINUTES:
            state = "stalled"
        states[name] = state
        for text in texts:
            val = re.search(r"\bval_loss=(\S+)", text)
            if val and "best" not in text and math.isfinite(float(val.group(1))):
                value = float(val.group(1))
                if best is None or value < best[0]:
                    best = (value, name)
    events = sorted([name, state] for name, state in states.items() if state in EVENTS)
    actions = sorted([name, "stop" if state in ("diverged", "stalled") else "restart"]
                     for name, state in states.items() if state in ("diverged", "stalled", "crashed"))
    revealed = set()
    for line in seen:
        revealed.update(numbers(line["text"]))
        revealed.add(f"{line['t']:.2f}")
    return {"t": t, "states": states, "best_run": best[1] if best else None, "best_metric": best[0] if best else None,
            "events": events, "actions": actions, "finish": campaign["end"], "revealed_numbers": sorted(revealed)}


def render(lines: list[dict[str, Any]]) -> str:
    """Log lines as the service shows them."""
    return "\n".join(f"t={line['t']:.2f} {line['run']} {line['text']}" for line in lines)
