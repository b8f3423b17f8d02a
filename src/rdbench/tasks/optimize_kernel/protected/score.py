"""Scorer of optimize_kernel: exact checks on fresh inputs, timed from outside the agent's process.

The agent's ``solution.py`` runs in a nested sandbox (``child.py``: it cannot see this process, its
parameters or ``protected/``). Two buffers shared with it (input and output) are mapped once, pages
loaded, before any clock starts. For every call the scorer fills the output buffer with a random
sentinel, **starts its clock, then writes the fresh input into the input buffer** and sends ``go``;
the child calls ``prefix_sum``, copies the result into the output buffer and answers ``done``; the
clock stops. Nothing the agent's process does before the clock starts (hooks on library functions,
threads watching the buffer) can see an input: every input is written after the clock has started.

The measured time therefore includes the scorer's write of the input (one memory copy, the same for
every solution). The part after ``go`` must take at least half a memory copy of the input (the
physical floor of reading it and writing the result): a faster one means work was done outside the
timed window, and the call is invalid. Every output (timed or not) is compared exactly with the
scorer's own result, computed in this process on its own copy of the input.
"""

from __future__ import annotations

import json
import mmap
import os
import selectors
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rdbench_scorer as rs

HERE = Path(__file__).resolve().parent


def reference(x: np.ndarray) -> np.ndarray:
    """The scorer's own result (int64 accumulation, wrapped to int32)."""
    x = np.asarray(x, dtype=np.int64)
    positive = (x > 0).astype(np.int64)
    odd_before = (np.cumsum(positive) - positive) % 2 == 1
    total = np.cumsum(np.where(odd_before, x, 0))
    result: np.ndarray = (total & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    return result


def edge_cases(rng: np.random.Generator) -> list[np.ndarray]:
    big = 2**31 - 1
    return [
        np.array([], dtype=np.int32),
        np.array([7], dtype=np.int32),
        np.array([-3], dtype=np.int32),
        -np.abs(rng.integers(1, 1000, 1000)).astype(np.int32),
        np.array([1, big, big, big, -5, 3, big, -big - 1, 2, 2], dtype=np.int32),
        rng.integers(-2**31, 2**31, 4097, dtype=np.int64).astype(np.int32),
        np.zeros(100, dtype=np.int32),
    ]


class Child:
    """The agent's solution behind the timing protocol (see the module docstring)."""

    def __init__(self, workspace: Path, capacity: int) -> None:
        self.folder = rs.shared_dir("kernel-")
        self.views: dict[str, np.ndarray] = {}
        for name in ("in", "out"):
            path = self.folder / name
            with open(path, "wb") as handle:
                handle.truncate(capacity * 4)
            if capacity:
                with open(path, "r+b") as handle:
                    mapped = mmap.mmap(handle.fileno(), capacity * 4,
                                       flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
                self.views[name] = np.frombuffer(mapped, dtype=np.int32, count=capacity)
                self.views[name][::1024] = 0  # own the pages now, not inside the clock
            else:
                self.views[name] = np.empty(0, dtype=np.int32)
        shutil.copy(HERE / "child.py", self.folder / "child.py")
        self.proc = rs.Untrusted([sys.executable, str(self.folder / "child.py"), str(self.folder), str(capacity)],
                                 cwd=workspace)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def readline(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                raise TimeoutError(f"solution.py did not answer within {timeout:.0f} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("solution.py's process exited: " + self.proc.stderr_tail())
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace")

    def call(self, x: np.ndarray, timeout: float) -> tuple[np.ndarray, float, float, float]:
        """Run prefix_sum on x: (output, seconds from clock start, seconds after go, seconds writing x)."""
        n = len(x)
        x32 = np.ascontiguousarray(x, dtype=np.int32)
        out = self.views["out"][:n]
        out[:] = np.random.default_rng().integers(-2**31, 2**31, dtype=np.int64)  # stale results cannot pass
        started = time.perf_counter()
        self.views["in"][:n] = x32  # the input exists for the agent's process only from now on
        go = time.perf_counter()
        self.proc.stdin.write(f"go {n}\n".encode())
        self.proc.stdin.flush()
        reply = self.readline(timeout)
        ended = time.perf_counter()
        if reply != "done":
            raise ValueError(json.loads(reply[6:]) if reply.startswith("error ") else reply)
        return out.copy(), ended - started, ended - go, go - started

    def close(self) -> None:
        self.proc.close()


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    rs.read_bytes("solution.py", workspace)  # a regular file, not a link
    n, trials = int(params["n"]), int(params["trials"])
    rng = np.random.default_rng(int(params["seed"]))
    cases = edge_cases(rng)
    child = Child(workspace, max(n, *(len(c) for c in cases)))
    try:
        ready = child.readline(60)
        if ready != "ready":
            raise rs.Invalid(json.loads(ready[6:]) if ready.startswith("error ") else ready)
        for i, x in enumerate(cases):
            y, _, _, _ = child.call(x, 30)
            if not np.array_equal(y, reference(x)):
                raise rs.Invalid(f"wrong result on edge case {i} (length {len(x)})", case=i)
        floor = rs.memcpy_floor_s(n * 4)
        times, after_go, writes = [], [], []
        for trial in range(trials + 1):
            x = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
            expected = reference(x)
            y, seconds, own, write = child.call(x, 60)
            if not np.array_equal(y, expected):
                wrong = int(np.argmax(y != expected))
                raise rs.Invalid(f"wrong result on a random input of length {n} (first wrong index {wrong})",
                                 trial=trial)
            if own < 0.5 * floor:
                raise rs.Invalid(f"prefix_sum answered {own * 1e3:.3f} ms after its input existed, faster than half "
                                 f"a memory copy of the input ({floor * 1e3:.3f} ms): work was done outside the "
                                 "timed window", trial=trial, floor_ms=floor * 1e3)
            if trial > 0:  # the first call warms up caches and lazy initialisation
                times.append(seconds * 1000)
                after_go.append(own * 1000)
                writes.append(write * 1000)
        # the fastest call: on a shared or virtual machine the noise in a memory-bound call is
        # one-sided (page reclaim, preemption); the median of 7 moved by up to 40% between scorings
        best = min(times)
        return rs.scored(best, f"fastest of {trials} timed calls of length {n}: {best:.2f} ms (median "
                         f"{statistics.median(times):.2f} ms; all exact; the time includes the scorer's "
                         f"write of the input, {statistics.median(writes):.2f} ms)",
                         times_ms=times, after_go_ms=after_go, write_ms=writes, memcpy_floor_ms=floor * 1e3, n=n)
    except (TimeoutError, RuntimeError, ValueError) as error:
        raise rs.Invalid(str(error), stderr=child.proc.stderr_tail()) from None
    finally:
        child.close()
