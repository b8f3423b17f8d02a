"""A GPU memory cap on the agent's code that a scorer runs: a watchdog on the host side.

The scorer runs the agent's code in nested sandboxes, each in a cgroup of its own under the cgroup
folders the harness delegates to the scoring sandbox (:class:`~rdbench.sandbox.limits.DelegatedCgroups`).
While the scoring sandbox runs, :class:`GpuWatchdog` polls, every ``interval`` seconds, which host
pids use how much GPU memory (a :class:`GpuUsageReader`: ``nvidia-smi`` on a real host), sums it over
the pids in each of those cgroups (read from ``cgroup.procs`` here, in the host's pid namespace: the
NVIDIA driver reports host pids and knows nothing of pid namespaces), records each cgroup's peak, and
kills the whole cgroup (every process of that run, forked daemons included) when its sum exceeds the
cap. It writes one report per cgroup (``<cgroup name>.json``) into a folder that the scorer reads
(mounted read-only): the toolkit's ``run_untrusted`` turns it into ``peak_gpu_memory_mb`` and
``over_gpu_memory``, and waits for the watchdog to have registered a cgroup before it starts the
command in it (a run is watched from its start, or not run at all).

Limits, said plainly: a spike shorter than the polling interval can pass unseen (the driver is
sampled, not hooked), which is why the toolkit also sets a cooperative per-process memory fraction
for PyTorch in the run's environment; that layer the agent's code can undo, the watchdog it cannot.
Only this harness's pid namespace must be the driver's (the host's): inside a container, run rdbench
with the host's pid namespace, or the pids never match and (fail closed) the watchdog reports that.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rdbench.sandbox.limits import sigkill_until_empty

log = logging.getLogger(__name__)

RUN_PREFIX = "untrusted-"
"""Name prefix of the cgroups the scorer toolkit makes for the agent's code (``rdbench_scorer``)."""
STATUS_FILE = "watchdog.json"


class GpuReadError(Exception):
    """A GPU is visible but its memory use cannot be read (the cap cannot be enforced)."""


class GpuUsageReader(Protocol):
    """Where the watchdog learns which host pids use how much GPU memory."""

    def read(self) -> dict[int, float] | None:
        """MiB of GPU memory per host pid (all devices added up); None when no GPU is visible.

        Raises:
            GpuReadError: A GPU is visible but the reading failed.
        """
        ...

    def describe(self) -> str:
        """What is read (for messages)."""
        ...


def parse_compute_apps(text: str) -> dict[int, float]:
    """``nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`` -> MiB per pid.

    A pid on several devices is summed; a value the driver does not report (``[N/A]``, ``[Not
    Supported]``) is an error, since the cap could not be checked (fail closed).

    Raises:
        GpuReadError: A line that is not ``pid, MiB``.
    """
    usage: dict[int, float] = {}
    for line in text.splitlines():
        if not line.strip() or "no running processes" in line.lower():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            pid, mib = int(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise GpuReadError(f"nvidia-smi gave a line that is not 'pid, MiB': {line.strip()!r}") from None
        usage[pid] = usage.get(pid, 0.0) + mib
    return usage


def gpu_devices(dev: Path = Path("/dev")) -> list[str]:
    """The NVIDIA GPU device files of this host (``/dev/nvidiaN``)."""
    if not dev.is_dir():
        return []
    return sorted(p.name for p in dev.iterdir() if p.name.startswith("nvidia") and p.name[6:].isdigit())


@dataclass
class NvidiaSmiReader:
    """The driver's per-process GPU memory, through ``nvidia-smi`` (validated only on a GPU host)."""

    timeout_s: float = 10.0

    def read(self) -> dict[int, float] | None:
        if not gpu_devices():
            return None
        program = shutil.which("nvidia-smi")
        if program is None:
            raise GpuReadError("a GPU is present (/dev/nvidia*) but nvidia-smi is not on PATH: the GPU "
                               "memory cap cannot be checked; install the NVIDIA driver's utilities")
        try:
            done = subprocess.run([program, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                  capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise GpuReadError(f"nvidia-smi failed: {error}") from None
        if done.returncode != 0:
            raise GpuReadError(f"nvidia-smi failed (exit {done.returncode}): {done.stderr.strip()[:300]}")
        return parse_compute_apps(done.stdout)

    def describe(self) -> str:
        return "nvidia-smi --query-compute-apps"


@dataclass
class FileReader:
    """Readings from a JSON file ``{"pid": MiB, ...}`` that someone else writes (the tests' source:
    they report memory for the pids really in a run's cgroup). A missing file reads as no usage;
    ``{"gpu": false}`` as no GPU visible."""

    path: Path

    def read(self) -> dict[int, float] | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # caught mid-write: the next poll reads it whole
        if data.get("gpu") is False:
            return None
        return {int(k): float(v) for k, v in data.items() if k != "gpu"}

    def describe(self) -> str:
        return f"readings from {self.path}"


@dataclass
class RunWatch:
    """What the watchdog knows of one run (one cgroup)."""

    name: str
    peak_mb: float | None = None
    over: bool = False
    last_mb: float | None = None
    polls: int = 0


def _cgroup_pids(path: Path) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    return []


def kill_cgroup(path: Path) -> None:
    """SIGKILL every process in the cgroup at ``path`` (``cgroup.kill`` where the kernel has it)."""
    with contextlib.suppress(OSError):
        if (path / "cgroup.kill").exists():
            (path / "cgroup.kill").write_text("1")
    sigkill_until_empty(lambda: _cgroup_pids(path), tries=100)


@dataclass
class GpuWatchdog:
    """Polls GPU memory per run cgroup under ``roots``, reports into ``report_dir``, kills over ``cap_mb``.

    Args:
        roots: The delegated cgroup folders; each child named ``untrusted-*`` is one run.
        cap_mb: MiB of GPU memory one run (its whole process tree) may hold.
        report_dir: Where ``<run>.json`` and ``watchdog.json`` are written (read-only for the scorer).
        reader: The source of readings (:class:`NvidiaSmiReader` by default).
        interval: Seconds between polls.
    """

    roots: list[Path]
    cap_mb: float
    report_dir: Path
    reader: GpuUsageReader = field(default_factory=NvidiaSmiReader)
    interval: float = 0.2
    runs: dict[str, RunWatch] = field(default_factory=dict)
    error: str | None = None
    gpu_visible: bool | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Poll in a background thread until :meth:`stop`."""
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.report_dir.chmod(0o755)
        self._thread = threading.Thread(target=self._loop, name="rdbench-gpu-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as error:  # never die silently: the scorer waits on the reports
                log.exception("rdbench GPU watchdog")
                self.error = f"the GPU watchdog failed: {type(error).__name__}: {error}"
                self._write_status()
            self._stop.wait(self.interval)

    def _run_dirs(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for root in self.roots:
            with contextlib.suppress(OSError):
                for child in root.iterdir():
                    if child.name.startswith(RUN_PREFIX) and child.is_dir() and child.name not in found:
                        found[child.name] = child
        return found

    def poll(self) -> None:
        """One reading: attribute it to the runs, update their peaks, kill any over the cap, report."""
        runs = self._run_dirs()
        pids = {name: _cgroup_pids(path) for name, path in runs.items()}  # before the reading: a pid
        # that joins after it is counted at the next poll
        reading: dict[int, float] | None = None
        if self.gpu_visible is None or any(pids.values()):  # no driver query while nothing runs
            try:
                reading = self.reader.read()
                self.gpu_visible = reading is not None
                self.error = None
            except GpuReadError as error:
                self.error = str(error)
        for name, path in runs.items():
            watch = self.runs.setdefault(name, RunWatch(name))
            watch.polls += 1
            if reading is not None:
                used = sum(reading.get(pid, 0.0) for pid in pids[name])
                watch.last_mb = used
                watch.peak_mb = used if watch.peak_mb is None else max(watch.peak_mb, used)
                if used > self.cap_mb and not watch.over:
                    watch.over = True
            self._write_run(watch)  # the verdict is on record before the run dies
            if pids[name] and (watch.over or self.error is not None):
                kill_cgroup(path)
        self._write_status()

    def _write(self, name: str, data: dict[str, object]) -> None:
        target = self.report_dir / name
        temporary = self.report_dir / f".{name}.{threading.get_ident()}"
        temporary.write_text(json.dumps(data))
        temporary.chmod(0o644)
        os.replace(temporary, target)

    def _write_run(self, watch: RunWatch) -> None:
        self._write(f"{watch.name}.json", {
            "cap_mb": self.cap_mb, "peak_mb": watch.peak_mb, "last_mb": watch.last_mb,
            "over_cap": watch.over, "polls": watch.polls, "gpu_visible": self.gpu_visible,
            "error": self.error, "interval_s": self.interval, "source": self.reader.describe()})

    def _write_status(self) -> None:
        self._write(STATUS_FILE, {"cap_mb": self.cap_mb, "gpu_visible": self.gpu_visible, "error": self.error,
                                  "interval_s": self.interval, "source": self.reader.describe(),
                                  "time": time.time()})
