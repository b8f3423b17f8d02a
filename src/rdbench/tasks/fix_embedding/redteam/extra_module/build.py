"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "corrupted.pt", weights_only=True)
    ckpt["model"]["blocks.9.mlp.0.weight"] = torch.zeros(4, 4)
    torch.save(ckpt, workspace / "model.pt")
