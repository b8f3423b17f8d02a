"""An interactive shell inside a running bwrap sandbox (for people: ``rdbench human``).

The sandbox's exec daemon answers one command at a time with captured output, which is no use for a
person at a terminal. Instead we enter the daemon's namespaces with ``nsenter`` (we are root on the
host), take its root directory, working directory and environment, and join the sandbox's cgroups
first, so the shell has exactly the agent's view and limits and is killed with the sandbox.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKSPACE = "/home/agent/workspace"
_NAMESPACES = {"user": "-U", "mnt": "-m", "pid": "-p", "net": "-n", "ipc": "-i", "uts": "-u"}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found.extend(int(p) for p in text.split())
    return found


def daemon_pid(bwrap_pid: int) -> int:
    """The pid (host view) of the sandbox's exec daemon, a descendant of the bwrap process.

    Raises:
        RuntimeError: No daemon process was found under ``bwrap_pid``.
    """
    queue = [bwrap_pid]
    while queue:
        pid = queue.pop(0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"daemon.sock" in cmdline and b"bwrap" not in cmdline.split(b"\0")[0]:
            return pid
        queue.extend(_children(pid))
    raise RuntimeError(f"no sandbox daemon under pid {bwrap_pid}")


def _environment(pid: int, extra: dict[str, str]) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
    extra_path = env.get("RDBENCH_EXTRA_PATH")
    if extra_path:
        env["PATH"] = f"{extra_path}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def shell_command(
    sandbox: Any, shell: str = "/bin/bash", extra_env: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of an interactive shell in ``sandbox``.

    Args:
        sandbox: A running ``BwrapSandboxEnvironment`` (its public ``process`` attribute is used).
        shell: The shell to run inside.
        extra_env: Variables set in the shell (e.g. ``PS1`` and ``PROMPT_COMMAND`` for a clock).
    """
    process = sandbox.process
    if process.proc is None:
        raise RuntimeError("the sandbox is not running")
    target = daemon_pid(process.proc.pid)
    flags = [flag for ns, flag in _NAMESPACES.items()
             if os.readlink(f"/proc/{target}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")]
    nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"
    # nsenter resolves --wd before entering the mount namespace, so the shell changes directory itself
    # a non-interactive bash unsets PS1 from its environment: export it again just before the
    # interactive shell starts
    argv = [nsenter, "-t", str(target), *flags, "--preserve-credentials", "-r",
            shell, "-c", f'cd {WORKSPACE} && export PS1="$RDBENCH_PS1" && exec {shell} -i']
    extra = {"TERM": os.environ.get("TERM", "xterm"), "PS1": "[rdbench] \\w$ ", **(extra_env or {})}
    extra["RDBENCH_PS1"] = extra.pop("PS1")
    env = _environment(target, extra)
    return process.cgroups.wrap(argv), env


def spawn_shell(sandbox: Any, **popen: Any) -> subprocess.Popen[bytes]:
    """Start an interactive shell in ``sandbox`` (pass ``process_group=0`` to kill it with
    ``os.killpg``); stdin/stdout/stderr are inherited unless given in ``popen``."""
    argv, env = shell_command(sandbox)
    return subprocess.Popen(argv, env=env, **popen)


class PtyShell:
    """A shell in the sandbox on its own pseudo-terminal, relayed to this process's stdin/stdout.

    The shell leads its own session on the new pty, so the person's Ctrl-C reaches the shell (not
    the Inspect process), and :meth:`kill` can end every process the person started (by session id).
    """

    def __init__(self, sandbox: Any, extra_env: dict[str, str] | None = None) -> None:
        import pty

        argv, env = shell_command(sandbox, extra_env=extra_env)
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, preexec_fn=_take_terminal)
        os.close(slave)
        self._saved: list[Any] | None = None
        self._stdin = sys.stdin.fileno()
        if os.isatty(self._stdin):
            import termios
            import tty

            self._saved = termios.tcgetattr(self._stdin)
            tty.setraw(self._stdin)

    def pump(self) -> None:
        """Move whatever is waiting between the terminal and the shell (never blocks)."""
        readable, _, _ = select.select([self.master, self._stdin], [], [], 0)
        if self.master in readable:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if data:
                os.write(sys.stdout.fileno(), data)
        if self._stdin in readable:
            data = os.read(self._stdin, 65536)
            if data:
                os.write(self.master, data)

    def alive(self) -> bool:
        """Whether the shell is still running."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """Send SIGKILL to the shell and everything started from it (does not wait: processes in a
        frozen sandbox die only once it is thawed, and thawing needs the event loop)."""
        for pid in _session_members(self.proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Restore the terminal and close the pty."""
        if self._saved is not None:
            import termios

            termios.tcsetattr(self._stdin, termios.TCSADRAIN, self._saved)
            self._saved = None
        with contextlib.suppress(OSError):
            os.close(self.master)


def _take_terminal() -> None:
    # runs in the child after setsid: make the pty its controlling terminal (bash job control)
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ProcessLookupError):
                if os.getsid(int(entry.name)) == sid:
                    members.append(int(entry.name))
    return members
