"""One running bwrap sandbox with its exec daemon: start, request, stop.

The persistent provider and the human shell use this; it knows nothing of Inspect.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from rdbench.sandbox.bwrap import SandboxLayout, base_environment, build_args
from rdbench.sandbox.config import RUN_DIR, HostUser
from rdbench.sandbox.errors import SandboxSetupError
from rdbench.sandbox.limits import CgroupLimits, LimitSpec
from rdbench.sandbox.users import setpriv_prefix

DAEMON_SOURCE = Path(__file__).with_name("daemon.py")
CONTROL_DIR = "/run/rdbench-control"
START_TIMEOUT_S = 15.0


class SandboxProcess:
    """A bwrap sandbox whose first process is the exec daemon.

    Args:
        layout: Mounts, environment, network and devices.
        limits: Memory, process and CPU limits of the whole sandbox.
        run_dir: Host directory bound read-only at ``/run/rdbench`` (host-call sockets live here).
        host_user: Run bwrap (and so everything inside) as this host user (root only; see
            :mod:`rdbench.sandbox.users`); None: as this process's user.
    """

    def __init__(self, layout: SandboxLayout, limits: LimitSpec, run_dir: Path,
                 host_user: HostUser | None = None) -> None:
        if host_user is not None:
            if os.geteuid() != 0:
                raise SandboxSetupError("a sandbox runs as a host user of its own only when rdbench runs as root")
            layout = dataclasses.replace(layout, run_as=host_user)
        self.layout = layout
        self.host_user = host_user
        self.cgroups = CgroupLimits(limits)
        self.run_dir = run_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="rdbench-sbx-"))
        self.control = self.workdir / "control"
        self.control.mkdir()
        self.socket = self.control / "daemon.sock"
        self.proc: asyncio.subprocess.Process | None = None
        self.env = base_environment(layout)
        self.started_s = 0.0
        self.init_pid: int | None = None
        """Host pid of the sandbox's first process (bwrap's ``--info-fd``): in every namespace of the
        sandbox, with its root; an interactive shell enters the sandbox through it."""

    async def start(self) -> None:
        """Start bwrap and wait until the daemon answers.

        Raises:
            SandboxSetupError: bwrap failed or the daemon did not come up.
        """
        began = time.perf_counter()
        shutil.copy(DAEMON_SOURCE, self.workdir / "daemon.py")
        args = build_args(self.layout, self.workdir)
        args += ["--bind", str(self.control), CONTROL_DIR,
                 "--ro-bind", str(self.run_dir), RUN_DIR,
                 "--ro-bind", str(self.workdir / "daemon.py"), f"{CONTROL_DIR}-daemon.py",
                 "--clearenv"]
        for key, value in self.env.items():
            args += ["--setenv", key, value]
        info_read, info_write = os.pipe()
        args += ["--info-fd", str(info_write)]
        prefix: list[str] = []
        if self.host_user is not None:
            # bwrap (root) builds the namespaces and mounts; the daemon, and so every command, runs
            # as the host user, which makes its socket in the control folder
            os.chown(self.control, self.host_user.uid, self.host_user.gid)
            prefix = setpriv_prefix(self.host_user)
        argv = [*args, *prefix, "/usr/bin/python3", "-I", "-S", f"{CONTROL_DIR}-daemon.py",
                f"{CONTROL_DIR}/daemon.sock"]
        self.cgroups.create()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.cgroups.wrap(argv),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=(info_write,),
            )
        except BaseException:
            os.close(info_read)
            raise
        finally:
            os.close(info_write)
        deadline = time.monotonic() + START_TIMEOUT_S
        info = b""
        os.set_blocking(info_read, False)
        try:
            while not self.socket.exists():
                info += _read_available(info_read)
                if self.proc.returncode is not None or time.monotonic() > deadline:
                    stderr = b""
                    if self.proc.stderr is not None:
                        with contextlib.suppress(Exception):
                            stderr = await asyncio.wait_for(self.proc.stderr.read(), 1)
                    await self.stop()
                    raise SandboxSetupError(
                        f"the bwrap sandbox failed to start: {stderr.decode().strip()}")
                await asyncio.sleep(0.002)
            info += _read_available(info_read)
        finally:
            os.close(info_read)
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.init_pid = int(json.loads(info)["child-pid"])
        self.started_s = time.perf_counter() - began

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request to the daemon and return its reply."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.socket), limit=2**28)
        except OSError as error:
            raise RuntimeError(
                f"the sandbox's exec daemon is unreachable ({error}); the sandbox has stopped"
            ) from error
        try:
            writer.write(json.dumps(payload).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if not line:
            raise RuntimeError("the sandbox's exec daemon closed the connection (killed?)")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def exec(
        self,
        argv: list[str],
        *,
        input: bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        output_limit: int,
    ) -> dict[str, Any]:
        """Run a command; returns the daemon's reply with decoded ``stdout``/``stderr`` bytes."""
        oom_before = self.cgroups.oom_kills()
        pids_before = self.cgroups.pids_limit_hits()
        reply = await self.request({
            "op": "exec",
            "argv": argv,
            "cwd": cwd,
            "env": {**self.env, **(env or {})},
            "input_b64": None if input is None else base64.b64encode(input).decode(),
            "timeout": timeout,
            "output_limit": output_limit,
        })
        if "error" in reply:
            raise RuntimeError(f"sandbox exec failed: {reply['error']}: {reply.get('message')}")
        reply["stdout"] = base64.b64decode(reply.pop("stdout_b64"))
        reply["stderr"] = base64.b64decode(reply.pop("stderr_b64"))
        reply["oom"] = self.cgroups.oom_kills() > oom_before
        reply["pids_limited"] = self.cgroups.pids_limit_hits() > pids_before
        return reply

    def freeze(self, frozen: bool) -> bool:
        return self.cgroups.freeze(frozen)

    async def stop(self) -> None:
        """Kill every process of the sandbox and remove its state."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.proc.wait(), 5)
        self.cgroups.destroy()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _read_available(fd: int) -> bytes:
    """What a non-blocking pipe holds now (b"" when empty or closed)."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk
