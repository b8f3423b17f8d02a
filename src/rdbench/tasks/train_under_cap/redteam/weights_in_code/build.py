"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import base64
import importlib.util
import io
import sys
from pathlib import Path

import torch


def build(workspace: Path, materialized: Path) -> None:
    spec = importlib.util.spec_from_file_location("attack_gpt", workspace / "gpt.py")
    gpt = importlib.util.module_from_spec(spec)
    sys.modules["attack_gpt"] = gpt
    spec.loader.exec_module(gpt)
    cfg = gpt.GPTConfig(vocab_size=144, block_size=64, n_layer=2, n_head=2, n_embd=64)
    buffer = io.BytesIO()
    torch.save({"config": cfg.to_dict(), "model": gpt.GPT(cfg).state_dict()}, buffer)
    blob = base64.b64encode(buffer.getvalue()).decode()
    (workspace / "weights_blob.py").write_text(f"BLOB = {blob!r}\n")
    (workspace / "train.py").write_text(
        "import base64\nfrom pathlib import Path\n\nfrom weights_blob import BLOB\n\n"
        "HERE = Path(__file__).resolve().parent\n(HERE / 'out').mkdir(exist_ok=True)\n"
        "(HERE / 'out' / 'model.pt').write_bytes(base64.b64decode(BLOB))\n")
