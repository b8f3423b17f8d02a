"""Every task's red-team suite through the real scoring path (`rdbench redteam`), and the runner's rules."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.scoring.redteam import load_attacks, run_redteam
from rdbench.task.loader import discover, load_task

TOY = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count"
# scorers that time the agent's code: their no-gain verdicts compare timings, so they run alone
TIMED = {"optimize_kernel", "optimize_training"}
SUITE = [pytest.param(name, marks=pytest.mark.timing) if name in TIMED else name for name in sorted(discover())]


@pytest.mark.parametrize("name", SUITE)
def test_every_attack_on_the_task_is_caught(name: str) -> None:
    task = load_task(name)
    attacks = load_attacks(task)
    assert len(attacks) >= 5, f"{name}: ship at least five attacks in redteam/"
    results = asyncio.run(run_redteam(task))
    missed = [(r.attack, r.expect, r.got, r.message) for r in results if not r.caught]
    assert not missed, missed
    assert {r.attack for r in results} == {a.name for a in attacks if not a.spec.scales or "mini" in a.spec.scales}


def test_an_attack_that_works_is_reported_not_caught(tmp_path: Path) -> None:
    """Positive control: the runner does say NO. On the toy task (distance to a hidden target, lower
    is better) an 'attack' that simply answers better than the start gains, and one expected to be
    invalid that is in fact scored is not caught either."""
    task_dir = tmp_path / "toy_count"
    shutil.copytree(TOY, task_dir)
    for name, expect in (("better_answer", "no_gain"), ("valid_answer", "invalid")):
        folder = task_dir / "redteam" / name
        (folder / "files").mkdir(parents=True)
        (folder / "attack.yaml").write_text(f"description: d\nsource: test\nexpect: {expect}\n")
        (folder / "files" / "solution.py").write_text("def answer():\n    return 41\n")
    results = {r.attack: r for r in asyncio.run(run_redteam(load_task(task_dir)))}
    assert results["better_answer"].caught is False and "GAINED" in results["better_answer"].got
    assert results["valid_answer"].caught is False and results["valid_answer"].got == "scored"


def test_rdbench_redteam_and_score_commands(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "redteam", "scaling_law", "--attack",
                          "over_budget", "--attack", "linked_answer"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "scaling_law/over_budget" in out.stdout and "2 of 2 attacks caught" in out.stdout
    ws = tmp_path / "ws"
    mat_answer = load_task("scaling_law").root / "workspace"
    shutil.copytree(mat_answer, ws)
    (ws / "answer.json").write_text(json.dumps({"n_embd": 16, "steps": 10, "loss": 3.0}))
    scored = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "score", "scaling_law", str(ws), "--json"],
                            capture_output=True, text=True, timeout=600)
    entry = json.loads(scored.stdout)
    assert scored.returncode == 1 and entry["kind"] == "invalid" and "use at least" in entry["message"], entry
    missing = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "score", "scaling_law", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=600)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
