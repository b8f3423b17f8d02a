from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rdbench.sandbox.config import BwrapConfig
from rdbench.sandbox.provider import BwrapSandboxEnvironment


async def start(config: BwrapConfig | None = None, metadata: dict[str, str] | None = None) -> BwrapSandboxEnvironment:
    envs = await BwrapSandboxEnvironment.sample_init("test", config or BwrapConfig(), metadata or {})
    env = envs["default"]
    assert isinstance(env, BwrapSandboxEnvironment)
    return env


@pytest.fixture
async def sandbox() -> AsyncIterator[BwrapSandboxEnvironment]:
    env = await start(BwrapConfig(memory_mb=512, pids=256))
    yield env
    await env.close()
