"""Build train_under_cap's assets once (deterministic; cached by rdbench).

Writes:
  workspace/  train.py (the starting solution, from the task folder), gpt.py, vocab.json,
              data/train.txt and data/val.txt (the visible lexical world)
  protected/  gpt.py and checkpoint.py (the scorer's own class and checks), vocab.json, and per hidden
              world variants/<world>/train.txt (what the scorer hands to train.py) and test_ids.npy
              (the hidden test stream, never shown to any process of the agent's)
"""

from __future__ import annotations

import json
import pathlib
import shutil
import time
from typing import Any

import numpy as np

import rdbench.tasklib.checkpoint as checkpoint_module
import rdbench.tasklib.gpt as gpt_module
from rdbench.tasklib.corpus import GrammarConfig, generate_tokens
from rdbench.tasklib.tokenizer import WordTokenizer


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def prepare(out: pathlib.Path, params: dict[str, Any]) -> None:
    """Write out/workspace and out/protected (see the module docstring)."""
    t0 = time.monotonic()
    tok = WordTokenizer.default()
    ws, prot = out / "workspace", out / "protected"
    for d in (ws / "data", prot):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(gpt_module.__file__, ws / "gpt.py")
    for module in (gpt_module, checkpoint_module):
        shutil.copy(module.__file__, prot / pathlib.Path(module.__file__).name)
    (ws / "vocab.json").write_text(tok.to_json())
    (prot / "vocab.json").write_text(tok.to_json())
    prefs, n_train, n_test = float(params["prefs"]), int(params["train_tokens"]), int(params["test_tokens"])
    visible = GrammarConfig(prefs=prefs, prefs_seed=int(params["visible_world"]))
    (ws / "data" / "train.txt").write_text(_text(generate_tokens("train", n_train, cfg=visible)))
    (ws / "data" / "val.txt").write_text(_text(generate_tokens("val", 20_000, cfg=visible)))
    for world in params["worlds"]:
        cfg = GrammarConfig(prefs=prefs, prefs_seed=int(world))
        folder = prot / "variants" / f"world{int(world)}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train.txt").write_text(_text(generate_tokens("train", n_train, cfg=cfg)))
        test = np.array(tok.encode(generate_tokens("test", n_test, cfg=cfg)), dtype=np.uint8)
        np.save(folder / "test_ids.npy", test)
    (prot / "prepare_stats.json").write_text(json.dumps({"seconds": round(time.monotonic() - t0, 1)}))
