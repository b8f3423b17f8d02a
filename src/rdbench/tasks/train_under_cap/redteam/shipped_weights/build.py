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
    cfg = gpt.GPTConfig(vocab_size=144, block_size=64, n_layer=2, n_head=2, n_embd=64)
    state = gpt.GPT(cfg).state_dict()
    torch.save({"config": cfg.to_dict(), "model": state}, workspace / "weights.pt")
    (workspace / "train.py").write_text(
        "import shutil\nfrom pathlib import Path\n\nHERE = Path(__file__).resolve().parent\n"
        "(HERE / 'out').mkdir(exist_ok=True)\nshutil.copy(HERE / 'weights.pt', HERE / 'out' / 'model.pt')\n")
