"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "model.pt", weights_only=True)
    ckpt["model"]["blocks.1.mlp.0.weight"][0, 0] = float("nan")
    torch.save(ckpt, workspace / "model.pt")
