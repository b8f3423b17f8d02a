"""GPU passthrough check (run on a GPU machine): a sandbox sees only its assigned GPUs.

    python benchmarks/gpu_passthrough.py VENV_WITH_CUDA_TORCH

Starts one sandbox with GPU 0 and one with none, and in each lists /dev/nvidia*, prints
CUDA_VISIBLE_DEVICES and runs a CUDA computation with the venv's torch.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from rdbench.sandbox.bwrap import SandboxLayout
from rdbench.sandbox.limits import LimitSpec
from rdbench.sandbox.process import SandboxProcess

PROBE = (
    "ls /dev | grep nvidia | tr '\\n' ' '; echo; echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; "
    "python -c 'import torch; print(\"cuda\", torch.cuda.is_available(), torch.cuda.device_count()); "
    "x = torch.ones(1 << 20, device=\"cuda\"); print(\"sum\", float(x.sum()))'"
)


async def main(venv: Path) -> None:
    passthrough = {k: v for k, v in os.environ.items() if k in ("LD_LIBRARY_PATH", "NVIDIA_DRIVER_CAPABILITIES")}
    for label, gpus in (("assigned GPU 0", [0]), ("no GPU", [])):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "ws").mkdir()
            (Path(tmp) / "run").mkdir()
            layout = SandboxLayout(workspace=Path(tmp) / "ws", python_env=venv, gpus=gpus, env=passthrough)
            proc = SandboxProcess(layout, LimitSpec(memory_mb=16384), Path(tmp) / "run")
            await proc.start()
            try:
                reply = await proc.exec(["sh", "-c", PROBE], output_limit=10**6, timeout=300)
            finally:
                await proc.stop()
            print(f"--- {label}: exit {reply['returncode']}")
            print(reply["stdout"].decode().strip())
            print(reply["stderr"].decode().strip()[-600:])


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
