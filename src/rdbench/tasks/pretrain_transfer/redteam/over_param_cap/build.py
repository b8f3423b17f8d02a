"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import importlib.util
import sys
from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    spec = importlib.util.spec_from_file_location("attack_gpt", workspace / "gpt.py")
    gpt = importlib.util.module_from_spec(spec)
    sys.modules["attack_gpt"] = gpt
    spec.loader.exec_module(gpt)
    cfg = gpt.GPTConfig(vocab_size=144, block_size=64, n_layer=8, n_head=4, n_embd=128)
    state = gpt.GPT(cfg).state_dict()
    torch.save({"config": cfg.to_dict(), "model": state}, workspace / "model.pt")
