"""The scorer toolkit: the one way a task's ``protected/score.py`` reads the agent's files and runs its code.

Mounted read-only into every scoring sandbox (``import rdbench_scorer``; stdlib only, so it works in
any task environment). What it guarantees, so that each scorer does not have to get it right again:

* **Files at the moment of use.** :func:`open_file` walks the path from the workspace root one
  component at a time with ``O_NOFOLLOW``, refuses links, FIFOs, devices and hard links on the *opened*
  file, and reads from that descriptor. A check made earlier cannot be raced: swapping a checked file
  for a link between the check and the read changes nothing, because there is no separate check.
* **The agent's code in a fresh nested sandbox.** :func:`run_untrusted` and :class:`Untrusted` run a
  command in a new bubblewrap sandbox with its own ``/proc`` (it cannot see the scorer's process, its
  command line, environment or memory), a fresh ``/tmp`` and ``/dev``, no network, a cleared
  environment, and ``protected/``, the scorer's private folder, the call's parameters and the harness
  socket hidden. Timing is taken here, outside that process. Every process the scorer starts in any
  other way (``subprocess``, ``os.system``, ``os.exec*``, ``os.posix_spawn*``, ``multiprocessing``)
  is put in the same sandbox by :func:`install_guard`, which the harness calls before the scorer is
  imported. Isolation fails closed: a sandbox that cannot be made raises :class:`ScorerError`.
* **Invalid is not a scorer bug.** Raise :class:`Invalid` (or return :func:`invalid`) for a bad
  submission: it counts as the agent's. Any other exception is a *scorer error*: the harness's or the
  task's fault, recorded apart and never read as the agent's zero.

Hidden inputs: draw them from ``params["seed"]``, which is fresh for every call and which no process
the scorer starts can read (it reaches the scorer in a file hidden from them, not on a command line).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "Finished",
    "Invalid",
    "ScorerError",
    "Untrusted",
    "copy_in",
    "install_guard",
    "invalid",
    "load_tensors",
    "memcpy_floor_s",
    "open_file",
    "private_dir",
    "put_file",
    "read_bytes",
    "read_json",
    "read_text",
    "remove",
    "run_untrusted",
    "scored",
    "shared_dir",
]

PRIVATE_ENV = "RDBENCH_SCORER_PRIVATE"
HIDDEN_ENV = "RDBENCH_SCORER_HIDDEN"
"""Colon-separated paths that every nested sandbox covers with an empty folder (set by the shim)."""
CGROUP_DIR_ENV = "RDBENCH_SCORER_CGROUPS"
"""Colon-separated cgroup folders delegated to the scorer for caps on the processes it starts."""
GPU_WATCH_ENV = "RDBENCH_SCORER_GPU_WATCH"
"""Folder of the harness's GPU watchdog reports, set when the scale caps GPU memory (``gpu_memory_mb``)."""
GPU_CAP_ENV = "GPU_MEMORY_CAP_MB"
"""Tells the agent's code the GPU cap (MiB); ``lib/gpucap/sitecustomize.py`` reads it for PyTorch."""
GPU_WAIT_S = 15.0

DEFAULT_MAX_BYTES = 64 * 2**20


# --- results ---------------------------------------------------------------------------------------
class Invalid(Exception):
    """The submission is invalid: the agent's fault. Counts as no score."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ScorerError(Exception):
    """The scorer could not do its job (a bug, a missing package, no sandbox): not the agent's fault."""


def invalid(message: str, **details: Any) -> dict[str, Any]:
    """The result of an invalid submission."""
    return {"kind": "invalid", "value": None, "message": message, "details": details}


def scored(value: float, message: str, **details: Any) -> dict[str, Any]:
    """The result of a valid submission. A non-finite ``value`` is a scorer error, not a score."""
    number = float(value)
    if not math.isfinite(number):
        raise ScorerError(f"the scorer computed a non-finite score ({number}) for a valid submission")
    return {"kind": "scored", "value": number, "message": message, "details": details}


def private_dir() -> Path:
    """A folder of this scoring call that no process the scorer starts can see."""
    path = os.environ.get(PRIVATE_ENV)
    if not path:
        path = tempfile.mkdtemp(prefix="rdbench-scorer-")
        os.environ[PRIVATE_ENV] = path
    return Path(path)


_shared: list[str] = []


def shared_dir(prefix: str = "shared-") -> Path:
    """A new folder that the scorer and the processes it starts both see (at the same path).

    Use it to hand inputs to the agent's code and get outputs back; treat everything in it as written
    by the agent (read it with :func:`open_file`).
    """
    path = Path(tempfile.mkdtemp(prefix=f"rdbench-{prefix}", dir="/tmp"))
    path.chmod(0o777)
    _shared.append(str(path))
    return path


# --- files the agent may have written ----------------------------------------------------------------
def open_file(path: Path | str, root: Path | str, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> IO[bytes]:
    """Open ``path`` (inside ``root``) for reading, refusing anything but a plain regular file.

    Every component below ``root`` is opened with ``O_NOFOLLOW``; the opened file must be a regular
    file with one link and at most ``max_bytes`` bytes. Read from the returned file object only.

    Raises:
        Invalid: The path leaves ``root``, goes through a link, is missing, is not a regular file, is
            hard-linked, or is too large.
    """
    root_path, target = Path(root), Path(path)
    relative = target.relative_to(root_path) if target.is_absolute() else target
    shown = str(relative)
    parts = relative.parts
    if not parts or any(part in ("..", "") for part in parts) or relative.is_absolute():
        raise Invalid(f"{shown}: not a path inside the workspace")
    fd = os.open(root_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                raise Invalid(f"{shown} is missing") from None
            except (NotADirectoryError, OSError) as error:
                raise Invalid(f"{shown}: {part} is not a plain folder (links are refused): {error.strerror}") from None
            os.close(fd)
            fd = next_fd
        try:
            leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            raise Invalid(f"{shown} is missing") from None
        except OSError as error:
            raise Invalid(f"{shown} must be a regular file (links are refused): {error.strerror}") from None
    finally:
        os.close(fd)
    info = os.fstat(leaf)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"{shown} must be a regular file"
    elif info.st_nlink != 1:
        problem = f"{shown} must not be a hard link ({info.st_nlink} links)"
    elif max_bytes is not None and info.st_size > max_bytes:
        problem = f"{shown} is too large ({info.st_size} bytes; at most {max_bytes})"
    if problem:
        os.close(leaf)
        raise Invalid(problem)
    os.set_blocking(leaf, True)
    return os.fdopen(leaf, "rb")


def read_bytes(path: Path | str, root: Path | str, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a file the agent wrote (see :func:`open_file`)."""
    with open_file(path, root, max_bytes=max_bytes) as handle:
        data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise Invalid(f"{path} grew past {max_bytes} bytes while being read")
    return data


def read_text(path: Path | str, root: Path | str, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of a file the agent wrote (see :func:`open_file`)."""
    try:
        return read_bytes(path, root, max_bytes=max_bytes).decode()
    except UnicodeDecodeError as error:
        raise Invalid(f"{path} is not UTF-8 text: {error}") from None


def read_json(path: Path | str, root: Path | str, *, max_bytes: int = 1 << 20) -> Any:
    """The JSON value in a file the agent wrote (see :func:`open_file`)."""
    text = read_text(path, root, max_bytes=max_bytes)
    try:
        return json.loads(text)
    except ValueError as error:
        raise Invalid(f"{path} is not valid JSON: {error}") from None


def load_tensors(path: Path | str, root: Path | str, *, max_bytes: int = 1 << 30) -> Any:
    """``torch.load(weights_only=True)`` of a file the agent wrote, from bytes read at the moment of use.

    Only data is loaded (no pickled code runs). Check what comes back (types, names, shapes, dtypes,
    finiteness) before using it.
    """
    import torch  # the task environment's

    data = read_bytes(path, root, max_bytes=max_bytes)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:
        # torch's message starts with a long hint to load with weights_only=False: show the reason
        text = str(error)
        why = re.search(r"(Trying to load unsupported|WeightsUnpickler error|Unsupported global)[^\n]*", text)
        reason = why.group(0) if why else (text.strip().splitlines() or [""])[0]
        raise Invalid(f"cannot load {path} as data (torch.load weights_only): {type(error).__name__}: "
                      f"{reason[:300]}") from None


def copy_in(path: Path | str, root: Path | str, dest: Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Path:
    """Copy a file the agent wrote to ``dest`` (e.g. in :func:`private_dir`), checked at the moment of use."""
    with open_file(path, root, max_bytes=max_bytes) as handle, open(dest, "wb") as out:
        shutil.copyfileobj(handle, out)
    return dest


def _inside(root: Path | str, relative: str) -> Path:
    """``root/relative`` after checking that no folder on the way is a link (Invalid otherwise)."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise Invalid(f"{relative}: not a path inside the workspace")
    here = Path(root)
    for part in parts[:-1]:
        here = here / part
        if here.is_symlink() or (here.exists() and not here.is_dir()):
            raise Invalid(f"{relative}: {part} must be a plain folder (links are refused)")
    return Path(root, *parts)


def remove(root: Path | str, relative: str) -> None:
    """Delete whatever is at ``root/relative`` (file, link or folder). Call it only while none of the
    agent's processes runs (between :func:`run_untrusted` calls)."""
    target = _inside(root, relative)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    elif os.path.lexists(target):
        target.unlink()


def put_file(source: Path | str, root: Path | str, relative: str) -> Path:
    """Copy the scorer's ``source`` to ``root/relative``, replacing whatever the agent left there
    (a link, a folder, a file) and making the folders on the way. Call it only while none of the
    agent's processes runs."""
    remove(root, relative) if os.path.lexists(_inside(root, relative)) else None
    target = _inside(root, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    _inside(root, relative)  # the folders just made are plain
    shutil.copyfile(source, target)
    return target


def memcpy_floor_s(nbytes: int, repeats: int = 5) -> float:
    """Seconds this process takes to copy ``nbytes`` bytes between two buffers already in memory
    (the fastest of ``repeats``, after one untimed copy that brings every page in).

    A physical floor for timed work that must at least read its input and write its output: a
    measured time well below it means the work was done outside the timed window.
    """
    source = bytearray(os.urandom(min(nbytes, 1 << 16))) * max(1, -(-nbytes // (1 << 16)))
    target = bytearray(len(source))
    target[:] = source  # pages in, untimed
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        target[:] = source
        best = min(best, time.perf_counter() - started)
    return best


# --- running the agent's code --------------------------------------------------------------------------
@dataclass
class Finished:
    """What a finished untrusted command did. ``seconds`` is wall time measured by the scorer."""

    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool
    out_of_memory: bool
    peak_memory_mb: float | None = None
    """The most memory the whole command held at once (its cgroup's peak, page cache included), where
    it ran under ``memory_mb``; None otherwise or where the kernel does not record it."""
    over_gpu_memory: bool = False
    """The harness's GPU watchdog killed it: its process tree held more GPU memory than the cap."""
    peak_gpu_memory_mb: float | None = None
    """The most GPU memory the whole command held at any poll of the watchdog (MiB; a spike shorter
    than the polling interval can pass unseen); None where no GPU cap is in force or no GPU is visible."""
    gpu_memory_cap_mb: float | None = None
    """The GPU memory cap it ran under (the scale's ``gpu_memory_mb``); None where there is none."""
    gpu_note: str | None = None
    """Why ``peak_gpu_memory_mb`` is None under a cap (``no GPU visible``)."""

    @property
    def ok(self) -> bool:
        """Exited with status 0, in time, within memory and within GPU memory."""
        return self.returncode == 0 and not self.timed_out and not self.out_of_memory and not self.over_gpu_memory

    def gpu_over_text(self) -> str:
        """``over the GPU memory cap (peak X MiB > cap Y MiB)``."""
        peak = "unknown" if self.peak_gpu_memory_mb is None else f"{self.peak_gpu_memory_mb:.0f}"
        cap = "unknown" if self.gpu_memory_cap_mb is None else f"{self.gpu_memory_cap_mb:.0f}"
        return f"over the GPU memory cap (peak {peak} MiB > cap {cap} MiB)"

    def stdout_text(self) -> str:
        return self.stdout.decode(errors="replace")

    def stderr_tail(self, chars: int = 800) -> str:
        return self.stderr.decode(errors="replace")[-chars:]

    def why(self, what: str = "the command") -> str:
        """One line saying how it failed (for :class:`Invalid`)."""
        if self.timed_out:
            return f"{what} did not finish within its time limit ({self.seconds:.0f} s)"
        if self.over_gpu_memory:
            return f"{what} went {self.gpu_over_text()} and was killed"
        if self.out_of_memory:
            return f"{what} ran out of memory (its memory cap was hit)"
        tail = self.stderr_tail(300).strip().splitlines()[-1:] or ["no error output"]
        return f"{what} failed (exit {self.returncode}): {tail[0]}"


_tls = threading.local()
_guard: dict[str, Any] = {}
_work_lock = threading.Lock()
work: dict[str, float] = {"untrusted_runs": 0, "untrusted_seconds": 0.0}
"""What this scoring call ran of the agent's code (the shim puts it in the entry's details): a
hidden-score task's calls must do the same work whatever the hidden label (docs/task-format.md)."""


def _count(seconds: float) -> None:
    with _work_lock:
        work["untrusted_runs"] += 1
        work["untrusted_seconds"] += seconds
_CHILD_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "HOME", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES",
                   "CUDA_DEVICE_ORDER", "TERM", "USER", "LOGNAME")


def _bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise ScorerError("bubblewrap (bwrap) is not available inside the scoring sandbox: the agent's code "
                          "cannot be isolated, so it is not run")
    return path


def _hidden() -> list[str]:
    paths = [p for p in os.environ.get(HIDDEN_ENV, "").split(":") if p]
    private = os.environ.get(PRIVATE_ENV)
    if private:
        paths.append(private)
    return paths


def launcher_environment() -> dict[str, str]:
    """The environment of the ``bwrap`` process itself. Its init process (pid 1 of the nested
    sandbox) keeps it, readable in ``/proc/1/environ`` from inside: nothing of the scorer's."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a nested sandbox: a few plain variables of the scorer's plus ``extra``."""
    env = {key: os.environ[key] for key in _CHILD_ENV_KEEP if key in os.environ}
    env.update({"TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))})
    env.update(extra or {})
    return env


def sandbox_argv(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
                 share: Sequence[Path | str] = ()) -> list[str]:
    """The command line that runs ``argv`` in a fresh nested sandbox (see the module docstring)."""
    args = [_bwrap(), "--dev-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-net", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    for device in sorted(os.listdir("/dev")):
        if device.startswith("nvidia"):
            full = f"/dev/{device}"
            if os.path.isdir(full):
                for sub in sorted(os.listdir(full)):
                    args += ["--dev-bind", f"{full}/{sub}", f"{full}/{sub}"]
            else:
                args += ["--dev-bind", full, full]
    for path in _hidden():
        if os.path.isdir(path):
            args += ["--tmpfs", path]
        elif os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    for path in [*_shared, *map(str, share)]:
        if os.path.exists(path):
            args += ["--bind", path, path]
    args += ["--clearenv"]
    for key, value in child_environment(env).items():
        args += ["--setenv", key, value]
    if cwd is not None:
        args += ["--chdir", str(cwd)]
    return [*args, "--", *map(os.fsdecode, argv)]


class _GpuWatch:
    """The scorer's side of the harness's GPU memory watchdog (``rdbench.sandbox.gpuwatch``).

    The harness polls the driver for each cgroup the scorer makes for the agent's code, kills one over
    the cap, and writes ``<cgroup name>.json`` into :data:`GPU_WATCH_ENV`'s folder (read-only here).
    """

    def __init__(self) -> None:
        folder = os.environ.get(GPU_WATCH_ENV)
        self.folder = Path(folder) if folder else None

    @property
    def active(self) -> bool:
        return self.folder is not None

    def _read(self, name: str) -> dict[str, Any] | None:
        assert self.folder is not None
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((self.folder / f"{name}.json").read_text())
            return data if isinstance(data, dict) else None
        return None

    def wait(self, name: str, polls_after: int = 0) -> dict[str, Any]:
        """The report on cgroup ``name`` once the watchdog has polled it more than ``polls_after`` times
        (fails closed: a run the watchdog does not watch is not run, a watchdog that cannot read the
        GPU is a scorer error)."""
        deadline = time.monotonic() + GPU_WAIT_S
        while True:
            report = self._read(name)
            if report is not None and report.get("error"):
                raise ScorerError(f"the GPU memory cap cannot be enforced: {report['error']}")
            if report is not None and int(report.get("polls", 0)) > polls_after:
                return report
            if time.monotonic() > deadline:
                raise ScorerError(f"the harness's GPU watchdog did not report on {name} within {GPU_WAIT_S:.0f} s: "
                                  "the GPU memory cap cannot be enforced, so the command is not run")
            time.sleep(0.02)

    @staticmethod
    def environment(extra: Mapping[str, str] | None, cap_mb: float | None) -> dict[str, str]:
        """``extra`` plus the cooperative layer: the cap for PyTorch (``lib/gpucap/sitecustomize.py``)."""
        env = dict(extra or {})
        if cap_mb is not None:
            env[GPU_CAP_ENV] = f"{cap_mb:g}"
            site = str(Path(__file__).with_name("gpucap"))
            env["PYTHONPATH"] = site + (f":{env['PYTHONPATH']}" if env.get("PYTHONPATH") else "")
        return env


class _CgroupCap:
    """A memory cap on one untrusted command, in a cgroup delegated to the scorer by the harness.

    Where the harness watches GPU memory (the scale's ``gpu_memory_mb``), every command gets a cgroup,
    with or without a memory cap: the watchdog finds the command's processes by it.
    """

    def __init__(self, memory_mb: int | None, gpu: _GpuWatch | None = None) -> None:
        self.dirs: list[Path] = []
        self.gpu = gpu if gpu is not None and gpu.active else None
        self.name = f"untrusted-{os.getpid()}-{time.monotonic_ns()}"
        if memory_mb is None and self.gpu is None:
            return
        roots = [Path(p) for p in os.environ.get(CGROUP_DIR_ENV, "").split(":") if p]
        if not roots:
            what = "a memory cap" if memory_mb is not None else "a GPU memory cap"
            raise ScorerError(f"{what} was asked for but the harness delegated no cgroup to the scorer "
                              "(no writable cgroup hierarchy on this host): the cap cannot be enforced")
        for root in roots:
            path = root / self.name
            path.mkdir()
            self.dirs.append(path)
            if memory_mb is None:
                continue
            limit = str(memory_mb * 2**20)
            if (path / "memory.max").exists():
                (path / "memory.max").write_text(limit)
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
            elif (path / "memory.limit_in_bytes").exists():
                (path / "memory.limit_in_bytes").write_text(limit)
                with contextlib.suppress(OSError):
                    (path / "memory.memsw.limit_in_bytes").write_text(limit)

    def watch(self) -> tuple[int, float | None]:
        """Wait until the GPU watchdog watches this cgroup (before anything runs in it): its poll count
        and the cap (None where no GPU cap is in force)."""
        if self.gpu is None:
            return 0, None
        try:
            report = self.gpu.wait(self.name)
        except BaseException:
            self.close()
            raise
        return int(report.get("polls", 0)), float(report["cap_mb"])

    def gpu_result(self, polls_before: int) -> dict[str, Any]:
        """What the watchdog saw (after a poll that began once the command had ended)."""
        if self.gpu is None:
            return {}
        report = self.gpu.wait(self.name, polls_after=max(polls_before, self._polls()) + 1)
        peak = report.get("peak_mb")
        visible = report.get("gpu_visible")
        return {"over_gpu_memory": bool(report.get("over_cap")),
                "peak_gpu_memory_mb": None if peak is None or visible is False else float(peak),
                "gpu_memory_cap_mb": float(report["cap_mb"]),
                "gpu_note": "no GPU visible" if visible is False else None}

    def _polls(self) -> int:
        assert self.gpu is not None
        report = self.gpu._read(self.name) or {}
        return int(report.get("polls", 0))

    def wrap(self, argv: list[str]) -> list[str]:
        if not self.dirs:
            return argv
        joins = " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]

    def oom_kills(self) -> int:
        for path in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                with contextlib.suppress(OSError):
                    for line in (path / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return int(value)
        return 0

    def peak_bytes(self) -> int | None:
        """The cgroup's peak memory use (cgroup v2 ``memory.peak``, v1 ``memory.max_usage_in_bytes``)."""
        for path in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return int((path / name).read_text().split()[0])
        return None

    def close(self) -> None:
        for path in self.dirs:
            for _ in range(200):
                procs = []
                with contextlib.suppress(OSError):
                    procs = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                for pid in procs:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs.clear()


@contextlib.contextmanager
def _raw_spawn() -> Iterator[None]:
    """Spawn without the guard's wrapping (the command is already sandboxed)."""
    previous = getattr(_tls, "raw", False)
    _tls.raw = True
    try:
        yield
    finally:
        _tls.raw = previous


class Untrusted:
    """The agent's code running in a nested sandbox, with pipes: for scorers that talk to it.

    ``stdin`` and ``stdout`` are pipes; stderr goes to a file in the scorer's private folder
    (:meth:`stderr_tail`). Call :meth:`close` (or use it as a context manager): it kills the sandbox,
    and with it everything the code started.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path | str, env: Mapping[str, str] | None = None,
                 share: Sequence[Path | str] = (), memory_mb: int | None = None) -> None:
        self._cap = _CgroupCap(memory_mb, _GpuWatch())
        self._polls, gpu_cap = self._cap.watch()
        self._closed = False
        self._stderr_path = Path(tempfile.mkstemp(prefix="untrusted-", suffix=".stderr", dir=private_dir())[1])
        try:
            command = self._cap.wrap(sandbox_argv(argv, env=_GpuWatch.environment(env, gpu_cap), cwd=cwd,
                                                  share=share))
        except BaseException:
            self._cap.close()
            raise
        self.gpu: dict[str, Any] = {}
        """After :meth:`close`, where a GPU cap is in force: what the watchdog saw (``over_gpu_memory``,
        ``peak_gpu_memory_mb``, ``gpu_memory_cap_mb``, ``gpu_note``, as in :class:`Finished`)."""
        try:
            with _raw_spawn(), open(self._stderr_path, "wb") as err:
                self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                             start_new_session=True, env=launcher_environment())
        except OSError as error:
            self._cap.close()
            raise ScorerError(f"cannot start the nested sandbox: {error}") from error
        self.started = time.perf_counter()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout

    def stderr_tail(self, chars: int = 800) -> str:
        try:
            return self._stderr_path.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""

    @property
    def out_of_memory(self) -> bool:
        return self._cap.oom_kills() > 0

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self._closed:
            return
        self._closed = True
        try:
            self.gpu = self._cap.gpu_result(self._polls)
        finally:
            self._cap.close()
            _count(time.perf_counter() - self.started)

    def __enter__(self) -> Untrusted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_untrusted(argv: Sequence[str], *, cwd: Path | str, timeout: float, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, share: Sequence[Path | str] = (),
                  memory_mb: int | None = None, output_limit: int = 8 * 2**20) -> Finished:
    """Run the agent's code to completion in a fresh nested sandbox (see the module docstring).

    When it returns, every process the command started is dead (the sandbox's pid namespace is gone),
    so what it wrote can no longer change: read it with :func:`open_file`.

    Args:
        argv: The command (``sys.executable`` is the task environment's Python).
        cwd: Its working directory (usually the workspace).
        timeout: Seconds of wall time, measured here; the whole sandbox is killed at the limit.
        stdin: Bytes for its standard input (a way to pass inputs that no file holds).
        env: Extra environment variables (the rest of the scorer's environment is not passed).
        share: Folders to show it besides the workspace (prefer :func:`shared_dir`).
        memory_mb: A memory cap for the whole command (a cgroup); :class:`ScorerError` where the host
            cannot enforce one.
        output_limit: Bytes of stdout and of stderr kept.

    Where the scale caps GPU memory (``gpu_memory_mb``) the harness's watchdog watches the command's
    cgroup from before it starts (or it is not run: :class:`ScorerError`) and kills its whole process
    tree over the cap: ``over_gpu_memory``, ``peak_gpu_memory_mb`` (None with ``gpu_note`` "no GPU
    visible" where there is no GPU) and ``gpu_memory_cap_mb`` say what it saw. The command's
    environment also gets ``GPU_MEMORY_CAP_MB`` and a ``sitecustomize`` that sets PyTorch's memory
    fraction (cooperative only: the watchdog is the enforcing layer).
    """
    cap = _CgroupCap(memory_mb, _GpuWatch())
    polls, gpu_cap = cap.watch()
    try:
        command = cap.wrap(sandbox_argv(argv, env=_GpuWatch.environment(env, gpu_cap), cwd=cwd, share=share))
    except BaseException:
        cap.close()
        raise
    out_path = private_dir() / f"untrusted-{threading.get_ident()}-{time.monotonic_ns()}"
    try:
        with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
            started = time.perf_counter()
            try:
                with _raw_spawn():
                    proc = subprocess.Popen(command, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                            stdout=out, stderr=err, start_new_session=True,
                                            env=launcher_environment())
            except OSError as error:
                raise ScorerError(f"cannot start the nested sandbox: {error}") from error
            timed_out = False
            try:
                proc.communicate(input=stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            seconds = time.perf_counter() - started
            _count(seconds)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            oom = cap.oom_kills() > 0
            peak = cap.peak_bytes()
            gpu_seen = cap.gpu_result(polls)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(output_limit), err.read(output_limit)
        if proc.returncode is not None and proc.returncode != 0 and b"bwrap:" in stderr[:400] and \
                not stderr.lstrip().startswith(b"Traceback"):
            first = stderr.decode(errors="replace").strip().splitlines()[0]
            if first.startswith("bwrap:"):
                raise ScorerError(f"the nested sandbox could not be made: {first}")
        code = proc.returncode if proc.returncode is not None else -9
        return Finished(returncode=code, stdout=stdout, stderr=stderr, seconds=seconds, timed_out=timed_out,
                        out_of_memory=oom, peak_memory_mb=None if peak is None else peak / 2**20, **gpu_seen)
    finally:
        cap.close()
        for suffix in (".out", ".err"):
            with contextlib.suppress(OSError):
                os.unlink(f"{out_path}{suffix}")


# --- the guard: every process the scorer starts is sandboxed -------------------------------------------
def install_guard() -> None:
    """Route every way this process can start a program through the nested sandbox (fails closed).

    Covers ``subprocess`` (and ``os.popen``, ``os.system``), ``os.exec*``, ``os.posix_spawn`` and
    ``os.posix_spawnp``, and ``multiprocessing``'s spawn and forkserver starts (which exec through
    ``_posixsubprocess``). A process started any of these ways sees what :func:`run_untrusted` shows.
    """
    if _guard:
        return
    _bwrap()  # fail now, not at the first command, when no sandbox can be made
    import _posixsubprocess

    original_init = subprocess.Popen.__init__
    _guard["popen_init"] = original_init

    def guarded_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if getattr(_tls, "raw", False):
            original_init(self, args, *rest, **kwargs)
            return
        if kwargs.get("shell"):
            command = args if isinstance(args, (str, bytes)) else " ".join(map(os.fsdecode, args))
            argv: list[Any] = [kwargs.pop("executable", None) or "/bin/sh", "-c", os.fsdecode(command)]
            kwargs["shell"] = False
        else:
            argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
            executable = kwargs.pop("executable", None)
            if executable is not None:
                argv[0] = executable
        env = kwargs.pop("env", None)
        extra = {} if env is None else {k: v for k, v in dict(env).items()
                                        if not k.startswith("RDBENCH_") and os.environ.get(k) != v}
        cwd = kwargs.pop("cwd", None)
        wrapped = sandbox_argv(argv, env=extra, cwd=cwd or os.getcwd())
        kwargs["env"] = launcher_environment()
        with _raw_spawn():
            original_init(self, wrapped, *rest, **kwargs)

    subprocess.Popen.__init__ = guarded_init  # type: ignore[method-assign]

    def system(command: Any) -> int:
        return subprocess.call(command, shell=True)

    os.system = system

    real_execve = os.execve

    def _wrap_exec(name: str, with_env: bool) -> None:
        def wrapped(path: Any, args: Any, *rest: Any) -> Any:
            argv = [os.fsdecode(path), *map(os.fsdecode, list(args)[1:])]
            env = dict(rest[0]) if with_env and rest else None
            extra = {} if env is None else {k: v for k, v in env.items() if not k.startswith("RDBENCH_")}
            command = sandbox_argv(argv, env=extra, cwd=os.getcwd())
            return real_execve(command[0], command, launcher_environment())

        setattr(os, name, wrapped)

    _wrap_exec("execv", False)
    _wrap_exec("execve", True)
    # execvp/execvpe/execlp... resolve the program on PATH and end in execv/execve (patched above)

    def _wrap_spawn(name: str) -> None:
        original = getattr(os, name, None)
        if original is None:
            return

        def wrapped(path: Any, argv: Any, env: Any, **kwargs: Any) -> int:
            program = shutil.which(os.fsdecode(path)) if name == "posix_spawnp" else os.fsdecode(path)
            full = [program or os.fsdecode(path), *map(os.fsdecode, list(argv)[1:])]
            extra = {k: v for k, v in dict(env).items() if not k.startswith("RDBENCH_")}
            command = sandbox_argv(full, env=extra, cwd=os.getcwd())
            return int(original(command[0], command, launcher_environment(), **kwargs))

        setattr(os, name, wrapped)

    _wrap_spawn("posix_spawn")
    _wrap_spawn("posix_spawnp")

    original_fork_exec = _posixsubprocess.fork_exec

    def fork_exec(*args: Any) -> Any:
        # multiprocessing's spawn/forkserver call this directly (subprocess goes through Popen above,
        # whose argv is already sandboxed and carries the raw flag)
        if getattr(_tls, "raw", False):
            return original_fork_exec(*args)
        argv = [os.fsdecode(a) for a in args[0]]
        candidates = [os.fsdecode(c) for c in args[1]]
        program = next((c for c in candidates if os.path.exists(c)), candidates[0] if candidates else argv[0])
        argv = [program, *argv[1:]]
        cwd = os.fsdecode(args[4]) if len(args) > 4 and args[4] else os.getcwd()
        command = sandbox_argv(argv, cwd=cwd)
        encoded = [os.fsencode(a) for a in command]
        executables = [os.fsencode(command[0])]
        rest = list(args[2:])
        if len(rest) > 3:  # (close_fds, pass_fds, cwd, env, ...): the launcher's own environment
            rest[3] = [os.fsencode(f"{k}={v}") for k, v in launcher_environment().items()]
        return original_fork_exec(encoded, executables, *rest)

    _posixsubprocess.fork_exec = fork_exec
    _guard["installed"] = True


def run_scorer_module(module: Any, workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Call ``module.score`` and turn its outcome into a result with a kind (used by the shim)."""
    try:
        result = module.score(workspace, protected, params)
    except Invalid as error:
        return invalid(error.message, **error.details)
    if not isinstance(result, dict):
        raise ScorerError(f"score() returned {type(result).__name__}, not a dict")
    kind = result.get("kind")
    value = result.get("value")
    try:
        number = None if value is None else float(value)
    except (TypeError, ValueError):
        raise ScorerError(f"score() returned a value that is not a number: {value!r}") from None
    if kind is None:  # a scorer written before kinds: NaN (or None) means an invalid submission
        kind = "scored" if number is not None and math.isfinite(number) else "invalid"
    if kind not in ("scored", "invalid"):
        raise ScorerError(f"score() returned an unknown kind {kind!r}")
    if kind == "scored" and (number is None or not math.isfinite(number)):
        raise ScorerError(f"score() returned kind 'scored' with a non-finite value {value!r}")
    details = result.get("details") or {}
    if not isinstance(details, dict):
        raise ScorerError("score()'s details must be a dict")
    return {"kind": kind, "value": number if kind == "scored" else None,
            "message": str(result.get("message", "")), "details": details}


if __name__ == "__main__":  # pragma: no cover - a module to import, not a program
    sys.exit("rdbench_scorer is imported by task scorers inside the scoring sandbox")
