"""Cores and GPUs owned per sample: which a host offers, how many each sample gets, and the pools
that hand them out.

A task's scale says how many cores and GPUs one run gets (``cpus: 2``, ``gpus: 1``). Runs that go on
at the same time (``--max-samples``, epochs) must not share them, or one run's work slows another's
and timed scores change with the load: each sample takes its own from a pool for its lifetime and
waits while they are all taken, so the host's cores and GPUs, not a flag, bound how many runs go on
at once. A many-core host then runs as many samples in parallel as it has core sets, each measured as
on a box of the scale's size. The pools are per process (one Inspect eval's event loop); under Slurm
each job's cores are those Slurm gave it (the process's CPU affinity), so jobs on one node never
share a core either.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable

from rdbench.errors import UserError

_said: set[tuple[str, int, tuple[int, ...]]] = set()


def host_cpus() -> list[int]:
    """The cores this process may run on (its CPU affinity: under Slurm, the job's cores), ascending."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity API: every core the OS reports
        return list(range(os.cpu_count() or 1))


def parse_cpus(text: str) -> list[int]:
    """``"0-3,8"`` -> ``[0, 1, 2, 3, 8]`` (``--cpus``; the cpuset list format).

    Raises:
        ValueError: Not a list of core indices and ranges.
    """
    cores: set[int] = set()
    try:
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            first, sep, last = part.partition("-")
            cores.update(range(int(first), int(last) + 1) if sep else [int(first)])
    except ValueError:
        raise UserError(f"--cpus {text!r}: give core indices and ranges, e.g. 0-3 or 0,2,4") from None
    return sorted(cores)


def format_cpus(cores: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2,5"`` (the cpuset list format)."""
    parts: list[str] = []
    ordered = sorted(set(cores))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def cpu_plan(
    scale: str, needed: int, given: list[int] | None, say: Callable[[str], None]
) -> tuple[list[int], int]:
    """The cores a task's samples get: ``(pool, per_sample)``; each sample takes ``per_sample`` of
    ``pool`` (``given``, else :func:`host_cpus`) for its lifetime.

    With fewer cores than the scale asks for, every sample gets all of them, one sample at a time
    (said once per process and situation): its timings then differ from the scale's, but no two runs
    share a core.
    """
    pool = sorted(set(given)) if given else host_cpus()
    if needed <= 0 or not pool:
        return pool, 0
    if len(pool) >= needed:
        return pool, needed
    key = (scale, needed, tuple(pool))
    if key not in _said:
        _said.add(key)
        say(f"scale {scale!r} asks for {needed} cores per run but only {len(pool)} "
            f"({format_cpus(pool)}) are available: runs go one at a time on those; their timed "
            "scores are not comparable with runs on the scale's cores")
    return pool, len(pool)


class ExclusivePool:
    """Devices (cores or GPUs) for concurrent samples, each held by one sample at a time.

    Args:
        devices: The indices the pool hands out.
        unit: What a device is, for messages ("GPU", "core").
    """

    def __init__(self, devices: list[int], unit: str = "device") -> None:
        self.devices = list(devices)
        self.unit = unit
        self._busy: set[int] = set()
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    @property
    def free(self) -> list[int]:
        """Devices no sample holds now."""
        return [d for d in self.devices if d not in self._busy]

    async def acquire(self, count: int) -> list[int]:
        """Wait until ``count`` devices are free and take them (the lowest free ones, so samples of
        one size get aligned sets).

        Raises:
            ValueError: The pool has fewer than ``count`` devices in all (waiting would be forever).
        """
        if count <= 0:
            return []
        if count > len(self.devices):
            raise UserError(f"a sample needs {count} {self.unit}(s) but the pool has "
                             f"{len(self.devices)} ({self.devices})")
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: len(self.free) >= count)
            taken = self.free[:count]
            self._busy.update(taken)
            return taken

    async def release(self, devices: list[int]) -> None:
        """Give devices back and wake the samples waiting for them."""
        changed = self._condition()
        async with changed:
            self._busy.difference_update(devices)
            changed.notify_all()


# keyed on the loop object itself (weakly): a loop's id() can be reused by the next eval's loop
_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, tuple[int, ...]], ExclusivePool]
] = weakref.WeakKeyDictionary()


def shared_pool(unit: str, devices: list[int], factory: Callable[[list[int]], ExclusivePool]) -> ExclusivePool:
    """The pool of ``unit`` over ``devices`` shared by the samples of this event loop (one eval)."""
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = (unit, tuple(sorted(devices)))
    if key not in pools:
        pools[key] = factory(list(key[1]))
    return pools[key]


def cpu_pool_for(cores: list[int]) -> ExclusivePool:
    """The core pool over ``cores`` shared by the samples of this event loop."""
    return shared_pool("core", cores, lambda devices: ExclusivePool(devices, "core"))
