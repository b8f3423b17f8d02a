"""Check Agda modules with the `agda` package's checker, many files in one Agda process.

Stdlib plus the `agda` wheel (PyPI). The scorer and the agent's ``check.py`` both use this file (the
scorer its own copy). Agda runs in its JSON interaction mode, so its start-up (about 0.3 s) is paid
once, not per file; every file is checked with ``--safe`` (no postulates, holes, ``TERMINATING`` or
other unsafe pragmas and options) and ``--no-libraries``. A file whose check takes longer than the
per-file timeout fails with "timeout" and Agda is restarted for the next one.

    python agda_check.py --data DATA_DIR --root FOLDER A.agda B.agda ...   # one JSON line per file

``DATA_DIR`` holds ``lib/prim/Agda/Primitive.agda`` and ``lib/prim/Agda/Primitive/Cubical.agda``,
the primitive modules the wheel lacks; it must be writable the first time (Agda writes their
interface files next to them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROMPT = b"JSON> "
LAUNCH = "import sys, agda; sys.exit(agda.main(['agda', *sys.argv[1:]]))"
FLAGS = ["--safe", "--no-libraries"]
_WHERE = re.compile(r"(/[^\s:]+\.agda):\d+")


@dataclass
class Checked:
    """The outcome of checking one file: ``ok``, the file an error points into, and the message."""

    file: str
    ok: bool
    where: str | None = None
    error: str = ""
    seconds: float = 0.0


class AgdaSession:
    """One Agda process in JSON interaction mode, in folder ``root`` with primitives from ``data``."""

    def __init__(self, root: Path | str, data: Path | str, timeout: float = 20.0,
                 python: str = sys.executable) -> None:
        self.root, self.data, self.timeout, self.python = Path(root), Path(data), timeout, python
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> None:
        env = dict(os.environ, Agda_datadir=str(self.data))
        self.proc = subprocess.Popen([self.python, "-c", LAUNCH, "--interaction-json", *FLAGS], cwd=self.root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        if self._read_until_prompt(time.monotonic() + 60) is None:
            self.close()
            raise RuntimeError("agda did not start (is the `agda` package installed?)")

    def _read_until_prompt(self, deadline: float) -> bytes | None:
        """Output up to Agda's next prompt; None on timeout or exit."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = b""
        while True:
            # JSON escapes newlines inside strings, so a raw newline + prompt is always the prompt
            if buffer == PROMPT or buffer.endswith(b"\n" + PROMPT):
                return buffer[: -len(PROMPT)]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            buffer += chunk

    def check(self, name: str) -> Checked:
        """Load ``root/name`` with ``--safe``: ok when it and everything it imports check, with no goals."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        path = str((self.root / name).absolute())
        if '"' in path or "\\" in path:
            return Checked(name, False, None, "unusable file name")
        started = time.monotonic()
        command = f'IOTCM "{path}" None Indirect (Cmd_load "{path}" {json.dumps(FLAGS)})\n'
        try:
            self.proc.stdin.write(command.encode())
            self.proc.stdin.flush()
        except OSError:
            self.close()
            return Checked(name, False, None, "agda exited")
        out = self._read_until_prompt(started + self.timeout)
        seconds = time.monotonic() - started
        if out is None:
            timed_out = self.proc.poll() is None
            self.close()
            return Checked(name, False, None, "timeout" if timed_out else "agda exited", seconds)
        return _verdict(name, out, seconds)

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
            self.proc = None


def _verdict(name: str, out: bytes, seconds: float) -> Checked:
    errors: list[str] = []
    complete = False
    for line in out.decode(errors="replace").splitlines():
        line = line.removeprefix(PROMPT.decode()).strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        info = message.get("info") if isinstance(message, dict) else None
        if not isinstance(info, dict):
            continue
        if info.get("kind") == "Error":
            error = info.get("error")
            errors.append(str(error.get("message", error) if isinstance(error, dict) else error))
        elif info.get("kind") == "AllGoalsWarnings":
            complete = True
            for error in info.get("errors") or []:
                errors.append(str(error.get("message", error) if isinstance(error, dict) else error))
            goals = list(info.get("visibleGoals") or []) + list(info.get("invisibleGoals") or [])
            if goals:
                errors.append(f"{len(goals)} unsolved goal(s) or metavariable(s)")
    if not errors and complete:
        return Checked(name, True, None, "", seconds)
    text = "\n".join(errors) or "agda gave no verdict"
    found = _WHERE.search(text)
    return Checked(name, False, Path(found.group(1)).name if found else None, text[:600], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the folder with lib/prim/Agda/Primitive.agda")
    parser.add_argument("--root", default=".", help="the folder of the modules")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per file")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    session = AgdaSession(args.root, args.data, args.timeout)
    try:
        for name in args.files:
            print(json.dumps(asdict(session.check(name)), ensure_ascii=False), flush=True)
    finally:
        session.close()


if __name__ == "__main__":
    main()
