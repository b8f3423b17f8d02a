"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    base = torch.load(workspace / "base.pt", weights_only=True)
    state = {}
    for name, t in base["model"].items():
        if t.dim() == 2:
            cut = t.float().abs().flatten().kthvalue(int(0.6 * t.numel())).values
            t = (t * (t.float().abs() > cut)).to_sparse()
        state[name] = t
    torch.save({"config": base["config"], "model": state}, workspace / "model.pt")
