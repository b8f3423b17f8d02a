"""A sandbox's CPU time is counted by its cgroup: its processes are not reaped by the process that
started it, so without the cgroup `rdbench check` took the scorer's own work for other load."""

from __future__ import annotations

import resource

import pytest

from rdbench.sandbox.limits import CgroupLimits, LimitSpec, unreaped_sandbox_cpu_s
from rdbench.sandbox.oneshot import OneShotSpec, run_oneshot

BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 2: pass\n"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def test_a_sandboxs_cpu_time_is_counted_once() -> None:
    probe = CgroupLimits(LimitSpec(memory_mb=64))
    probe.create()
    counts = probe.cpu_seconds() is not None
    probe.destroy()
    if not counts:
        pytest.skip("no cgroup hierarchy here counts CPU time (cgroup v2 cpu.stat or v1 cpuacct)")
    before, children_before = unreaped_sandbox_cpu_s(), _children_cpu_s()
    result = await run_oneshot(OneShotSpec(argv=["python3", "-c", BUSY], timeout=60, memory_mb=256))
    assert result.returncode == 0, result.stderr
    counted = (unreaped_sandbox_cpu_s() - before) + (_children_cpu_s() - children_before)
    # two seconds of CPU in the sandbox (plus the interpreter's start), counted once, not twice
    assert 1.9 <= counted <= 3.5, counted
