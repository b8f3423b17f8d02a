"""The exec daemon: the first process of every bwrap sandbox (stdlib only; runs inside).

Usage: ``python3 daemon.py SOCKET_PATH``

It listens on a Unix socket in a directory the host also sees. Each connection carries one JSON
request line and gets one JSON reply line:

- ``{"op": "exec", "argv", "cwd", "env", "input_b64", "timeout", "output_limit"}`` runs a command
  in a new session (its own process group) and replies ``{"returncode", "stdout_b64", "stderr_b64",
  "timed_out", "truncated"}``. On timeout the whole process group is killed. Output past
  ``output_limit`` bytes is discarded (and flagged). The reply comes when the command exits;
  background jobs it started keep running (their output is drained and dropped).
- ``{"op": "read_file", "path", "max_size"}`` / ``{"op": "write_file", "path", "data_b64"}`` do file
  I/O as the sandbox user; errors come back as ``{"error": "FileNotFoundError", "message"}``.
- ``{"op": "ping"}`` replies ``{"ok": true, "pid": ...}``.
"""

import base64
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO, Any

CHUNK = 65536


def _non_dumpable() -> None:
    # Processes of the sandbox (same uid) must not read this daemon's memory or fds via /proc.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


class Collector:
    """Reads a pipe to EOF, keeping at most ``limit`` bytes."""

    def __init__(self, pipe: IO[bytes], limit: int) -> None:
        self.pipe = pipe
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self.pipe.fileno(), CHUNK)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                room = self.limit - self.size
                if room > 0:
                    self.parts.append(data[:room])
                    self.size += min(len(data), room)
                if len(data) > room:
                    self.truncated = True
        with contextlib.suppress(OSError):
            self.pipe.close()

    def value(self) -> tuple[bytes, bool]:
        with self.lock:
            return b"".join(self.parts), self.truncated


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_exec(req: dict[str, Any]) -> dict[str, Any]:
    argv = req["argv"]
    if not isinstance(argv, list) or not argv:
        raise TypeError(f"exec argv must be a non-empty list of strings, not {argv!r:.200}")
    for i, item in enumerate(argv):
        if not isinstance(item, str):
            raise TypeError(f"exec argv[{i}] must be a string, not {type(item).__name__}: {item!r:.200}")
    env = req.get("env") or dict(os.environ)
    data = base64.b64decode(req["input_b64"]) if req.get("input_b64") is not None else None
    limit = int(req.get("output_limit") or 10 * 1024 * 1024)
    timeout = req.get("timeout")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=req.get("cwd") or None,
            env=env,
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except FileNotFoundError as error:
        return {"returncode": 127, "stdout_b64": "", "timed_out": False, "truncated": False,
                "stderr_b64": base64.b64encode(f"{argv[0]}: {error.strerror}\n".encode()).decode()}
    except PermissionError as error:
        return {"returncode": 126, "stdout_b64": "", "timed_out": False, "truncated": False,
                "stderr_b64": base64.b64encode(f"{argv[0]}: {error.strerror}\n".encode()).decode(),
                "permission_error": True}
    except (NotADirectoryError, OSError) as error:
        return {"returncode": 126, "stdout_b64": "", "timed_out": False, "truncated": False,
                "stderr_b64": base64.b64encode(f"{error}\n".encode()).decode()}
    assert proc.stdout is not None and proc.stderr is not None
    out = Collector(proc.stdout, limit)
    err = Collector(proc.stderr, limit)
    if data is not None:
        assert proc.stdin is not None
        threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        proc.wait()
    if timed_out:
        _kill_group(proc.pid)
    # Give the pipes a moment to deliver the last output; a background job holding them open
    # must not hold the reply (the collectors keep draining it).
    deadline = time.monotonic() + 0.5
    for collector in (out, err):
        collector.thread.join(max(0.0, deadline - time.monotonic()))
    stdout, t1 = out.value()
    stderr, t2 = err.value()
    return {
        "returncode": proc.returncode,
        "stdout_b64": base64.b64encode(stdout).decode(),
        "stderr_b64": base64.b64encode(stderr).decode(),
        "timed_out": timed_out,
        "truncated": t1 or t2,
    }


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):
        pass


def _error(error: BaseException) -> dict[str, Any]:
    return {"error": type(error).__name__, "message": str(error), "errno": getattr(error, "errno", None)}


def read_file(req: dict[str, Any]) -> dict[str, Any]:
    path = req["path"]
    try:
        size = os.stat(path).st_size
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", path)
        max_size = req.get("max_size")
        if max_size is not None and size > int(max_size):
            return {"error": "OutputLimitExceededError", "message": str(size)}
        with open(path, "rb") as handle:
            return {"data_b64": base64.b64encode(handle.read()).decode()}
    except OSError as error:
        return _error(error)


def write_file(req: dict[str, Any]) -> dict[str, Any]:
    path = req["path"]
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", path)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(req["data_b64"]))
        return {"ok": True}
    except OSError as error:
        return _error(error)


def serve(req: Any) -> dict[str, Any]:
    """The reply to one request."""
    if not isinstance(req, dict):
        raise TypeError(f"a request is a JSON object, not {type(req).__name__}")
    op = req.get("op")
    if op == "exec":
        return run_exec(req)
    if op == "read_file":
        return read_file(req)
    if op == "write_file":
        return write_file(req)
    if op == "ping":
        return {"ok": True, "pid": os.getpid()}
    return {"error": "ValueError", "message": f"unknown op {op!r}"}


def handle(conn: socket.socket) -> None:
    # The reply, an error included, is sent before the connection closes: a failed request (a
    # malformed argv, say) reaches the host as its real error, not as a closed connection.
    with conn:
        buf = bytearray()
        try:
            while not buf.endswith(b"\n"):
                data = conn.recv(CHUNK)
                if not data:
                    return
                buf += data
        except OSError:
            return
        try:
            reply = serve(json.loads(buf))
        except Exception as error:  # the daemon must survive any one bad request
            reply = _error(error)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode() + b"\n")


def main() -> None:
    path = sys.argv[1]
    _non_dumpable()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path + ".tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    server.bind(tmp)
    server.listen(64)
    os.rename(tmp, path)  # the socket appears only once it accepts connections
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
