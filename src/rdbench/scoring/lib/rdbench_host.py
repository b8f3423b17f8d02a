"""``rdbench_host``: a scorer's way to the harness's language models (stdlib only).

Mounted into the scoring sandbox and importable by ``protected/score.py`` when the task lists model
roles (``models:`` in ``task.yaml``) for the scale being scored. The processes the scorer starts
(the agent's code) cannot reach it: its socket is hidden from them.

    import rdbench_host
    text = rdbench_host.generate("codemodel", "Write a program that ...", max_tokens=512)
"""

import json
import os
import socket
from typing import Any

SOCKET_ENV = "RDBENCH_SCORER_HOST_SOCKET"


class HostRefused(RuntimeError):
    """The harness answered without a generation (budget spent, bad request, model error)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def available() -> bool:
    """Whether this scoring run has models (the task's scale lists model roles)."""
    return bool(os.environ.get(SOCKET_ENV))


def call(op: str, **args: Any) -> dict[str, Any]:
    """One request to the harness; the reply object."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise HostRefused("no model host in this scoring run (the task lists no model roles here)", 2)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        conn.sendall(json.dumps({"op": op, "args": args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data.decode())
    return reply


def generate(role: str, prompt: "str | None" = None, **config: Any) -> str:
    """The completion of ``prompt`` (or ``messages=[{role, content}]``) by the model bound to ``role``.

    Config: ``max_tokens``, ``temperature``, ``seed``. Raises :class:`HostRefused` when the harness
    generated nothing (the scoring call's budget is spent, the request is malformed, the model failed).
    """
    args: dict[str, Any] = {"role": role, **config}
    if prompt is not None:
        args["prompt"] = prompt
    reply = call("generate", **args)
    if reply.get("exit_code", 1) != 0:
        raise HostRefused(str(reply.get("output", "")), int(reply.get("exit_code", 1)))
    return str(reply.get("output", ""))
