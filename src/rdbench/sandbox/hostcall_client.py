"""``hostcall OP [--key value ...]``: a command in the sandbox that asks the harness on the host.

Stdlib only (runs with the sandbox's /usr/bin/python3). It connects to the sample's host-call socket,
sends ``{"op": OP, "args": {...}}`` and prints the reply's ``output`` (and its ``note``, e.g. the
queries left, on stderr); its exit status is the reply's ``exit_code``. Arguments: ``--key value`` pairs, bare words (collected under ``argv``), or a JSON
object on standard input. Scoring can take minutes: there is no client-side timeout.
"""

import json
import os
import socket
import sys
from typing import Any

SOCKET = os.environ.get("RDBENCH_HOSTCALL_SOCKET", "/run/rdbench/service.sock")


def parse(words: list[str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    rest = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and len(word) > 2:
            key = word[2:].replace("-", "_")
            if "=" in key:
                key, value = key.split("=", 1)
                args[key] = value
            elif i + 1 < len(words) and not words[i + 1].startswith("--"):
                args[key] = words[i + 1]
                i += 1
            else:
                args[key] = True
        else:
            rest.append(word)
        i += 1
    if rest:
        args["argv"] = rest
    if not sys.stdin.isatty():
        try:
            data = sys.stdin.read()
        except OSError:
            data = ""
        if data.strip():
            try:
                loaded = json.loads(data)
                if isinstance(loaded, dict):
                    args.update(loaded)
                else:
                    args["input"] = loaded
            except json.JSONDecodeError:
                args["input"] = data
    return args


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: hostcall OP [--key value ...]   (e.g. score, score-log, status, submit)")
        return 0
    op = sys.argv[1]
    request = {"op": op, "args": parse(sys.argv[2:])}
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(SOCKET)
    except OSError:
        print(f"{op}: no rdbench service is running for this sandbox ({SOCKET} not reachable)",
              file=sys.stderr)
        return 69
    with conn:
        conn.sendall(json.dumps(request).encode() + b"\n")
        buf = bytearray()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            if buf.endswith(b"\n"):
                break
    try:
        reply = json.loads(buf)
    except json.JSONDecodeError:
        print(f"{op}: the rdbench service closed the connection without a reply", file=sys.stderr)
        return 70
    output = reply.get("output")
    if output is None:
        output = json.dumps(reply, indent=2)
    stream = sys.stdout if int(reply.get("exit_code", 0)) == 0 else sys.stderr
    if output:
        print(output, file=stream)
    if reply.get("note"):
        print(reply["note"], file=sys.stderr)
    return int(reply.get("exit_code", 0))


if __name__ == "__main__":
    sys.exit(main())
