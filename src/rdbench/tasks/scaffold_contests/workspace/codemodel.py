"""Client for the code model: ``sample(problem_id, hint=None)`` returns one candidate program (or None).

During your run it calls the ``codemodel`` command (the host service); during scoring the scorer
sets CODEMODEL_SOCKET and serves the hidden problems itself. Each problem has a query budget.
``hint`` is text added to the code model's prompt when the code model is a language model (full
scale); the pool code model (mini scale) ignores it.
"""

import json
import os
import socket
import subprocess


def sample(problem_id, hint=None):
    """One sampled Python program for ``problem_id``, or None when the budget is spent."""
    path = os.environ.get("CODEMODEL_SOCKET")
    if path:
        request = {"problem": problem_id}
        if hint is not None:
            request["hint"] = str(hint)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data.decode())
        return reply["output"] if reply.get("exit_code", 0) == 0 else None
    argv = ["codemodel", "--problem", problem_id]
    if hint is not None:
        argv += ["--hint", str(hint)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None
