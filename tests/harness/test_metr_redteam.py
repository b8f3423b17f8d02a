"""Attacks on a METR family's scoring: what an agent leaves in /home/agent must not change what the
family's scoring sees or reports (links, planted modules, forged results), and root-only files stay
out of its reach. Each attack runs end to end (real sandboxes, ``inspect eval``, scripted agent)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.harness.test_metr import (
    AS_ROOT,
    EXAMPLES,
    TEST_FAMILIES,
    bash,
    call,
    record_of,
    run_family,
    tool_outputs,
)

PLANTED = {
    "math.py": "def log10(x):\n    return 0.0\n",
    "json.py": "raise SystemExit('planted json imported')\n",
    "sitecustomize.py": "import os\nos.environ['PWNED'] = '1'\nraise SystemExit('sitecustomize ran')\n",
    "usercustomize.py": "raise SystemExit('usercustomize ran')\n",
    "evil.pth": "import os; os._exit(9)\n",
}


def write_files(files: dict[str, str]) -> str:
    return "; ".join(f"printf %s {quote(text)} > {name}" for name, text in files.items())


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_links_out_of_home_are_removed_for_scoring_only(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_guess", [
        bash("rm guess.txt; ln -s /root/assets/targets.json guess.txt; mkdir d; ln -s /root d/root"),
        call("score"),
        bash("readlink guess.txt; ls -la d"),
    ], tmp_path, metr_tasks="visible")
    record = record_of(sample)
    first = record["score_log"][0]
    assert first["kind"] == "invalid" and first["value"] is None  # the family read no target through it
    assert sorted(first["details"]["links_removed"]) == ["d/root", "guess.txt"]
    assert "targets" not in first["message"]
    assert "/root/assets/targets.json" in tool_outputs(sample)[2]  # the agent's own link is untouched


def test_planted_modules_and_startup_files_do_not_reach_the_scoring(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_guess", [
        bash(write_files(PLANTED) + "; echo 'export PYTHONPATH=/home/agent' >> .bashrc; "
             "mkdir -p .local/lib/python3.11/site-packages; cp evil.pth .local/lib/python3.11/site-packages/; "
             "echo 37 > guess.txt"),
        call("score"),
    ], tmp_path, metr_tasks="visible")
    entry = record_of(sample)["score_log"][0]
    assert entry["kind"] == "scored", entry
    target = entry["details"]["metr_details"]["target"]
    # the real math.log10: the planted one would make every guess perfect (0.0)
    assert entry["value"] == pytest.approx(-math.log10(1 + abs(37 - target)))
    if target != 37:
        assert entry["value"] < 0


def test_forged_results_from_the_agents_program_are_ignored(tmp_path: Path) -> None:
    forged = '@@RDBENCH_METR@@ {"ok": true, "result": {"score": 1000.0, "message": {}, "details": {}}}'
    solve = (
        "import os, sys\n"
        f"line = {forged!r}\n"
        "print(); print(line, flush=True)\n"
        "for fd in range(3, 40):\n"
        "    for pid in (os.getppid(), 1):\n"
        "        try:\n"
        "            with open(f'/proc/{pid}/fd/{fd}', 'w') as f:\n"
        "                f.write('\\n' + line + '\\n')\n"
        "        except OSError:\n"
        "            pass\n"
        "open('out.txt', 'w').write('5')\n"
        "if os.fork() == 0:\n"  # a daemon that keeps writing forged results after the program ends
        "    os.setsid()\n"
        "    import time\n"
        "    end = time.time() + 5\n"
        "    while time.time() < end:\n"
        "        try:\n"
        "            os.write(1, ('\\n' + line + '\\n').encode())\n"
        "        except OSError:\n"
        "            break\n"
        "        time.sleep(0.0005)\n"
        "    os._exit(0)\n"
    )
    sample = run_family(TEST_FAMILIES / "metr_runs_code", [
        bash(write_files({"solve.py": solve})),
        call("score"),
    ], tmp_path)
    entry = record_of(sample)["score_log"][0]
    assert entry["kind"] == "scored" and entry["value"] != 1000.0
    assert entry["value"] == -abs(5 - entry["details"]["metr_details"]["secret"])


@pytest.mark.skipif(not AS_ROOT, reason="root-only files need uid separation (rdbench run as root)")
def test_root_only_files_stay_unreadable(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_sum", [
        bash("ln checksum.secret mine 2>&1; chmod 644 checksum.secret 2>&1; cp checksum.secret c 2>&1; "
             "cat /proc/1/root/root/answer.txt 2>&1; ls /proc/*/root/root 2>&1 | head -3; echo END"),
    ], tmp_path, metr_tasks="small")
    out = tool_outputs(sample)[0]
    assert "Operation not permitted" in out  # no hard link to a file it cannot read, no chmod
    assert "Permission denied" in out and "sum=" not in out
    assert "answer" not in out.split("END")[0].replace("answer.txt", "")
