"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "base.pt", weights_only=True)
    ckpt["model"]["blocks.7.attn.weight"] = torch.zeros(8, 8)
    torch.save(ckpt, workspace / "model.pt")
