"""GPUs for sandboxes: which NVIDIA devices this host has, and handing them out to samples.

A task's scale says how many GPUs one run gets (``gpus: 1``); runs that go on at the same time
(``--max-samples``, epochs) must not share them, or their timings and memory interfere. The pool
gives each sample its own devices for the sample's lifetime and makes a sample wait when all are
taken, so the GPUs, not a flag, bound how many GPU runs go on at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from rdbench.errors import UserError
from rdbench.sandbox.resources import ExclusivePool, shared_pool

_DEVICE = re.compile(r"^nvidia(\d+)$")


def visible_gpus(dev: Path = Path("/dev")) -> list[int]:
    """Indices of the NVIDIA devices (``/dev/nvidiaN``) on this host, ascending."""
    if not dev.is_dir():
        return []
    found = [int(m.group(1)) for p in dev.iterdir() if (m := _DEVICE.match(p.name))]
    return sorted(found)


def parse_gpus(text: str) -> list[int]:
    """``"0,1"`` -> ``[0, 1]`` (``--gpus``).

    Raises:
        ValueError: Not a comma-separated list of device indices.
    """
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--gpus {text!r}: give device indices separated by commas, e.g. 0 or 0,1") from None


def gpu_plan(
    scale: str, needed: int, given: list[int] | None, say: Callable[[str], None]
) -> tuple[list[int], int]:
    """The GPUs a task's samples get: ``(devices, per_sample)``.

    A scale that asks for GPUs gives each sample ``needed`` devices of its own from ``given`` (or
    every device on the host), samples waiting while all are taken; ``per_sample`` 0 means every
    sample is bound to ``devices`` as given (a scale without GPUs, or too few devices to share).
    """
    if needed <= 0:
        return list(given or []), 0
    pool = list(given) if given else visible_gpus()
    if len(pool) >= needed:
        return pool, needed
    if pool:
        say(f"scale {scale!r} asks for {needed} GPU(s) per run but only {pool} are available: every "
            "run gets those, shared")
        return pool, 0
    say(f"scale {scale!r} asks for {needed} GPU(s) per run and this host has none (no /dev/nvidia*): "
        "runs go on the CPU, slowly; their scores are not comparable with GPU runs")
    return [], 0


class GpuPool(ExclusivePool):
    """Exclusive GPUs for concurrent samples (one pool per process and device set).

    Args:
        devices: The device indices the pool hands out.
    """

    def __init__(self, devices: list[int]) -> None:
        super().__init__(devices, "GPU")


def pool_for(devices: list[int]) -> ExclusivePool:
    """The pool over ``devices`` shared by the samples of this event loop (one Inspect eval)."""
    return shared_pool("GPU", devices, GpuPool)
