"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    base = torch.load(workspace / "base.pt", weights_only=True)
    config = base["config"]
    hidden = config["layers"][0]["hidden"]
    config["layers"] = [dict(config["layers"][0], hidden=2 * hidden)]
    dim = config["dim"]
    state = {k: v for k, v in base["model"].items() if k.startswith(("embed", "norm", "layers.0."))}
    for name in ("gate", "up"):
        state[f"layers.0.{name}.weight"] = torch.zeros(2 * hidden, dim, dtype=torch.float16)
    state["layers.0.down.weight"] = torch.zeros(dim, 2 * hidden, dtype=torch.float16)
    torch.save({"config": config, "model": state}, workspace / "model.pt")
