"""Build fix_embedding's assets once (deterministic from seeds; cached by rdbench).

Writes:
  workspace/  corrupted.pt, model.pt (= corrupted.pt: the starting solution), small.pt, gpt.py,
              vocab.json, data/train.txt (deliberately little), data/val.txt
  protected/  gpt.py (the scorer's own copy of the model code), arch.json (the architecture every
              submission must match), test_ids.npy (hidden test stream), original.pt (the model
              before corruption: for tests and analysis only, never shown to the agent)
  reference/  model.pt, built by reference/repair.py from the workspace files alone
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import rdbench.tasklib.gpt as gpt_module
from rdbench.tasklib.corpus import generate_tokens
from rdbench.tasklib.gpt import GPT, GPTConfig
from rdbench.tasklib.tokenizer import WordTokenizer
from rdbench.tasklib.train import TrainConfig, evaluate, get_batch, lr_at, set_deterministic

HERE = pathlib.Path(__file__).resolve().parent

DEFAULTS: dict = {
    "width": 96, "n_layer": 2, "n_head": 2, "block_size": 64,
    "pretrain_tokens": 400_000, "pretrain_steps": 400, "batch_size": 32, "lr": 3e-3,
    "small_width": 32, "small_layers": 2, "small_steps": 200,
    "train_tokens": 5000, "val_tokens": 2000, "test_tokens": 160_000,
    "log_scale": 1.0, "corrupt_seed": 1,
}


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def _ids(tok: WordTokenizer, words: list[str]) -> np.ndarray:
    return np.array(tok.encode(words), dtype=np.int64)


def _train(model: GPT, data: np.ndarray, steps: int, batch: int, lr: float, seed: int,
           device: torch.device) -> None:
    """tasklib.train's loop (AdamW, warmup + cosine, clipping), on ``device``."""
    cfg = TrainConfig(steps=steps, batch_size=batch, lr=lr, warmup=max(1, steps // 12), seed=seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.95))
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x, y = get_batch(data, model.cfg.block_size, batch, rng)
        logits = model(x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()


def _save(model: GPT, path: pathlib.Path) -> None:
    state = {k: t.detach().cpu().clone() for k, t in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]  # keep the tie in the file (one shared tensor)
    torch.save({"config": model.cfg.to_dict(), "model": state}, path)


def corrupt(state: dict, seed: int, log_scale: float) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Permute the embedding's rows and scale each by exp(U(-log_scale, log_scale)).

    Returns the corrupted state dict (head tied to the new embedding), the permutation (row j of the
    corrupted embedding holds token perm[j]) and the scale of each corrupted row.
    """
    wte = state["wte.weight"]
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(wte.shape[0], generator=g)
    scale = torch.exp((torch.rand(wte.shape[0], generator=g) * 2 - 1) * log_scale)
    out = {k: t.clone() for k, t in state.items()}
    out["wte.weight"] = (wte[perm] * scale[:, None]).contiguous()
    out["head.weight"] = out["wte.weight"]
    return out, perm, scale


def prepare(out: pathlib.Path, params: dict) -> None:
    """Write out/workspace, out/protected and out/reference (see the module docstring)."""
    p = {**DEFAULTS, **params}
    t0 = time.monotonic()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = WordTokenizer.default()
    ws, prot, ref = out / "workspace", out / "protected", out / "reference"
    for d in (ws / "data", prot, ref):
        d.mkdir(parents=True, exist_ok=True)
    # workspaces cannot import rdbench: the agent and the scorer each get a copy of the model code
    shutil.copy(gpt_module.__file__, ws / "gpt.py")
    shutil.copy(gpt_module.__file__, prot / "gpt.py")
    (ws / "vocab.json").write_text(tok.to_json())

    # streams: the large and small models pretrain on their own streams, never given to the agent
    pre = _ids(tok, generate_tokens("train", int(p["pretrain_tokens"]), base_seed=1))
    pre_small = _ids(tok, generate_tokens("train", int(p["pretrain_tokens"]), base_seed=2))
    (ws / "data" / "train.txt").write_text(_text(generate_tokens("train", int(p["train_tokens"]), base_seed=50)))
    (ws / "data" / "val.txt").write_text(_text(generate_tokens("val", int(p["val_tokens"]), base_seed=0)))
    test = _ids(tok, generate_tokens("test", int(p["test_tokens"]), base_seed=0))
    np.save(prot / "test_ids.npy", test.astype(np.uint8 if tok.vocab_size <= 256 else np.int32))

    def build(width: int, layers: int, heads: int, steps: int, data: np.ndarray, seed: int) -> GPT:
        set_deterministic(seed)
        cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=int(p["block_size"]), n_layer=layers,
                        n_head=heads, n_embd=width)
        model = GPT(cfg).to(device)
        _train(model, data, steps, int(p["batch_size"]), float(p["lr"]), seed, device)
        return model.cpu()

    large = build(int(p["width"]), int(p["n_layer"]), int(p["n_head"]), int(p["pretrain_steps"]), pre, 0)
    small = build(int(p["small_width"]), int(p["small_layers"]), 2, int(p["small_steps"]), pre_small, 1)
    _save(large, prot / "original.pt")
    _save(small, ws / "small.pt")
    cfg = large.cfg.to_dict()
    state = {k: t.detach().clone() for k, t in large.state_dict().items()}
    bad, _perm, _scale = corrupt(state, int(p["corrupt_seed"]), float(p["log_scale"]))
    torch.save({"config": cfg, "model": bad}, ws / "corrupted.pt")
    shutil.copy(ws / "corrupted.pt", ws / "model.pt")
    arch = {"config": cfg,
            "tensors": {k: {"shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch.")}
                        for k, t in state.items()},
            "tied": [["head.weight", "wte.weight"]]}
    (prot / "arch.json").write_text(json.dumps(arch, indent=1))

    # the reference repair sees exactly what the agent sees
    spec = importlib.util.spec_from_file_location("fix_embedding_repair", HERE / "reference" / "repair.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with tempfile.TemporaryDirectory() as td:
        tdp = pathlib.Path(td)
        shutil.copytree(ws, tdp, dirs_exist_ok=True)
        torch.set_num_threads(1)
        repaired = mod.repair(tdp, log=lambda m: None)
    torch.save(repaired, ref / "model.pt")
    stats = {"seconds": round(time.monotonic() - t0, 1), "device": str(device)}
    val = _ids(tok, (ws / "data" / "val.txt").read_text().split())
    for name, path in (("original", prot / "original.pt"), ("small", ws / "small.pt"),
                       ("corrupted", ws / "corrupted.pt"), ("reference", ref / "model.pt")):
        ck = torch.load(path, weights_only=True)
        m = GPT(GPTConfig(**ck["config"]))
        m.load_state_dict(ck["model"])
        stats[f"val_loss_{name}"] = round(evaluate(m, val), 4)
    (prot / "prepare_stats.json").write_text(json.dumps(stats, indent=1))
