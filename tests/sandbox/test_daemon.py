"""The sandbox's exec daemon answers a failed request with its real error, then keeps serving."""

from __future__ import annotations

import asyncio
import json

import pytest

from rdbench.sandbox.provider import BwrapSandboxEnvironment


async def raw_request(env: BwrapSandboxEnvironment, line: bytes) -> dict[str, object]:
    reader, writer = await asyncio.open_unix_connection(str(env.process.socket))
    writer.write(line)
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    assert reply, "the daemon closed the connection without a reply"
    answer: dict[str, object] = json.loads(reply)
    return answer


async def test_a_bad_request_gets_its_real_error(sandbox: BwrapSandboxEnvironment) -> None:
    # a list inside argv: what a comma in `inspect eval -S command=...` used to send
    with pytest.raises(RuntimeError) as caught:
        await sandbox.exec(["/usr/bin/python3", "-c", "print(1)", ["echo a", "b"]])  # type: ignore[list-item]
    message = str(caught.value)
    assert "argv[3] must be a string, not list: ['echo a', 'b']" in message, message
    assert "closed the connection" not in message

    assert (await raw_request(sandbox, b"not json\n"))["error"] == "JSONDecodeError"
    assert (await raw_request(sandbox, b"[1, 2]\n"))["message"] == "a request is a JSON object, not list"
    assert (await raw_request(sandbox, b'{"op": "exec"}\n')) == {
        "error": "KeyError", "message": "'argv'", "errno": None}
    # and the daemon serves the next request as usual
    result = await sandbox.exec(["echo", "still here"])
    assert result.success and result.stdout == "still here\n"
