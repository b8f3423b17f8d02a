"""Build compress_model's assets once (deterministic; cached by rdbench).

Mini: trains the given model, a Llama (rotary positions, grouped-query attention, SwiGLU, tied
embedding) on the corpus with lexical knowledge, and stores it in float16. Full: SmolLM2-135M,
dequantised from the GGUF file every rdbench machine has (``tasklib.smollm``), its test text tokenised
with its own tokenizer.

Writes:
  workspace/  base.pt (the given model), model.pt (the starting solution: workspace/compress.py's
              output), compressible.py, compress.py, evaluate.py, data/calibration.txt (or .npy at
              full scale), vocab.json (mini), task.json (the budget)
  protected/  compressible.py and checkpoint.py (the scorer's own class and checks), base_config.json,
              test_ids.npy (the hidden test stream), prepare_stats.json
  reference/  model.pt, built by reference/compress.py from the workspace files alone
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import shutil
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import rdbench.tasklib.checkpoint as checkpoint_module
import rdbench.tasklib.compressible as compressible_module
from rdbench.tasklib.compressible import CompressibleLlama, size_bytes
from rdbench.tasklib.corpus import GrammarConfig, generate_tokens
from rdbench.tasklib.tokenizer import WordTokenizer

HERE = pathlib.Path(__file__).resolve().parent


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def _lr(step: int, steps: int, peak: float) -> float:
    warm = max(1, steps // 20)
    if step < warm:
        return peak * (step + 1) / warm
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm))))


def train_base(config: dict[str, Any], data: np.ndarray, steps: int, batch: int, block: int, lr: float,
               device: torch.device) -> CompressibleLlama:
    """The given model: AdamW, warm-up and cosine decay, on random windows (deterministic on CPU)."""
    torch.manual_seed(0)
    model = CompressibleLlama(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(0)
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, lr)
        ix = rng.integers(0, len(data) - block - 1, size=batch)
        win = torch.from_numpy(data[ix[:, None] + np.arange(block + 1)[None, :]]).to(device)
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model.cpu().eval()


def _run(script: pathlib.Path, ws: pathlib.Path, out: pathlib.Path, threads: int) -> None:
    """Run a compression script's main() on a copy of the workspace, as the agent would."""
    with tempfile.TemporaryDirectory() as td:
        tdp = pathlib.Path(td)
        shutil.copytree(ws, tdp, dirs_exist_ok=True)
        shutil.copy(script, tdp / "compress.py")
        name = f"compress_model_{script.parent.name}"
        spec = importlib.util.spec_from_file_location(name, tdp / "compress.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(tdp))
        try:
            spec.loader.exec_module(module)
            module.main(["--out", str(out), "--threads", str(threads)])
        finally:
            sys.path.remove(str(tdp))
            sys.modules.pop("compressible", None)


@torch.no_grad()
def _loss(model: torch.nn.Module, ids: np.ndarray, block: int) -> float:
    n = (len(ids) - 1) // block
    win = torch.from_numpy(ids[np.arange(n)[:, None] * block + np.arange(block + 1)[None, :]].astype(np.int64))
    total = 0.0
    for i in range(0, n, 64):
        logits = model(win[i:i + 64, :-1])
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[i:i + 64, 1:].reshape(-1),
                                       reduction="sum"))
    return total / (n * block)


def prepare(out: pathlib.Path, params: dict[str, Any]) -> None:
    """Write out/workspace, out/protected and out/reference (see the module docstring)."""
    t0 = time.monotonic()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # one thread: deterministic, and two OpenMP threads run several times slower on a shared machine
    torch.set_num_threads(1)
    ws, prot, ref = out / "workspace", out / "protected", out / "reference"
    for d in (ws / "data", prot, ref):
        d.mkdir(parents=True, exist_ok=True)
    for module in (compressible_module, checkpoint_module):
        shutil.copy(module.__file__, prot / pathlib.Path(module.__file__).name)
    shutil.copy(compressible_module.__file__, ws / "compressible.py")
    block = int(params["eval_block"])
    if params.get("base", "trained") == "smollm2":
        config, state, calibration, test = _smollm2(params)
        np.save(ws / "data" / "calibration.npy", calibration)
    else:
        tok = WordTokenizer.default()
        (ws / "vocab.json").write_text(tok.to_json())
        world = GrammarConfig(prefs=float(params["prefs"]), prefs_seed=int(params["world"]))
        pre = np.array(tok.encode(generate_tokens("train", int(params["pretrain_tokens"]), cfg=world)), np.int64)
        calib_words = generate_tokens("val", int(params["calibration_tokens"]), cfg=world)
        (ws / "data" / "calibration.txt").write_text(_text(calib_words))
        test = np.array(tok.encode(generate_tokens("test", int(params["test_tokens"]), cfg=world)), np.int64)
        layer = {"n_heads": int(params["n_heads"]), "n_kv_heads": int(params["n_kv_heads"]),
                 "hidden": int(params["hidden"]), "ranks": {}, "share": None}
        config = {"vocab_size": tok.vocab_size, "dim": int(params["dim"]), "head_dim": int(params["head_dim"]),
                  "norm_eps": 1e-5, "rope_theta": 10000.0, "max_seq_len": block,
                  "layers": [dict(layer) for _ in range(int(params["n_layers"]))]}
        model = train_base(config, pre, int(params["pretrain_steps"]), int(params["batch"]), block,
                           float(params["lr"]), device)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    half = {k: v.to(torch.float16).contiguous() for k, v in state.items()}
    torch.save({"config": config, "model": half}, ws / "base.pt")
    base_bytes = size_bytes(half)
    budget = int(float(params["budget_fraction"]) * base_bytes)
    task = {"base_bytes": base_bytes, "budget_bytes": budget, "budget_fraction": float(params["budget_fraction"]),
            "eval_block": block}
    (ws / "task.json").write_text(json.dumps(task, indent=1) + "\n")
    (prot / "base_config.json").write_text(json.dumps(config, indent=1))
    np.save(prot / "test_ids.npy", test.astype(np.uint16 if test.max() < 2**16 else np.int32))
    for name in ("compress.py", "evaluate.py"):
        shutil.copy(HERE / "workspace" / name, ws / name)
    threads = 1
    _run(HERE / "workspace" / "compress.py", ws, ws / "model.pt", threads)
    _run(HERE / "reference" / "compress.py", ws, ref / "model.pt", threads)
    stats: dict[str, Any] = {"seconds": round(time.monotonic() - t0, 1), "device": str(device),
                             "base_bytes": base_bytes, "budget_bytes": budget}
    sample = test[: 40 * block + 1]
    for name, path in (("base", ws / "base.pt"), ("start", ws / "model.pt"), ("reference", ref / "model.pt")):
        ck = torch.load(path, weights_only=True)
        m = CompressibleLlama(ck["config"])
        m.load_state_dict({k: v.float() for k, v in ck["model"].items()})
        stats[f"test_loss_{name}"] = round(_loss(m.eval(), sample, block), 4)
        stats[f"bytes_{name}"] = size_bytes(ck["model"])
    (prot / "prepare_stats.json").write_text(json.dumps(stats, indent=1))


def _smollm2(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor], np.ndarray, np.ndarray]:
    """SmolLM2-135M in the compressible format, its calibration ids and hidden test ids (full scale).

    The text is the corpus language (English words) rendered as prose, tokenised with SmolLM2's own
    tokenizer: a few thousand tokens of calibration, the rest hidden.
    """
    from rdbench.tasklib import smollm
    from rdbench.tasklib.compressible import from_llama_state

    cfg, state = smollm.read_gguf()
    config, ours = from_llama_state(state, cfg.to_dict())
    config["max_seq_len"] = int(params["eval_block"])
    world = GrammarConfig(prefs=float(params["prefs"]), prefs_seed=int(params["world"]))

    def ids(split: str, n: int) -> np.ndarray:
        words = generate_tokens(split, n, cfg=world)
        text = " ".join(words).replace(" .", ".")
        sentences = [s.strip().capitalize() + "." for s in text.split(".") if s.strip()]
        return np.array(smollm.tokenize(" ".join(sentences), add_bos=False), dtype=np.int64)

    return config, ours, ids("val", int(params["calibration_tokens"])), ids("test", int(params["test_tokens"]))
