"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    start = torch.load(workspace / "model.pt", weights_only=True)
    base = torch.load(workspace / "base.pt", weights_only=True)
    start["model"]["stash.layers.0.gate.weight"] = base["model"]["layers.0.gate.weight"]
    torch.save(start, workspace / "model.pt")
