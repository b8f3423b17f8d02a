"""Full-scale checks on a GPU machine: the GPU inside the sandbox, and `rdbench check` per task.

Run by ``scripts/gpu/full_scale.sh`` (which also generates scaling_law's full sweep); usable alone::

    PYTHONPATH=src python scripts/gpu/full_scale.py sandbox-check
    PYTHONPATH=src python scripts/gpu/full_scale.py check optimize_training --repeats 2

It needs only rdbench's light dependencies (pydantic, PyYAML, NumPy) on the host side, so it runs on
a GPU image that has torch but cannot install rdbench's full dependency set; each task runs in the
environment named by ``RDBENCH_TASK_ENV`` (or one rdbench builds). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

# device nodes only: CUDA's user-space driver makes an empty /dev/nvidia-caps folder where it finds none
PROBE = ("import glob, json, os, stat, torch; ok = torch.cuda.is_available(); "
         "x = (torch.ones(1024, 1024, device='cuda') @ torch.ones(1024, 1024, device='cuda')).sum().item() if ok else None; "
         "print(json.dumps({'cuda': ok, 'devices': torch.cuda.device_count(), "
         "'name': torch.cuda.get_device_name(0) if ok else None, 'matmul_sum': x, "
         "'dev_nvidia': sorted(p for p in glob.glob('/dev/nvidia*') if stat.S_ISCHR(os.stat(p).st_mode)), "
         "'visible': os.environ.get('CUDA_VISIBLE_DEVICES'), "
         "'torch': torch.__version__}))")


async def sandbox_check() -> dict[str, Any]:
    """The sample's GPU visible and usable inside a sandbox; none in a sandbox without GPUs."""
    from pathlib import Path

    from rdbench.sandbox.gpus import visible_gpus
    from rdbench.sandbox.oneshot import OneShotSpec, run_oneshot
    from rdbench.task.environment import ensure_environment
    from rdbench.task.spec import EnvironmentSpec

    env: Path = ensure_environment(EnvironmentSpec(requirements=["torch"]))
    host = visible_gpus()
    out: dict[str, Any] = {"host_gpus": host, "environment": str(env)}
    for label, gpus in (("assigned", host[:1]), ("none", [])):
        started = time.monotonic()
        result = await run_oneshot(OneShotSpec(argv=["python", "-c", PROBE], python_env=env, gpus=gpus,
                                               timeout=120, memory_mb=16384))
        try:
            seen: Any = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            seen = {"error": result.stderr[-1500:], "returncode": result.returncode}
        out[label] = {"gpus": gpus, "seen": seen, "seconds": round(time.monotonic() - started, 2)}
    a, n = out["assigned"]["seen"], out["none"]["seen"]
    out["ok"] = bool(a.get("cuda") and a.get("matmul_sum") == 1024.0 ** 3 and not n.get("cuda")
                     and not n.get("dev_nvidia"))
    return out


async def check(task_name: str, scale: str, repeats: int) -> dict[str, Any]:
    """`rdbench check TASK --scale full` with the scale's GPUs, timed, with the machine's load."""
    from rdbench.sandbox.gpus import gpu_plan
    from rdbench.scoring.check import check_task
    from rdbench.task.loader import load_task

    task = load_task(task_name)
    devices, per_run = gpu_plan(scale, task.spec.scale(scale).gpus, None, lambda m: print(m, file=sys.stderr))
    load_before = os.getloadavg()
    started = time.monotonic()
    report = await check_task(task, scale, repeats, progress=lambda m: print(m, file=sys.stderr, flush=True),
                              gpus=devices[:per_run] if per_run else devices)
    return {**report.model_dump(), "wall_s": round(time.monotonic() - started, 1), "gpus": devices,
            "load_before": load_before, "load_after": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("sandbox-check")
    one = sub.add_parser("check")
    one.add_argument("task")
    one.add_argument("--scale", default="full")
    one.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.what == "sandbox-check":
        print(json.dumps(asyncio.run(sandbox_check())), flush=True)
    else:
        print(json.dumps(asyncio.run(check(args.task, args.scale, args.repeats))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
