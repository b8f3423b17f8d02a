"""A person's session, scripted with pexpect: two score calls, then the clock kills the shell."""

from __future__ import annotations

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
