"""A fingerprint of the machine, so calibrations are only reused where timings are comparable."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
from functools import cache
from typing import Any


@cache
def machine_description() -> dict[str, Any]:
    """CPU model, core count, memory, kernel and GPUs (names) of this machine."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gb = 0.0
    with contextlib.suppress(ValueError, OSError):
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout
            gpus = [line.strip() for line in out.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb),
        "machine": platform.machine(),
        "gpus": gpus,
    }


def machine_fingerprint() -> str:
    """A short hash of :func:`machine_description`."""
    text = json.dumps(machine_description(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def machine_record() -> dict[str, Any]:
    """This machine as runs record it: its fingerprint and its description."""
    return {"fingerprint": machine_fingerprint(), **machine_description()}


def machine_label(machine: dict[str, Any]) -> str:
    """A machine in a few words: CPU model, cores, GPUs (and its fingerprint)."""
    cpu = str(machine.get("cpu") or "unknown CPU")
    for noise in ("(R)", "(TM)", " CPU", " Processor"):
        cpu = cpu.replace(noise, "")
    text = f"{' '.join(cpu.split())}, {machine.get('cores', '?')} cores"
    gpus = machine.get("gpus") or []
    if gpus:
        text += f", {len(gpus)}x {gpus[0]}"
    fingerprint = machine.get("fingerprint")
    return f"{text} [{fingerprint}]" if fingerprint else text


def _busy_seconds() -> float | None:
    """CPU seconds all cores of this machine have spent busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process, its reaped children, and its sandboxes (whose processes are
    not reaped by it: counted by their cgroups)."""
    import resource

    from rdbench.sandbox.api import unreaped_sandbox_cpu_s

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + unreaped_sandbox_cpu_s()


class LoadMeter:
    """How busy the rest of the machine was while this process (and the processes it waited for)
    worked: the CPU time every core spent busy, less this process tree's own, per second of wall
    time, in cores. 0 on an idle machine; 1.5 when other work kept one and a half cores busy."""

    def __init__(self) -> None:
        import time as _time

        self._clock = _time.monotonic
        self._start = (self._clock(), _busy_seconds(), _own_seconds())

    def other_cores(self) -> float | None:
        """Cores' worth of CPU that other processes used since the meter started (None where
        /proc/stat is unreadable or no time has passed)."""
        began, busy0, own0 = self._start
        busy1 = _busy_seconds()
        wall = self._clock() - began
        if busy0 is None or busy1 is None or wall <= 0:
            return None
        return max(0.0, ((busy1 - busy0) - (_own_seconds() - own0)) / wall)
