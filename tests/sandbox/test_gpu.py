"""GPU passthrough: only assigned devices are bound (runs only on a machine with an NVIDIA GPU)."""

from __future__ import annotations

import os

import pytest

from rdbench.sandbox.config import BwrapConfig
from tests.sandbox.conftest import start

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/nvidia0"), reason="needs an NVIDIA GPU")


async def test_only_assigned_gpu_is_visible() -> None:
    env = await start(BwrapConfig(gpus=[0]))
    try:
        result = await env.exec(["sh", "-c", "ls /dev | grep nvidia; echo CVD=$CUDA_VISIBLE_DEVICES"])
        assert "nvidia0" in result.stdout and "CVD=0" in result.stdout
    finally:
        await env.close()
    env = await start(BwrapConfig())
    try:
        result = await env.exec(["sh", "-c", "ls /dev | grep -c nvidia || true"])
        assert result.stdout.strip() == "0"
    finally:
        await env.close()
