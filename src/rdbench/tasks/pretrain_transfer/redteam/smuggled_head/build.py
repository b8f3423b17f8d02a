"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "model.pt", weights_only=True)
    ckpt["model"]["cls_head.weight"] = torch.zeros(2, 128)
    ckpt["model"]["cls_head.bias"] = torch.zeros(2)
    torch.save(ckpt, workspace / "model.pt")
