"""Benchmark: exec round trip of the bwrap sandbox vs a plain subprocess, and sandbox start time.

    .venv/bin/python benchmarks/sandbox.py [--n 200] [--starts 20]

Prints p50/p95 of the round trip of `true` (and of `/usr/bin/python3 -c pass`) through the sandbox's exec
daemon and through `subprocess.run`, their ratio, and the p50/p95 time to start a sandbox (bwrap +
daemon answering).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from rdbench.sandbox.config import BwrapConfig
from rdbench.sandbox.provider import BwrapSandboxEnvironment


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main(n: int, starts: int) -> None:
    start_times = []
    for _ in range(starts):
        began = time.perf_counter()
        envs = await BwrapSandboxEnvironment.sample_init("bench", BwrapConfig(), {})
        start_times.append(time.perf_counter() - began)
        env = envs["default"]
        assert isinstance(env, BwrapSandboxEnvironment)
        await env.close()
    envs = await BwrapSandboxEnvironment.sample_init("bench", BwrapConfig(), {})
    env = envs["default"]
    assert isinstance(env, BwrapSandboxEnvironment)
    try:
        for label, cmd in (("true", ["true"]), ("/usr/bin/python3 -c pass", ["/usr/bin/python3", "-c", "pass"])):
            sandbox_t, plain_t = [], []
            for _ in range(n):
                began = time.perf_counter()
                await env.exec(cmd)
                sandbox_t.append(time.perf_counter() - began)
                began = time.perf_counter()
                subprocess.run(cmd, capture_output=True)
                plain_t.append(time.perf_counter() - began)
            ratio = statistics.median(sandbox_t) / statistics.median(plain_t)
            print(f"exec `{label}` x{n}: sandbox p50 {pct(sandbox_t, .5):.2f} ms p95 {pct(sandbox_t, .95):.2f} ms"
                  f" | subprocess.run p50 {pct(plain_t, .5):.2f} ms p95 {pct(plain_t, .95):.2f} ms"
                  f" | ratio p50 {ratio:.2f}x")
    finally:
        await env.close()
    print(f"sandbox start x{starts}: p50 {pct(start_times, .5):.1f} ms p95 {pct(start_times, .95):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.starts))
