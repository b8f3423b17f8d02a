"""Build the base checkpoint, data, and hidden per-variant reference weights (deterministic)."""

import importlib.util
import json
import pathlib
import shutil
import tempfile

import numpy as np
import torch

from rdbench.tasklib.corpus import generate_tokens
from rdbench.tasklib.gpt import GPT, GPTConfig
from rdbench.tasklib.tokenizer import WordTokenizer
from rdbench.tasklib.train import TrainConfig, set_deterministic, train


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def prepare(out: pathlib.Path, params: dict) -> None:
    """Write out/workspace/{base.pt,vocab.json,data/} and out/protected/variants/<k>/."""
    tok = WordTokenizer.default()
    ws = out / "workspace"
    (ws / "data").mkdir(parents=True, exist_ok=True)
    # the agent's copy of the model code is the package's own (workspaces cannot import rdbench)
    import rdbench.tasklib.gpt as gpt_module

    shutil.copy(gpt_module.__file__, ws / "gpt.py")
    (ws / "vocab.json").write_text(tok.to_json())
    n_tok = int(params.get("train_tokens", 60000))
    # the fine-tune's hyperparameters: fixed by the task, restored by the scorer on every call
    hp = {"steps": int(params.get("steps", 200)), "batch": int(params.get("batch", 16)),
          "lr": float(params.get("lr", 1e-3)), "seed": 1234}
    (ws / "config.json").write_text(json.dumps(hp, indent=1) + "\n")
    (out / "protected").mkdir(parents=True, exist_ok=True)
    shutil.copy(ws / "config.json", out / "protected" / "config.json")
    # base model: briefly pre-trained on an independent stream so fine-tuning starts from a real model
    set_deterministic(0)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=int(params.get("block", 64)),
                    n_layer=int(params.get("layers", 2)), n_head=int(params.get("heads", 2)),
                    n_embd=int(params.get("width", 64)))
    model = GPT(cfg)
    pre = np.array(tok.encode(generate_tokens("train", 40000, base_seed=100)), dtype=np.int32)
    train(model, pre, TrainConfig(steps=60, batch_size=16, lr=3e-3, warmup=10, seed=0))
    torch.save({"config": cfg.to_dict(), "model": model.state_dict()}, ws / "base.pt")
    shutil.copy(ws / "base.pt", out / "protected" / "base.pt")
    (ws / "data" / "train.txt").write_text(_text(generate_tokens("train", n_tok, base_seed=0)))
    # 128 windows of the block size and a little more: the starting solution evaluates on all of them
    n_val = 128 * (int(params.get("block", 64)) + 1) + 64
    (ws / "data" / "val.txt").write_text(_text(generate_tokens("val", n_val)))
    ref = pathlib.Path(__file__).parent / "reference" / "finetune.py"
    spec = importlib.util.spec_from_file_location("ot_ref", ref)
    assert spec and spec.loader
    n_var = int(params.get("variants", 3))
    for k in range(n_var):
        vdir = out / "protected" / "variants" / str(k)
        vdir.mkdir(parents=True, exist_ok=True)
        text = _text(generate_tokens("test", n_tok, base_seed=10 + k))
        (vdir / "train.txt").write_text(text)
        with tempfile.TemporaryDirectory() as td:
            tdp = pathlib.Path(td)
            for name in ("base.pt", "vocab.json", "config.json"):
                shutil.copy(ws / name, tdp / name)
            (tdp / "data").mkdir()
            (tdp / "data" / "train.txt").write_text(text)
            import sys

            sys.path.insert(0, str(ws))
            try:
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                mod.main(str(tdp))
            finally:
                sys.path.pop(0)
            shutil.copy(tdp / "out" / "final.pt", vdir / "ref.pt")
