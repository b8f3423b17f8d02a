"""One-shot isolated runs (for scoring): a fresh bwrap sandbox per command, torn down after it.

Overlays give the command a writable copy-on-write view of a host folder (kernel overlayfs mounted
inside an unprivileged user and mount namespace, which bwrap 0.8 cannot do itself): nothing written
reaches the host folder, and the cost does not grow with the folder's size. What the command writes
there lands on a size-limited filesystem (:mod:`rdbench.sandbox.quota`) where the host allows one.

``private_proc`` gives the command a full ``/proc`` of its own pid namespace at a path of its
choosing (bwrap's ``/proc`` has covered sub-folders, and the kernel lets a sandbox mount a new
``/proc`` only where an uncovered one is already visible): with it, the command can start nested
sandboxes that have their own ``/proc`` and so cannot see it. ``delegate_cgroups_to`` binds cgroup
folders into the sandbox with which it can cap the memory of the commands it starts.

A timeout or an out-of-memory is reported in the result, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import tempfile
import time
from pathlib import Path

from rdbench.sandbox.api import OneShotResult as OneShotResult
from rdbench.sandbox.api import OneShotSpec as OneShotSpec
from rdbench.sandbox.api import Overlay as Overlay
from rdbench.sandbox.bwrap import SandboxLayout, base_environment, build_args
from rdbench.sandbox.errors import SandboxSetupError
from rdbench.sandbox.gpuwatch import GpuUsageReader, GpuWatchdog, NvidiaSmiReader
from rdbench.sandbox.limits import CgroupLimits, DelegatedCgroups, LimitSpec
from rdbench.sandbox.quota import SizedFolder


async def _read_capped(stream: asyncio.StreamReader | None, limit: int) -> tuple[bytes, bool]:
    if stream is None:
        return b"", False
    parts: list[bytes] = []
    size = 0
    truncated = False
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            break
        room = limit - size
        if room > 0:
            parts.append(chunk[:room])
            size += min(room, len(chunk))
        if len(chunk) > room:
            truncated = True
    return b"".join(parts), truncated


def _command(spec: OneShotSpec, workdir: Path, scratch: Path, delegated: list[Path],
             gpu_reports: Path | None = None) -> list[str]:
    env = dict(spec.env)
    extra: list[str] = []
    if spec.delegate_cgroups_to and delegated:
        targets = [f"{spec.delegate_cgroups_to}/{i}" for i in range(len(delegated))]
        for source, target in zip(delegated, targets, strict=True):
            extra += ["--bind", str(source), target]
        env[spec.delegate_cgroups_env] = ":".join(targets)
    if gpu_reports is not None:
        extra += ["--ro-bind", str(gpu_reports), spec.gpu_report_to]
        env[spec.gpu_report_env] = spec.gpu_report_to
    layout = SandboxLayout(
        workspace=None,
        mounts=list(spec.mounts),
        python_env=spec.python_env,
        network=spec.network,
        gpus=list(spec.gpus),
        env=env,
        extra_args=extra,
        root=spec.root,
        passwd=spec.passwd,
        group=spec.group,
    )
    args = build_args(layout, workdir)
    # host root mounts the overlays in a mount namespace of its own; anyone else needs a user
    # namespace for that (and then bwrap runs inside it)
    real_root = spec.root and os.geteuid() == 0
    setup: list[str] = []
    if spec.private_proc:
        # the pid namespace of `unshare --fork` below; its /proc has no covered sub-folders
        (workdir / "proc").mkdir()
        args += ["--bind", str(workdir / "proc"), spec.private_proc]
    for i, overlay in enumerate(spec.overlays):
        if not overlay.lower.is_dir():
            raise SandboxSetupError(f"overlay source {overlay.lower} is not a directory")
        base = scratch / f"overlay{i}"
        for sub in ("lower", "upper", "work", "merged"):
            (base / sub).mkdir(parents=True)
        # bind first, so unusual characters in the source path never reach the overlay options
        setup.append(f"mount --bind {shlex.quote(str(overlay.lower))} {base / 'lower'}")
        options = f"lowerdir={base / 'lower'},upperdir={base / 'upper'},workdir={base / 'work'}"
        mount = f"mount -t overlay overlay -o {options} {base / 'merged'}"
        if not real_root:
            # in a user namespace overlayfs cannot set its trusted.* attributes: without userxattr
            # (Linux 5.11+) removing a folder of the lower layer fails with EIO; older kernels lack
            # the option and mount without it
            with_userxattr = f"mount -t overlay overlay -o {options},userxattr {base / 'merged'}"
            mount = f"{{ {with_userxattr} 2>/dev/null || {mount}; }}"
        setup.append(mount)
        args += ["--bind", str(base / "merged"), overlay.target]
    args += ["--clearenv"]
    for key, value in base_environment(layout).items():
        args += ["--setenv", key, value]
    if spec.cwd:
        # build_args already chose a working directory; replace it (bwrap warns about two)
        at = len(args) - 1 - args[::-1].index("--chdir") if "--chdir" in args else None
        if at is not None:
            del args[at : at + 2]
        args += ["--chdir", spec.cwd]
    inner = [*args, *spec.argv]
    if not setup and not spec.private_proc:
        return inner
    script = " && ".join([*setup, "exec " + " ".join(shlex.quote(a) for a in inner)])
    namespaces = ["--mount"] if real_root else ["--user", "--map-root-user", "--mount"]
    if spec.private_proc:
        namespaces += ["--pid", "--fork", "--kill-child", f"--mount-proc={workdir / 'proc'}"]
    return ["unshare", *namespaces, "--", "/bin/sh", "-c", script]


async def run_oneshot(spec: OneShotSpec, gpu_reader: GpuUsageReader | None = None) -> OneShotResult:
    """Run ``spec.argv`` in a fresh sandbox and tear it down.

    Raises:
        SandboxSetupError: The sandbox could not be built (e.g. bwrap missing). A failing, timed-out
            or killed command is a result, not an exception.
    """
    workdir = Path(tempfile.mkdtemp(prefix="rdbench-oneshot-"))
    cgroups = CgroupLimits(LimitSpec(spec.memory_mb, spec.pids, spec.cpus))
    delegated = DelegatedCgroups()
    scratch = SizedFolder(workdir / "scratch", spec.disk_mb or 0)
    started = time.monotonic()
    watchdog: GpuWatchdog | None = None
    try:
        if spec.disk_mb and spec.overlays:
            scratch.create()
        else:
            scratch.path.mkdir()
        dirs = delegated.create() if spec.delegate_cgroups_to else []
        if spec.gpu_memory_mb is not None and dirs:
            # a GPU cap on each run the command starts in the delegated cgroups, enforced from here
            # (the driver reports host pids; this process reads the cgroups' host pids)
            watchdog = GpuWatchdog(dirs, spec.gpu_memory_mb, workdir / "gpu", gpu_reader or NvidiaSmiReader())
            watchdog.start()
        argv = _command(spec, workdir, scratch.path, dirs, watchdog.report_dir if watchdog else None)
        cgroups.create()
        proc = await asyncio.create_subprocess_exec(
            *cgroups.wrap(argv),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        readers = asyncio.gather(
            _read_capped(proc.stdout, spec.output_limit), _read_capped(proc.stderr, spec.output_limit)
        )
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), spec.timeout)
        except TimeoutError:
            timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        cgroups.kill_all()
        await proc.wait()
        (out, t1), (err, t2) = await readers
        oom = cgroups.oom_kills() > 0
        code = proc.returncode if proc.returncode is not None else -9
        return OneShotResult(
            returncode=128 - code if code < 0 else code,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"),
            timed_out=timed_out,
            oom=oom,
            output_truncated=t1 or t2,
            duration_s=time.monotonic() - started,
        )
    finally:
        if watchdog is not None:
            watchdog.stop()
        cgroups.destroy()
        delegated.destroy()
        scratch.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
