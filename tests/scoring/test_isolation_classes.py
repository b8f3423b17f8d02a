"""The hole classes of scorers, tested against the mechanism (the toy task's scorer on the toolkit).

Each test is an attack that worked against the scorers before the toolkit, run through the real
scoring sandbox: per-call secrets read through the process table, a checked file swapped for a link
before its use, and the guard over every way a scorer can start a process.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task

TOY = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count"


@pytest.fixture(scope="module")
def toy() -> tuple[Materialized, Path]:
    task = load_task(TOY)
    return materialize(task, "mini"), ensure_environment(task.spec.environment)


def workspace_with(tmp_path: Path, mat: Materialized, files: dict[str, str]) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(mat.workspace, ws)
    for name, text in files.items():
        (ws / name).write_text(text)
    return ws


def score(toy: tuple[Materialized, Path], ws: Path, seed: int | None = None) -> ScoreResult:
    mat, env = toy
    return asyncio.run(score_workspace(mat, ws, env, seed=seed))


PROBE_SECRETS = r"""
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done
cat /opt/rdbench/call/params.json 2>&1
env
echo PIDS: $(ls /proc | grep -E '^[0-9]+$' | tr '\n' ' ')
"""


def test_the_agents_code_cannot_read_the_calls_seed(toy: tuple[Materialized, Path], tmp_path: Path) -> None:
    seed = 1234567891
    result = score(toy, workspace_with(tmp_path, toy[0], {"probe.sh": PROBE_SECRETS}), seed=seed)
    assert result.kind == "scored", result
    probe = result.details["probe"]
    assert result.details["seed"] == seed  # the scorer got it ...
    assert str(seed) not in probe  # ... no process table, environment or file shown to the probe has it
    assert "PIDS:" in probe and "probe.sh" in probe  # it did read the process table: its own command
    assert "shim.py" not in probe and "score.py" not in probe  # but not the scorer's
    # its own pid namespace: a handful of its own processes, not the scorer's
    pids = probe.split("PIDS:")[1].split()
    assert 1 <= len(pids) <= 6, pids


def test_a_checked_file_swapped_for_a_link_is_refused_at_use(toy: tuple[Materialized, Path], tmp_path: Path) -> None:
    swap = 'rm answer.txt; ln -s "$1/secret.txt" answer.txt\n'
    ws = workspace_with(tmp_path, toy[0], {"answer.txt": "42", "toctou.sh": swap})
    result = score(toy, ws)
    toctou = result.details["toctou"]
    assert toctou["naive_read_leaks"] is True  # the attack is real: a plain read follows the link
    assert "toolkit_read" not in toctou and "links are refused" in toctou["toolkit_refused"]


def test_every_way_to_start_a_process_is_sandboxed(toy: tuple[Materialized, Path], tmp_path: Path) -> None:
    """subprocess, os.system, os.posix_spawn, os.exec* and multiprocessing from a scorer all land in a
    nested sandbox that cannot see protected/ (a scorer written without the toolkit's helpers)."""
    task_dir = tmp_path / "toy_count"
    shutil.copytree(TOY, task_dir)
    (task_dir / "protected" / "score.py").write_text(GUARD_SCORER)
    task = load_task(task_dir)
    mat = materialize(task, "mini")
    result = asyncio.run(score_workspace(mat, mat.workspace, toy[1]))
    assert result.kind == "scored", result
    seen = result.details
    assert seen["scorer_sees"] is True
    for way in ("subprocess", "system", "posix_spawn", "execv", "multiprocessing"):
        assert seen["protected"][way] == "hidden", (way, seen)
        assert seen["control"][way] == "visible", (way, seen)  # the probe can tell


GUARD_SCORER = r'''
import multiprocessing
import os
import shutil
import subprocess
import sys

import rdbench_scorer as rs

PROBE = "import os, sys; print('visible' if os.path.exists(sys.argv[1] + '/secret.txt') else 'hidden')"


def probes(folder, shared):
    out = {}
    out["subprocess"] = subprocess.run([sys.executable, "-c", PROBE, folder], capture_output=True,
                                       text=True).stdout.strip()
    flag = f"{shared}/system-flag"
    os.system(f"test -e {folder}/secret.txt && echo visible > {flag} || echo hidden > {flag}")
    out["system"] = open(flag).read().strip() if os.path.exists(flag) else "no flag"
    read, write = os.pipe()
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", PROBE, folder], dict(os.environ),
                         file_actions=[(os.POSIX_SPAWN_DUP2, write, 1)])
    os.close(write)
    os.waitpid(pid, 0)
    out["posix_spawn"] = os.read(read, 100).decode().strip()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.dup2(write, 1)
        os.execv(sys.executable, [sys.executable, "-c", PROBE, folder])
    os.close(write)
    os.waitpid(child, 0)
    out["execv"] = os.read(read, 100).decode().strip()
    # a spawned child cannot import the scorer's module (protected/ is hidden from it): a stdlib
    # function as the target, which fails (exit code 1) when there is no secret to copy
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=shutil.copyfile, args=(folder + "/secret.txt", f"{shared}/copy"))
    proc.start()
    proc.join(60)
    out["multiprocessing"] = {0: "visible", 1: "hidden"}.get(proc.exitcode, str(proc.exitcode))
    return out


def score(workspace, protected, params):
    shared = str(rs.shared_dir())
    control = rs.shared_dir()  # a folder children do see, holding a copy of the secret
    shutil.copy(protected / "secret.txt", control / "secret.txt")
    return {"value": 1.0, "message": "probed",
            "details": {"scorer_sees": (protected / "secret.txt").exists(),
                        "protected": probes(str(protected), shared), "control": probes(str(control), shared)}}
'''


CAP_SCORER = r'''
import sys

import rdbench_scorer as rs

ALLOCATE = "import sys; b = bytearray(int(sys.argv[1]) * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"


def score(workspace, protected, params):
    small = rs.run_untrusted([sys.executable, "-c", ALLOCATE, "300"], cwd="/tmp", timeout=60, memory_mb=150)
    fits = rs.run_untrusted([sys.executable, "-c", ALLOCATE, "100"], cwd="/tmp", timeout=60, memory_mb=400)
    return rs.scored(1.0, "capped", capped_oom=small.out_of_memory, capped_ok=small.ok,
                     fits_ok=fits.ok, fits_out=fits.stdout_text().strip(), fits_peak=fits.peak_memory_mb)
'''


def test_a_memory_cap_on_the_agents_code_bites(toy: tuple[Materialized, Path], tmp_path: Path) -> None:
    """run_untrusted(memory_mb=...) caps the command with a cgroup the harness delegates: 300 MB under a
    150 MB cap is killed (and says so), 100 MB under 400 MB runs; the scorer carries on."""
    from rdbench.sandbox.limits import cgroup_mode

    if cgroup_mode() == "none":
        pytest.skip("no writable cgroup hierarchy on this host")
    task_dir = tmp_path / "toy_count"
    shutil.copytree(TOY, task_dir)
    (task_dir / "protected" / "score.py").write_text(CAP_SCORER)
    mat = materialize(load_task(task_dir), "mini")
    result = asyncio.run(score_workspace(mat, mat.workspace, toy[1]))
    assert result.kind == "scored", result
    assert result.details["capped_oom"] is True and result.details["capped_ok"] is False, result.details
    assert result.details["fits_ok"] is True and result.details["fits_out"] == "ok", result.details
    # the peak of the whole command is recorded: the 100 MB it held, under the 400 MB cap
    assert 100 <= result.details["fits_peak"] < 400, result.details


def test_the_nested_sandboxs_own_processes_hold_nothing_of_the_scorers(toy: tuple[Materialized, Path],
                                                                         tmp_path: Path) -> None:
    """pid 1 of the nested sandbox is bwrap's init, whose environment is readable from inside: it must
    hold none of the scorer's variables (hidden paths, private folder, host socket)."""
    probe = "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>/dev/null | sort -u\n"
    result = score(toy, workspace_with(tmp_path, toy[0], {"probe.sh": probe}))
    seen = result.details["probe"]
    assert "PATH=" in seen  # it did read the environments
    assert "RDBENCH_" not in seen and "/opt/rdbench/protected" not in seen, seen
