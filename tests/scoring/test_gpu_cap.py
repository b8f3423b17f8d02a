"""The GPU memory cap on the agent's code a scorer runs, through the real scoring sandbox.

No GPU here: the harness's real watchdog, the real attribution by the host pids in each run's cgroup
and the real kill run on real nested-sandbox process trees, and only the reading source is a file
(:class:`FileReader`) that a feeder thread of this test writes: it reports GPU memory for the
processes really in the runs' cgroups (those whose command line carries ``gpu-mib=N``), and a huge
amount for this test's own process, which is in no run's cgroup. ``nvidia-smi`` itself is read only
on a GPU host (``tests/sandbox/test_gpuwatch.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdbench.sandbox.api import FileReader, GpuUsageReader
from rdbench.sandbox.gpuwatch import GpuReadError, gpu_devices
from rdbench.sandbox.limits import cgroup_mode
from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.task.assets import materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task

TOY = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count"

pytestmark = pytest.mark.skipif(cgroup_mode() == "none", reason="no writable cgroup hierarchy")

GPU_SCORER = r'''
import os
import sys

import rdbench_scorer as rs

HOLD = ("import os, sys, time; print(os.environ.get('GPU_MEMORY_CAP_MB'), os.environ.get('PYTHONPATH'), "
        "flush=True); time.sleep(float(sys.argv[1]))")
DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "gpu-mib=300", "daemon"])
    os._exit(0)
time.sleep(30)
"""


def run(code, *args):
    r = rs.run_untrusted([sys.executable, "-c", code, *args], cwd="/tmp", timeout=60)
    return {"ok": r.ok, "over": r.over_gpu_memory, "peak": r.peak_gpu_memory_mb, "cap": r.gpu_memory_cap_mb,
            "note": r.gpu_note, "seconds": r.seconds, "returncode": r.returncode, "why": r.why("it"),
            "out": r.stdout_text().strip()}


def score(workspace, protected, params):
    if params.get("mode") == "invalid":
        r = rs.run_untrusted([sys.executable, "-c", HOLD, "30", "gpu-mib=300"], cwd="/tmp", timeout=60)
        if not r.ok:
            raise rs.Invalid(r.why("train.py"), peak_gpu_memory_mb=r.peak_gpu_memory_mb)
        return rs.scored(1.0, "not killed")
    if params.get("mode") == "plain":
        return rs.scored(1.0, "gpu", under=run(HOLD, "0.5", "gpu-mib=60"))
    with rs.Untrusted([sys.executable, "-c", HOLD, "30", "gpu-mib=300"], cwd="/tmp") as piped:
        piped.stdout.read()  # its environment line, then end of file once it is killed
    return rs.scored(1.0, "gpu", under=run(HOLD, "1.5", "gpu-mib=60"), over=run(HOLD, "30", "gpu-mib=300"),
                     daemon=run(DAEMON), piped=piped.gpu)
'''


def _run_pids() -> list[int]:
    """Host pids in the cgroups the scorer made for the agent's code (v2, else v1's memory)."""
    pids = []
    for pattern in ("/sys/fs/cgroup/rdbench/*-delegated/untrusted-*/cgroup.procs",
                    "/sys/fs/cgroup/memory/rdbench/*-delegated/untrusted-*/cgroup.procs"):
        for path in glob.glob(pattern):
            with contextlib.suppress(OSError, ValueError):
                pids += [int(p) for p in Path(path).read_text().split()]
    return pids


def _marked(pid: int) -> float | None:
    """N for a Python process run with ``gpu-mib=N`` (not the bwrap processes that start it, whose
    command lines hold the same arguments)."""
    with contextlib.suppress(OSError):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if not os.path.basename(args[0]).startswith(b"python"):
            return None
        for arg in args:
            if arg.startswith(b"gpu-mib="):
                return float(arg[len(b"gpu-mib="):])
    return None


@contextlib.contextmanager
def feeder(path: Path) -> Iterator[set[int]]:
    """Writes readings for the marked processes in the runs' cgroups to ``path`` until the block ends;
    yields the set of host pids it reported (filled as it goes)."""
    seen: set[int] = set()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            reading: dict[str, float] = {str(os.getpid()): 1e6}  # outside every run: never counted
            for pid in _run_pids():
                mib = _marked(pid)
                if mib is not None:
                    reading[str(pid)] = mib
                    seen.add(pid)
            path.with_suffix(".tmp").write_text(json.dumps(reading))
            os.replace(path.with_suffix(".tmp"), path)
            stop.wait(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def _score(tmp_path: Path, reader: GpuUsageReader | None, **overrides: Any) -> ScoreResult:
    task_dir = tmp_path / "toy_count"
    shutil.copytree(TOY, task_dir)
    (task_dir / "protected" / "score.py").write_text(GPU_SCORER)
    task = load_task(task_dir)
    mat = materialize(task, "mini")
    env = ensure_environment(task.spec.environment)
    return asyncio.run(score_workspace(mat, mat.workspace, env, gpu_reader=reader,
                                       overrides={"gpu_memory_mb": 100, **overrides}, timeout=120))


def test_the_gpu_cap_kills_a_run_over_it_and_counts_only_the_runs_pids(tmp_path: Path) -> None:
    readings = tmp_path / "readings.json"
    with feeder(readings) as seen:
        result = _score(tmp_path, FileReader(readings))
    assert result.kind == "scored", result
    under, over, daemon = (result.details[k] for k in ("under", "over", "daemon"))
    # under the cap: it finished, its peak is what was reported for its pid (the test's own 1e6 MiB,
    # outside every run's cgroup, is not counted), and the cooperative layer was in its environment
    assert under["ok"] is True and under["over"] is False, under
    assert under["peak"] == 60.0 and under["cap"] == 100.0 and under["note"] is None, under
    cap, path = under["out"].split()
    assert cap == "100" and path.endswith("/gpucap"), under
    # over the cap: killed, not ok, and why() names the cap
    assert over["ok"] is False and over["over"] is True and over["peak"] == 300.0, over
    assert over["returncode"] == -9, over  # SIGKILLed: a natural end of its sleep would exit 0
    assert "over the GPU memory cap (peak 300 MiB > cap 100 MiB)" in over["why"], over
    # a double-forked daemon over the cap takes its whole run with it
    assert daemon["over"] is True and daemon["returncode"] == -9, daemon
    # the same with pipes (rs.Untrusted): its verdict after close
    piped = result.details["piped"]
    assert piped["over_gpu_memory"] is True and piped["peak_gpu_memory_mb"] == 300.0, piped
    assert len(seen) >= 4
    for pid in seen:  # every process the feeder saw in a run's cgroup is dead
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_scorer_reports_the_gpu_cap_as_invalid(tmp_path: Path) -> None:
    readings = tmp_path / "readings.json"
    with feeder(readings):
        result = _score(tmp_path, FileReader(readings), mode="invalid")
    assert result.kind == "invalid", result
    assert result.message == "train.py went over the GPU memory cap (peak 300 MiB > cap 100 MiB) and was killed"
    assert result.details["peak_gpu_memory_mb"] == 300.0


@pytest.mark.skipif(bool(gpu_devices()), reason="this host has a GPU")
def test_without_a_gpu_the_run_is_unaffected_and_its_peak_missing(tmp_path: Path) -> None:
    result = _score(tmp_path, None, mode="plain")  # the real nvidia-smi reader: no /dev/nvidia* here
    assert result.kind == "scored", result
    under = result.details["under"]
    assert under["ok"] is True and under["over"] is False, under
    assert under["peak"] is None and under["note"] == "no GPU visible" and under["cap"] == 100.0, under


class Unreadable:
    """A GPU that is there but whose memory use cannot be read (nvidia-smi failing, say)."""

    def read(self) -> dict[int, float] | None:
        raise GpuReadError("nvidia-smi failed (exit 15): GPU is lost")

    def describe(self) -> str:
        return "a failing driver"


def test_a_gpu_cap_that_cannot_be_checked_is_a_scorer_error_not_the_agents(tmp_path: Path) -> None:
    result = _score(tmp_path, Unreadable(), mode="plain")
    assert result.kind == "scorer_error", result
    assert "the GPU memory cap cannot be enforced: nvidia-smi failed (exit 15)" in result.message, result


PROBE_TORCH = """
import torch
queued = [call[0].__name__ for call in torch.cuda._queued_calls]
print("queued", "apply" in queued)
if torch.cuda.is_available():  # a GPU host: the fraction really set, cap / device memory
    torch.cuda.init()
    total = torch.cuda.get_device_properties(0).total_memory
    print("fraction", round(torch.cuda.get_per_process_memory_fraction(0) * total / 2**20))
"""


def test_the_cooperative_layer_tells_pytorch_the_cap() -> None:
    """lib/gpucap/sitecustomize.py, as run_untrusted puts it on PYTHONPATH: importing torch queues the
    memory fraction for CUDA's initialisation (and sets it, cap / device memory, where there is a GPU);
    without the cap nothing is queued."""
    import subprocess

    from rdbench.scoring.runner import LIB_PATH

    python = ensure_environment(load_task("train_under_cap").spec.environment) / "bin" / "python"
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(LIB_PATH / "gpucap")}
    capped = subprocess.run([python, "-c", PROBE_TORCH], env={**base, "GPU_MEMORY_CAP_MB": "1000"},
                            capture_output=True, text=True, check=True).stdout.split("\n")
    assert capped[0] == "queued True", capped
    if len(capped) > 2:
        assert capped[1] == "fraction 1000", capped
    plain = subprocess.run([python, "-c", PROBE_TORCH], env=base, capture_output=True, text=True, check=True)
    assert plain.stdout.startswith("queued False"), plain.stdout
