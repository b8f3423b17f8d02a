"""Cores per sample without running a sample: parsing, formatting, the plan and the pool."""

from __future__ import annotations

import asyncio

import pytest

from rdbench.sandbox.resources import ExclusivePool, cpu_plan, cpu_pool_for, format_cpus, parse_cpus


def test_core_lists_parse_and_format() -> None:
    assert parse_cpus("0-3,8, 10-11") == [0, 1, 2, 3, 8, 10, 11]
    assert format_cpus([11, 0, 1, 2, 3, 8, 10]) == "0-3,8,10-11"
    assert format_cpus([5]) == "5" and parse_cpus("") == []
    with pytest.raises(ValueError, match="--cpus 'a-b'"):
        parse_cpus("a-b")


def test_plan_shares_cores_and_says_once_when_too_few() -> None:
    said: list[str] = []
    assert cpu_plan("mini", 2, [0, 1, 2, 3, 4], said.append) == ([0, 1, 2, 3, 4], 2)
    assert cpu_plan("none", 0, [0, 1], said.append) == ([0, 1], 0)
    assert not said
    assert cpu_plan("big", 8, [2, 3], said.append) == ([2, 3], 2)  # all, one sample at a time
    assert cpu_plan("big", 8, [2, 3], said.append) == ([2, 3], 2)
    assert len(said) == 1 and "asks for 8 cores per run but only 2 (2-3)" in said[0]


def test_pool_hands_out_disjoint_aligned_sets() -> None:
    async def go() -> tuple[list[list[int]], ExclusivePool]:
        pool = cpu_pool_for([0, 1, 2, 3])
        assert pool is cpu_pool_for([3, 2, 1, 0])
        sets = [await pool.acquire(2), await pool.acquire(2)]
        waiter = asyncio.ensure_future(pool.acquire(2))
        await asyncio.sleep(0.01)
        assert not waiter.done()  # all cores taken: the third sample waits
        await pool.release(sets[0])
        sets.append(await waiter)
        with pytest.raises(ValueError, match="needs 5 core"):
            await pool.acquire(5)
        return sets, pool

    sets, _ = asyncio.run(go())
    assert sets == [[0, 1], [2, 3], [0, 1]]
