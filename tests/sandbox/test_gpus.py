"""GPU assignment without GPUs: device discovery, the per-sample pool, and the task's plan."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rdbench.sandbox.bwrap import SandboxLayout, base_environment
from rdbench.sandbox.gpus import GpuPool, gpu_plan, parse_gpus, pool_for, visible_gpus


def test_visible_gpus_reads_device_nodes(tmp_path: Path) -> None:
    for name in ("nvidia1", "nvidia0", "nvidia10", "nvidiactl", "nvidia-uvm", "nvidia-caps", "null"):
        (tmp_path / name).touch()
    assert visible_gpus(tmp_path) == [0, 1, 10]
    assert visible_gpus(tmp_path / "missing") == []
    assert parse_gpus("0, 2") == [0, 2] and parse_gpus("") == []
    with pytest.raises(ValueError, match="--gpus"):
        parse_gpus("first")


def test_pool_gives_each_sample_its_own_gpus_and_makes_the_rest_wait() -> None:
    async def go() -> list[tuple[str, int, list[int]]]:
        pool = GpuPool([0, 1, 2])
        events: list[tuple[str, int, list[int]]] = []

        async def sample(i: int) -> None:
            got = await pool.acquire(2)
            events.append(("got", i, got))
            await asyncio.sleep(0.05)
            events.append(("release", i, got))
            await pool.release(got)

        await asyncio.gather(*(sample(i) for i in range(3)))
        with pytest.raises(ValueError, match="needs 4 GPU"):
            await pool.acquire(4)
        assert await pool.acquire(0) == []
        return events

    events = asyncio.run(go())
    held: set[int] = set()
    for kind, _, gpus in events:  # no device is ever held by two samples at once
        if kind == "got":
            assert not held & set(gpus) and len(gpus) == 2
            held |= set(gpus)
        else:
            held -= set(gpus)
    assert [kind for kind, _, _ in events][:2] == ["got", "release"]  # the second waited


def test_one_pool_per_eval_loop() -> None:
    async def first() -> GpuPool:
        pool = pool_for([1, 0])
        assert pool is pool_for([0, 1])
        await pool.acquire(2)
        return pool

    a = asyncio.run(first())
    b = asyncio.run(first())  # a new eval (event loop) starts with every device free
    assert a is not b and b.devices == [0, 1]


def test_gpu_plan(tmp_path: Path) -> None:
    said: list[str] = []
    assert gpu_plan("mini", 0, None, said.append) == ([], 0)
    assert gpu_plan("mini", 0, [3], said.append) == ([3], 0)
    assert gpu_plan("full", 1, [0, 1], said.append) == ([0, 1], 1)
    assert gpu_plan("full", 2, [5], said.append) == ([5], 0) and "only [5]" in said[-1]
    assert not said[:-1]


def test_gpu_plan_without_gpus_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rdbench.sandbox.gpus.visible_gpus", lambda: [])
    said: list[str] = []
    assert gpu_plan("full", 1, None, said.append) == ([], 0)
    assert "has none" in said[0] and "not comparable" in said[0]


def test_sandbox_environment_names_gpus_in_pci_order() -> None:
    env = base_environment(SandboxLayout(workspace=None, gpus=[1]))
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert "CUDA_VISIBLE_DEVICES" not in base_environment(SandboxLayout(workspace=None))
