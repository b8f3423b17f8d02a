"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    base = torch.load(workspace / "base.pt", weights_only=True)
    state = {}
    for name, t in base["model"].items():
        scale = t.float().abs().max().clamp(min=1e-8) / 127
        state[name] = (t.float() / scale).round().to(torch.int8)
    torch.save({"config": base["config"], "model": state}, workspace / "model.pt")
