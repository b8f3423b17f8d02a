"""The cooperative half of a GPU memory cap: PyTorch told to stay under it in every process.

``run_untrusted`` puts this folder on ``PYTHONPATH`` (and ``GPU_MEMORY_CAP_MB`` in the environment)
when the harness enforces a GPU memory cap. Python imports ``sitecustomize`` at start-up; this one
waits for ``torch`` to be imported and then queues ``torch.cuda.set_per_process_memory_fraction``
(cap / device memory, on every visible device) to run when CUDA is first initialised, so a program
that never touches the GPU pays nothing. PyTorch's caching allocator then raises its own
out-of-memory error at the cap instead of the process being killed by the watchdog.

Cooperative only: the agent's code can undo it (``python -S``, ``-I``, another ``PYTHONPATH``, a
later call to ``set_per_process_memory_fraction``, memory outside the caching allocator, another
framework). The enforcing layer is the harness's watchdog (``rdbench.sandbox.gpuwatch``), which
kills the whole run over the cap whatever it does. The fraction is per process; the cap is for the
whole process tree, which only the watchdog sees.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from typing import Any

CAP_ENV = "GPU_MEMORY_CAP_MB"


def _limit(torch: Any) -> None:
    cap_mb = float(os.environ.get(CAP_ENV, "0") or 0)
    if cap_mb <= 0:
        return

    def apply() -> None:
        for device in range(torch.cuda.device_count()):
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, cap_mb * 2**20 / total), device)

    try:
        torch.cuda._lazy_call(apply)  # runs at CUDA's first initialisation (now, if it already ran)
    except Exception as error:  # a torch without it: say so, the watchdog still enforces
        print(f"GPU memory cap: could not set PyTorch's memory fraction: {error}", file=sys.stderr)


class _AfterTorch(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of ``torch`` so that :func:`_limit` runs after it."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _limit(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get(CAP_ENV):
    sys.meta_path.insert(0, _AfterTorch())
