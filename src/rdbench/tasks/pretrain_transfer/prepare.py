"""Build pretrain_transfer's assets once (deterministic; cached by rdbench).

Writes:
  workspace/  data/corpus.txt (the raw pretraining corpus: one document per line, in a random order),
              vocab.json, gpt.py, model.pt (the starting model, trained by workspace/train.py)
  protected/  corpus.py, pairs.py, skills.py and transfer.py (the grammar, the downstream tasks and the
              fine-tuning recipe: the scorer draws fresh examples from them), gpt.py and checkpoint.py
              (the scorer's own model class and checks), vocab.json, prepare_stats.json
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
from collections import Counter
from typing import Any

import rdbench.tasklib.checkpoint as checkpoint_module
import rdbench.tasklib.corpus as corpus_module
import rdbench.tasklib.gpt as gpt_module
import rdbench.tasklib.pairs as pairs_module
import rdbench.tasklib.skills as skills_module
import rdbench.tasklib.transfer as transfer_module
from rdbench.tasklib.tokenizer import WordTokenizer
from rdbench.tasklib.transfer import noisy_documents

HERE = pathlib.Path(__file__).resolve().parent


def _train(script: pathlib.Path, ws: pathlib.Path, out: pathlib.Path, extra: list[str]) -> None:
    """Run a training script's main() on a copy of the workspace (as the agent would run it)."""
    with tempfile.TemporaryDirectory() as td:
        tdp = pathlib.Path(td)
        shutil.copytree(ws, tdp, dirs_exist_ok=True)
        shutil.copy(script, tdp / "train.py")
        spec = importlib.util.spec_from_file_location(f"transfer_train_{script.parent.name}", tdp / "train.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["--out", str(out), *extra])
        sys.modules.pop("gpt", None)  # the script imported the workspace's gpt.py by that name


def prepare(out: pathlib.Path, params: dict[str, Any]) -> None:
    """Write out/workspace, out/protected and out/reference (see the module docstring)."""
    t0 = time.monotonic()
    tok = WordTokenizer.default()
    ws, prot, ref = out / "workspace", out / "protected", out / "reference"
    for d in (ws / "data", prot, ref):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(gpt_module.__file__, ws / "gpt.py")
    for module in (gpt_module, corpus_module, pairs_module, skills_module, transfer_module, checkpoint_module):
        shutil.copy(module.__file__, prot / pathlib.Path(module.__file__).name)
    (ws / "vocab.json").write_text(tok.to_json())
    (prot / "vocab.json").write_text(tok.to_json())
    docs = noisy_documents(int(params["corpus_words"]), int(params["corpus_seed"]))
    (ws / "data" / "corpus.txt").write_text("".join(" ".join(d.words) + "\n" for d in docs))
    threads = ["--threads", str(int(params.get("threads", 2)))]
    _train(HERE / "workspace" / "train.py", ws, ws / "model.pt", threads)
    _train(HERE / "reference" / "train.py", ws, ref / "model.pt", threads)
    # what the corpus is made of (for the docs; never shown to the agent)
    stats = {"seconds": round(time.monotonic() - t0, 1), "documents": dict(Counter(d.kind for d in docs)),
             "words": dict(Counter(d.kind for d in docs for _ in d.words))}
    (prot / "prepare_stats.json").write_text(json.dumps(stats, indent=1))
