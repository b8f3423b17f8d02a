"""Host calls: commands inside the sandbox (``score``, ``status``, a task's ``judge`` ...) reach a
handler in the harness over a Unix socket in the sample's run directory.

The run directory is bound read-only at ``/run/rdbench``; connecting to a socket needs no write
access to the file system, so the agent can call the service but cannot replace it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)
CLIENT_COMMANDS = ("score", "score-log", "status", "submit", "instructions")
Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@cache
def client_source() -> str:
    """The stdlib client script run inside the sandbox."""
    return Path(__file__).with_name("hostcall_client.py").read_text()


class HostCallServer:
    """An asyncio JSON-lines server: one request line, one reply line, per connection.

    Args:
        socket_path: Where to listen (inside the sample's run directory).
        handler: ``await handler(op, args)`` -> reply dict with ``output`` and ``exit_code``.
    """

    def __init__(self, socket_path: Path, handler: Handler) -> None:
        self.socket_path = socket_path
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.socket_path), limit=2**26
        )
        self.socket_path.chmod(0o777)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    async def __aenter__(self) -> HostCallServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if not line:
                return
            try:
                request = json.loads(line)
                op = str(request["op"])
                args = request.get("args") or {}
                if not isinstance(args, dict):
                    raise ValueError("args must be an object")
            except (ValueError, KeyError) as error:
                reply: dict[str, Any] = {"output": f"bad request: {error}", "exit_code": 64}
            else:
                try:
                    reply = await self.handler(op, args)
                except Exception as error:
                    log.exception("host call %s failed", op)
                    reply = {"output": f"{op}: internal error: {type(error).__name__}: {error}",
                             "exit_code": 70}
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
