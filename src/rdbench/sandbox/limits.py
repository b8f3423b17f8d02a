"""Resource limits for a whole sandbox: cgroups v2, else v1, else per-process rlimits.

One :class:`CgroupLimits` per sandbox. Its :meth:`wrap` prefixes the bwrap command with a tiny
shell that moves itself into the cgroups before ``exec`` (so no child escapes the limits).

The cgroups also count the CPU time a sandbox used. bwrap's pid-namespace init is not reaped by the
process that started the sandbox, so that time never reaches this process's ``RUSAGE_CHILDREN``
(measured: a 2 s busy loop in a one-shot sandbox added 0.00 s to it);
:func:`unreaped_sandbox_cpu_s` adds it up, for ``rdbench check``'s meter of other load.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shlex
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)
CGROUP_ROOT = Path("/sys/fs/cgroup")
_warned = False
_unreaped_lock = threading.Lock()
_unreaped_s = 0.0


def unreaped_sandbox_cpu_s() -> float:
    """CPU seconds that this process's finished sandboxes used beyond what reached its own
    ``RUSAGE_CHILDREN`` (0 where no cgroup counts CPU). Never more than the truth: where sandboxes
    overlap in time, one's reaped children may hide another's unreaped time."""
    with _unreaped_lock:
        return _unreaped_s


def _add_unreaped(seconds: float) -> None:
    global _unreaped_s
    with _unreaped_lock:
        _unreaped_s += max(0.0, seconds)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cgroup_cpu_s(path: Path, v2: bool) -> float | None:
    """CPU seconds the cgroup at ``path`` (and its descendants) used: v2 ``cpu.stat``, v1
    ``cpuacct.usage``; None where unreadable."""
    try:
        if v2:
            for line in (path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            return None
        return int((path / "cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        return None


def sigkill_until_empty(pids: Callable[[], list[int]], tries: int) -> None:
    """SIGKILL every pid ``pids()`` lists, again every 10 ms, until it lists none (or ``tries`` rounds:
    a fork between reading and killing is caught by the next round)."""
    for _ in range(tries):
        found = pids()
        if not found:
            return
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


@dataclass(frozen=True)
class LimitSpec:
    """What to limit."""

    memory_mb: int | None = None
    pids: int | None = None
    cpus: str | None = None


def cgroup_mode() -> str:
    """``v2``, ``v1`` or ``none`` (no writable cgroup hierarchy)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists() and os.access(CGROUP_ROOT, os.W_OK):
        return "v2"
    if (CGROUP_ROOT / "memory").is_dir() and os.access(CGROUP_ROOT / "memory", os.W_OK):
        return "v1"
    return "none"


@dataclass
class CgroupLimits:
    """The cgroups of one sandbox (created on :meth:`create`, removed on :meth:`destroy`)."""

    spec: LimitSpec
    name: str = field(default_factory=lambda: f"rdbench-{uuid.uuid4().hex[:12]}")
    mode: str = field(default_factory=cgroup_mode)
    dirs: dict[str, Path] = field(default_factory=dict)
    children_cpu_at_create: float = 0.0

    def create(self) -> None:
        global _warned
        self.children_cpu_at_create = _children_cpu_s()
        if self.mode == "v2":
            path = CGROUP_ROOT / "rdbench" / self.name
            parent = path.parent
            parent.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                controllers = (CGROUP_ROOT / "cgroup.controllers").read_text().split()
                wanted = [c for c in ("memory", "pids", "cpuset") if c in controllers]
                (CGROUP_ROOT / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
                (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
            path.mkdir()
            self.dirs["unified"] = path
            self._write("unified", "memory.max", self.spec.memory_mb and self.spec.memory_mb * 2**20)
            self._write("unified", "memory.swap.max", self.spec.memory_mb and 0)
            self._write("unified", "pids.max", self.spec.pids)
            self._write("unified", "cpuset.cpus", self.spec.cpus)
        elif self.mode == "v1":
            for controller in ("memory", "pids", "cpuset", "freezer", "cpuacct"):
                base = CGROUP_ROOT / controller
                if not base.is_dir():
                    continue
                path = base / "rdbench" / self.name
                path.parent.mkdir(exist_ok=True)
                if controller == "cpuset":
                    # a v1 cpuset must have cpus and mems before tasks can join it
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        parent_value = (base / key).read_text().strip()
                        if not (path.parent / key).read_text().strip():
                            (path.parent / key).write_text(parent_value)
                path.mkdir()
                self.dirs[controller] = path
                if controller == "cpuset":
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        (path / key).write_text((path.parent / key).read_text().strip())
            self._write("memory", "memory.limit_in_bytes", self.spec.memory_mb and self.spec.memory_mb * 2**20)
            self._write("pids", "pids.max", self.spec.pids)
            self._write("cpuset", "cpuset.cpus", self.spec.cpus)
        elif not _warned and (self.spec.memory_mb or self.spec.pids):
            _warned = True
            log.warning(
                "rdbench sandbox: no writable cgroup hierarchy; memory and process limits fall "
                "back to per-process rlimits (weaker: a limit per process, not per sandbox)"
            )

    def _write(self, controller: str, key: str, value: object) -> None:
        if value is None or controller not in self.dirs:
            return
        try:
            (self.dirs[controller] / key).write_text(str(value))
        except OSError as error:
            log.warning("rdbench sandbox: cannot set %s=%s: %s", key, value, error)

    def wrap(self, argv: list[str]) -> list[str]:
        """A command that joins the cgroups (or sets rlimits) and then execs ``argv``."""
        steps = [f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs.values()]
        if self.mode == "none" and self.spec.memory_mb:
            steps.append(f"ulimit -v {self.spec.memory_mb * 1024}")
        taskset = shutil.which("taskset")
        if self.spec.cpus and taskset:
            # the CPU affinity too, not only the cpuset: `nproc` and os.sched_getaffinity inside read
            # it, and where no cpuset cgroup can be made it is the only pinning there is
            argv = [taskset, "-c", self.spec.cpus, *argv]
        steps.append("exec " + " ".join(shlex.quote(a) for a in argv))
        return ["/bin/sh", "-c", " && ".join(steps)]

    def _read(self, controller: str, key: str) -> str:
        try:
            return (self.dirs[controller] / key).read_text()
        except (OSError, KeyError):
            return ""

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed so far."""
        text = self._read("unified", "memory.events") or self._read("memory", "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        if self.mode == "v1":
            failcnt = self._read("memory", "memory.failcnt").strip()
            return 1 if failcnt and int(failcnt) > 0 and "under_oom 1" in text else 0
        return 0

    def pids_limit_hits(self) -> int:
        """How many forks the process limit has refused so far."""
        text = self._read("unified", "pids.events") or self._read("pids", "pids.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "max":
                return int(value)
        return 0

    def freeze(self, frozen: bool) -> bool:
        """Freeze or thaw every process of the sandbox; False where no freezer is available."""
        if "unified" in self.dirs:
            self._write("unified", "cgroup.freeze", 1 if frozen else 0)
            return True
        if "freezer" in self.dirs:
            self._write("freezer", "freezer.state", "FROZEN" if frozen else "THAWED")
            if frozen:  # v1 freezing is asynchronous: wait until it has taken effect
                deadline = time.monotonic() + 5
                while "FREEZING" in self._read("freezer", "freezer.state") and time.monotonic() < deadline:
                    time.sleep(0.005)
            return True
        return False

    def pids(self) -> list[int]:
        for path in self.dirs.values():
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    def kill_all(self) -> None:
        """SIGKILL every process left in the sandbox's cgroups."""
        if "unified" in self.dirs and (self.dirs["unified"] / "cgroup.kill").exists():
            self._write("unified", "cgroup.kill", 1)
        self.freeze(False)
        sigkill_until_empty(self.pids, tries=50)

    def cpu_seconds(self) -> float | None:
        """CPU seconds the sandbox's processes have used (None where no cgroup counts them)."""
        if "unified" in self.dirs:
            return _cgroup_cpu_s(self.dirs["unified"], v2=True)
        if "cpuacct" in self.dirs:
            return _cgroup_cpu_s(self.dirs["cpuacct"], v2=False)
        return None

    def destroy(self) -> None:
        """Kill what is left, count the CPU time that did not reach this process's rusage, and
        remove the cgroups."""
        self.kill_all()
        used = self.cpu_seconds()
        if used is not None:
            _add_unreaped(used - (_children_cpu_s() - self.children_cpu_at_create))
        for path in self.dirs.values():
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs.clear()


@dataclass
class DelegatedCgroups:
    """Cgroup folders handed to a sandbox so that it can cap the processes it starts itself.

    Made beside a sandbox's own cgroups (``<name>-delegated``) with the memory and pids controllers
    available inside, and bound read-write into the sandbox: the scorer toolkit makes one child per
    command of the agent's code it runs, with that command's memory cap, and reads its OOM count.
    The sandbox's processes die with its pid namespace, so nothing in these folders outlives it.
    """

    name: str = field(default_factory=lambda: f"rdbench-{uuid.uuid4().hex[:12]}-delegated")
    mode: str = field(default_factory=cgroup_mode)
    dirs: list[Path] = field(default_factory=list)

    def create(self) -> list[Path]:
        """Make the folders (none where no cgroup hierarchy is writable) and return them."""
        try:
            if self.mode == "v2":
                path = CGROUP_ROOT / "rdbench" / self.name
                path.parent.mkdir(exist_ok=True)
                with contextlib.suppress(OSError):
                    controllers = (CGROUP_ROOT / "cgroup.controllers").read_text().split()
                    wanted = " ".join(f"+{c}" for c in ("memory", "pids") if c in controllers)
                    (CGROUP_ROOT / "cgroup.subtree_control").write_text(wanted)
                    (path.parent / "cgroup.subtree_control").write_text(wanted)
                path.mkdir()
                self.dirs.append(path)
                (path / "cgroup.subtree_control").write_text(
                    " ".join(f"+{c}" for c in ("memory", "pids")
                             if c in (path / "cgroup.controllers").read_text().split()))
            elif self.mode == "v1":
                base = CGROUP_ROOT / "memory"
                path = base / "rdbench" / self.name
                path.parent.mkdir(exist_ok=True)
                path.mkdir()
                self.dirs.append(path)
        except OSError as error:
            log.warning("rdbench sandbox: cannot delegate cgroups (%s): memory caps on the processes a "
                        "scorer starts are not available", error)
            self.destroy()
        return list(self.dirs)

    def destroy(self) -> None:
        """Kill what is left in the folders and remove them (children first). In cgroup v2 the
        processes moved into them left the sandbox's own cgroup: their CPU time is counted here."""
        for root in reversed(self.dirs):
            used = _cgroup_cpu_s(root, v2=True) if self.mode == "v2" else None
            if used is not None:
                _add_unreaped(used)
            for path in sorted(root.glob("*/"), reverse=True):
                if path.is_dir() and (path / "cgroup.procs").exists():
                    _kill_and_remove(path)
            _kill_and_remove(root)
        self.dirs.clear()


def _kill_and_remove(path: Path) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError):
            for pid in (path / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
