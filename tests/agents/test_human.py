"""A person's session, scripted with pexpect: two score calls, then the clock kills the shell."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pexpect
from inspect_ai.log import read_eval_log

from rdbench.scoring.log import STORE_KEY

BUDGET_S = 60


def test_human_scores_twice_and_is_cut_off(tmp_path: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rdbench.cli.human", "optimize_kernel", "--budget", f"{BUDGET_S}s", "--name", "tester",
         "--log-dir", str(tmp_path)],
        encoding="utf-8", timeout=240,
    )
    child.expect("you have")
    child.expect(r"\$ ")
    for _ in range(2):
        child.sendline("score")
        child.expect(r"score #\d+ at")
        child.expect(r"\$ ")
    child.sendline("status")
    child.expect("left of")
    child.expect(r"\$ ")
    # the person keeps working; the clock must end the shell anyway
    child.sendline("sleep 1000")
    began = time.monotonic()
    child.expect("time is up: the shell was killed", timeout=BUDGET_S + 60)
    assert time.monotonic() - began < BUDGET_S + 30
    child.expect(pexpect.EOF, timeout=240)
    logs = list(tmp_path.glob("*.eval"))
    assert len(logs) == 1
    log = read_eval_log(str(logs[0]))
    assert log.status == "success"
    assert log.eval.metadata is not None and log.eval.metadata["rdbench_agent"] == "human:tester"
    sample = log.samples[0]  # type: ignore[index]
    entries = sample.store[STORE_KEY]
    assert len(entries) == 2
    assert all(e["source"] == "human" for e in entries)
    assert sample.store["rdbench:human"]["cut_off"] is True


def test_human_sees_instructions_clock_and_warnings(tmp_path: Path, toy_tasks_path: Path) -> None:
    """The person is shown the task's instructions (and can show them again), the time left in the
    prompt, and a warning at each --warn-at before the shell is cut off."""
    budget = 30
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rdbench.cli.human", "toy_count", "--budget", f"{budget}s", "--warn-at", "20s,8s",
         "--log-dir", str(tmp_path)],
        encoding="utf-8", timeout=240, env={**os.environ, "RDBENCH_TASKS_PATH": str(toy_tasks_path)},
    )
    child.expect(r"you have 30s")
    child.expect(r"Make `answer\(\)` in `solution\.py` return a number")  # the instructions
    child.expect(r"Budget: 30s on 1 CPU \(mini scale\)")  # filled in for this run
    child.expect("you are warned 20s and 8s before the end")
    child.expect(r"\[rdbench (\d+):(\d\d):(\d\d) left\] ~/workspace\$ ")
    hours, minutes, seconds = (int(g) for g in child.match.groups())
    assert hours == 0 and minutes == 0 and 15 <= seconds <= budget  # the clock, counting down
    began = time.monotonic()
    child.sendline("instructions")
    child.expect(r"Do not edit `rules\.txt`")
    child.expect(r"left\] ~/workspace\$ ")
    child.expect(r"\*\*\* rdbench: 20s left", timeout=budget + 30)
    first = time.monotonic() - began
    child.expect(r"\*\*\* rdbench: 8s left", timeout=budget + 30)
    second = time.monotonic() - began
    assert second > first  # in order, the later one later
    child.expect("time is up: the shell was killed", timeout=budget + 60)
    child.expect(pexpect.EOF, timeout=240)
    [log_file] = tmp_path.glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success" and log.samples
    assert log.samples[0].store["rdbench:human"]["cut_off"] is True
