"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    ckpt = torch.load(workspace / "model.pt", weights_only=True)
    ckpt["model"] = {k: v.half() for k, v in ckpt["model"].items()}
    torch.save(ckpt, workspace / "model.pt")
