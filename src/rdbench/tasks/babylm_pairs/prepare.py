"""Build babylm_pairs' assets once (deterministic; cached by rdbench).

Writes:
  workspace/  data/train.txt (the fixed training corpus), data/dev.txt, data/example_pairs.jsonl (a
              few pairs of each phenomenon, from a seed no scoring call uses), vocab.json, gpt.py,
              model.pt (the starting model, trained by workspace/train.py with its defaults)
  protected/  corpus.py and pairs.py (the grammar: the scorer draws fresh pairs from it), gpt.py and
              checkpoint.py (the scorer's own model class and checks), vocab.json, prepare_stats.json
  reference/  model.pt, trained by reference/train.py with its defaults
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil
import sys
import tempfile
import time
from typing import Any

import rdbench.tasklib.checkpoint as checkpoint_module
import rdbench.tasklib.corpus as corpus_module
import rdbench.tasklib.gpt as gpt_module
import rdbench.tasklib.pairs as pairs_module
from rdbench.tasklib.corpus import GrammarConfig, generate_tokens
from rdbench.tasklib.pairs import LEXICAL, STRUCTURAL, make_pairs
from rdbench.tasklib.tokenizer import WordTokenizer

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE_SEED = -1  # scoring calls draw pairs with non-negative seeds


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def _train(script: pathlib.Path, ws: pathlib.Path, out: pathlib.Path, extra: list[str]) -> None:
    """Run a training script's main() on a copy of the workspace (as the agent would run it)."""
    with tempfile.TemporaryDirectory() as td:
        tdp = pathlib.Path(td)
        shutil.copytree(ws, tdp, dirs_exist_ok=True)
        shutil.copy(script, tdp / "train.py")
        spec = importlib.util.spec_from_file_location(f"babylm_train_{script.parent.name}", tdp / "train.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["--out", str(out), *extra])
        sys.modules.pop("gpt", None)  # the script imported the workspace's gpt.py by that name


def prepare(out: pathlib.Path, params: dict[str, Any]) -> None:
    """Write out/workspace, out/protected and out/reference (see the module docstring)."""
    t0 = time.monotonic()
    tok = WordTokenizer.default()
    cfg = GrammarConfig(prefs=float(params["prefs"]), prefs_seed=int(params["world"]))
    ws, prot, ref = out / "workspace", out / "protected", out / "reference"
    for d in (ws / "data", prot, ref):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(gpt_module.__file__, ws / "gpt.py")
    for module in (gpt_module, corpus_module, pairs_module, checkpoint_module):
        shutil.copy(module.__file__, prot / pathlib.Path(module.__file__).name)
    (ws / "vocab.json").write_text(tok.to_json())
    (prot / "vocab.json").write_text(tok.to_json())
    (ws / "data" / "train.txt").write_text(_text(generate_tokens("train", int(params["train_words"]), cfg=cfg)))
    (ws / "data" / "dev.txt").write_text(_text(generate_tokens("val", int(params["dev_words"]), cfg=cfg)))
    examples = make_pairs(STRUCTURAL + LEXICAL, int(params["example_pairs"]), EXAMPLE_SEED, cfg)
    (ws / "data" / "example_pairs.jsonl").write_text("".join(
        json.dumps({"phenomenon": p.phenomenon, "good": " ".join(p.good), "bad": " ".join(p.bad)}) + "\n"
        for p in examples))
    threads = ["--threads", str(int(params.get("threads", 2)))]
    _train(HERE / "workspace" / "train.py", ws, ws / "model.pt", threads)
    _train(HERE / "reference" / "train.py", ws, ref / "model.pt", threads)
    stats = {"seconds": round(time.monotonic() - t0, 1)}
    (prot / "prepare_stats.json").write_text(json.dumps(stats, indent=1))
