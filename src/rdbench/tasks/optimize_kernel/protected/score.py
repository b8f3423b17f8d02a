"""Scorer of optimize_kernel: exact checks on fresh inputs, timed from outside the agent's process.

The agent's `solution.py` runs in a child process. For every call the scorer writes a fresh input
to a new file, pre-fills a new output file with a random sentinel, starts its clock, and sends the
two paths to the child ("go"); the child maps the input, calls `prefix_sum`, copies the result into
the output file and answers "done"; the clock stops. Every output (timed or not) is compared exactly
with the scorer's own result, computed in this process.
"""

import json
import math
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, mmap, os, sys
proto = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
import numpy as np
sys.path.insert(0, os.getcwd())

def say(text):
    proto.write((text + "\n").encode())

try:
    import solution
    fn = solution.prefix_sum
except BaseException as error:
    say("error " + json.dumps(f"importing solution.py failed: {type(error).__name__}: {error}"))
    sys.exit(1)
say("ready")
populate = getattr(mmap, "MAP_POPULATE", 0)
for line in sys.stdin:
    _, in_path, out_path, n = line.split()
    n = int(n)
    try:
        # map both files with their pages already in memory before the clock starts: page-fault
        # costs are the same for every solution and only add noise to the timing
        if n:
            with open(in_path, "rb") as f:
                x = np.frombuffer(mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED | populate,
                                            prot=mmap.PROT_READ), dtype=np.int32, count=n)
            with open(out_path, "r+b") as f:
                out = np.frombuffer(mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED | populate), dtype=np.int32,
                                    count=n)
            out[::1024] = out[::1024]  # one write per page now, so writing the result takes no faults
        else:
            x = np.empty(0, dtype=np.int32)
        say("mapped")
        if sys.stdin.readline().strip() != "go":
            break
        y = fn(x)
        if type(y) is not np.ndarray or y.dtype != np.int32 or y.shape != (n,):
            say("error " + json.dumps(f"prefix_sum must return a numpy int32 array of shape ({n},), "
                                      f"got {type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}"))
            continue
        if n:
            out[:] = y
        say("done")
    except BaseException as error:
        say("error " + json.dumps(f"prefix_sum raised {type(error).__name__}: {error}"))
"""


def reference(x):
    """The scorer's own result (int64 accumulation, wrapped to int32)."""
    x = np.asarray(x, dtype=np.int64)
    positive = (x > 0).astype(np.int64)
    odd_before = (np.cumsum(positive) - positive) % 2 == 1
    total = np.cumsum(np.where(odd_before, x, 0))
    return (total & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


class Child:
    def __init__(self, workspace, scratch):
        self.scratch = scratch
        self.stderr_path = scratch / "child.stderr"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD], cwd=workspace, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=open(self.stderr_path, "wb"),
            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")},
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                raise TimeoutError(f"solution.py did not answer within {timeout:.0f} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("solution.py's process exited: " + self.stderr_tail())
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def stderr_tail(self):
        try:
            return self.stderr_path.read_text(errors="replace")[-800:]
        except OSError:
            return ""

    def call(self, x, timeout):
        """Run prefix_sum on x; returns (output, seconds measured by this process)."""
        n = len(x)
        token = os.urandom(8).hex()
        in_path, out_path = self.scratch / f"in-{token}", self.scratch / f"out-{token}"
        x.astype(np.int32).tofile(in_path)
        sentinel = np.full(n, np.random.default_rng().integers(-2**31, 2**31), dtype=np.int32)
        sentinel.tofile(out_path)
        self.proc.stdin.write(f"map {in_path} {out_path} {n}\n".encode())
        self.proc.stdin.flush()
        reply = self.readline(timeout)
        if reply != "mapped":
            raise ValueError(json.loads(reply[6:]) if reply.startswith("error ") else reply)
        started = time.perf_counter()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        reply = self.readline(timeout)
        elapsed = time.perf_counter() - started
        try:
            if reply != "done":
                message = json.loads(reply[6:]) if reply.startswith("error ") else reply
                raise ValueError(message)
            return np.fromfile(out_path, dtype=np.int32, count=n), elapsed
        finally:
            in_path.unlink(missing_ok=True)
            out_path.unlink(missing_ok=True)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def edge_cases(rng):
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


def invalid(message, **details):
    return {"value": math.nan, "message": message, "details": details}


def score(workspace, protected, params):
    solution = workspace / "solution.py"
    if solution.is_symlink() or not solution.is_file():
        return invalid("solution.py must be a regular file in the workspace (no symlinks)")
    n, trials = int(params["n"]), int(params["trials"])
    rng = np.random.default_rng(int(params["seed"]))
    scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir="/tmp"))
    child = Child(workspace, scratch)
    try:
        ready = child.readline(60)
        if ready != "ready":
            return invalid(json.loads(ready[6:]) if ready.startswith("error ") else ready)
        for i, x in enumerate(edge_cases(rng)):
            y, _ = child.call(x, 30)
            if not np.array_equal(y, reference(x)):
                return invalid(f"wrong result on edge case {i} (length {len(x)})", case=i)
        times = []
        for trial in range(trials + 1):
            x = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
            expected = reference(x)
            y, seconds = child.call(x, 60)
            if not np.array_equal(y, expected):
                wrong = int(np.argmax(y != expected))
                return invalid(f"wrong result on a random input of length {n} (first wrong index {wrong})",
                               trial=trial)
            if trial > 0:  # the first call warms up caches and lazy initialisation
                times.append(seconds * 1000)
        # the fastest call: on a shared or virtual machine the noise in a memory-bound call is
        # one-sided (page reclaim, preemption); the median of 7 moved by up to 40% between scorings
        best = min(times)
        return {"value": best,
                "message": f"fastest of {trials} timed calls of length {n}: {best:.2f} ms "
                           f"(median {statistics.median(times):.2f} ms; all exact)",
                "details": {"times_ms": times, "n": n}}
    except (TimeoutError, RuntimeError, ValueError) as error:
        return invalid(str(error), stderr=child.stderr_tail())
    finally:
        child.close()
