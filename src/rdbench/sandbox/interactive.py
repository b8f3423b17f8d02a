"""An interactive shell inside a running bwrap sandbox (for people: ``rdbench human``).

The sandbox's exec daemon answers one command at a time with captured output, which is no use for a
person at a terminal. Instead the provider's ``connection()`` (Inspect's mechanism for "connect to
this sample's sandbox") gives a command that enters the sandbox's namespaces with ``nsenter`` (we
are root on the host), takes its root directory and the sandbox's environment, and joins the
sandbox's cgroups first, so the shell has exactly the agent's view and limits and is killed with the
sandbox. :class:`PtyShell` runs such a command on a terminal of its own.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdbench.sandbox.process import SandboxProcess

_NAMESPACES = {"user": "-U", "mnt": "-m", "pid": "-p", "net": "-n", "ipc": "-i", "uts": "-u"}


def shell_command(process: SandboxProcess, shell: str = "/bin/bash") -> tuple[list[str], dict[str, str]]:
    """The argv and environment of an interactive shell in a running sandbox.

    The shell enters the namespaces and root of the sandbox's first process (its host pid is what
    bwrap reported when it started, no search of ``/proc``), gets the environment every command of
    the sandbox gets, and joins the sandbox's cgroups first.

    Raises:
        RuntimeError: The sandbox is not running.
    """
    target = process.init_pid
    if process.proc is None or process.proc.returncode is not None or target is None:
        raise RuntimeError("the sandbox is not running")
    flags = [flag for ns, flag in _NAMESPACES.items()
             if os.readlink(f"/proc/{target}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")]
    nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"
    # a sandbox run as a host user of its own (no user namespace): the shell takes that user's
    # credentials, rather than entering with root's
    user = process.host_user
    credentials = (["-S", str(user.uid), "-G", str(user.gid)] if user is not None
                   else ["--preserve-credentials"])
    # nsenter resolves --wd before entering the mount namespace, so the shell changes directory itself
    # a non-interactive bash unsets PS1 from its environment: export it again just before the
    # interactive shell starts
    workdir = shlex.quote(process.layout.workspace_target)
    argv = [nsenter, "-t", str(target), *flags, *credentials, "-r",
            shell, "-c", f'cd {workdir} && export PS1="$RDBENCH_PS1" && exec {shell} -i']
    env = dict(process.env)
    extra_path = env.get("RDBENCH_EXTRA_PATH")
    if extra_path:
        env["PATH"] = f"{extra_path}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update({"TERM": os.environ.get("TERM", "xterm"), "RDBENCH_PS1": "[rdbench] \\w$ "})
    return process.cgroups.wrap(argv), env


def connection_command(process: SandboxProcess) -> str:
    """:func:`shell_command` as one shell command line (Inspect's ``SandboxConnection.command``)."""
    argv, env = shell_command(process)
    return shlex.join(["env", "-i", *(f"{key}={value}" for key, value in env.items()), *argv])


class PtyShell:
    """A shell in the sandbox on its own pseudo-terminal, relayed to this process's stdin/stdout.

    The shell leads its own session on the new pty, so the person's Ctrl-C reaches the shell (not
    the Inspect process), and :meth:`kill` can end every process the person started (by session id).
    """

    def __init__(self, command: str, extra_env: dict[str, str] | None = None) -> None:
        """Run ``command`` (a sandbox's connection command) on a new pty.

        Args:
            command: The shell command line that opens a shell in the sandbox.
            extra_env: Variables for the shell (``PS1`` and ``PROMPT_COMMAND`` for a clock). A
                connection command starting with ``env -i`` (a clean environment, as this sandbox's
                is) gets them right after it; any other runs with them in its environment.
        """
        import pty

        extra = dict(extra_env or {})
        if "PS1" in extra:  # a non-interactive bash drops PS1: the shell exports it from here
            extra["RDBENCH_PS1"] = extra.pop("PS1")
        tokens = shlex.split(command)
        if extra and tokens[:2] == ["env", "-i"]:
            # after the command's own assignments, so that these win
            at = next((i for i in range(2, len(tokens)) if "=" not in tokens[i]), len(tokens))
            command = shlex.join([*tokens[:at], *(f"{k}={v}" for k, v in extra.items()), *tokens[at:]])
        argv = ["/bin/sh", "-c", command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}
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
