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
