"""Build restricted_mlm's data and trained weights (deterministic; run once and cached).

Writes:
    out/workspace/{vocab.json, data/train.txt, data/val.txt, model.pt}   model.pt = the starting model
    out/protected/{vocab.json, test_ids.npy}                             hidden test stream
    out/reference/model.pt                                              the reference model's weights
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from rdbench.tasklib.corpus import generate_tokens
from rdbench.tasklib.tokenizer import WordTokenizer

HERE = pathlib.Path(__file__).parent


def _text(words: list[str]) -> str:
    return " ".join(words).replace(" . ", " .\n") + "\n"


def _train(code_dir: pathlib.Path, data_ws: pathlib.Path, steps: int, dest: pathlib.Path) -> None:
    """Run ``code_dir``'s train.py (with its model.py) on the workspace data, single-threaded."""
    with tempfile.TemporaryDirectory(prefix="rmlm-prep-") as td:
        tmp = pathlib.Path(td)
        for name in ("model.py", "train.py"):
            shutil.copy(code_dir / name, tmp / name)
        shutil.copy(data_ws / "vocab.json", tmp / "vocab.json")
        shutil.copytree(data_ws / "data", tmp / "data")
        code = ("import torch; torch.set_num_threads(1); import train; "
                f"train.main(steps={int(steps)}, log=lambda s: None)")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"training in {code_dir.name}/ failed:\n{proc.stderr[-3000:]}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "model.pt", dest)


def prepare(out: pathlib.Path, params: dict) -> None:
    """Write the corpus splits, the hidden test ids and the trained start/reference weights."""
    out = pathlib.Path(out)
    tok = WordTokenizer.default()
    ws, prot = out / "workspace", out / "protected"
    (ws / "data").mkdir(parents=True, exist_ok=True)
    prot.mkdir(parents=True, exist_ok=True)
    (ws / "vocab.json").write_text(tok.to_json())
    (prot / "vocab.json").write_text(tok.to_json())
    (ws / "data" / "train.txt").write_text(_text(generate_tokens("train", int(params.get("train_tokens", 400_000)))))
    (ws / "data" / "val.txt").write_text(_text(generate_tokens("val", int(params.get("val_tokens", 20_000)))))
    test = np.array(tok.encode(generate_tokens("test", int(params.get("test_tokens", 400_000)))), dtype=np.int16)
    np.save(prot / "test_ids.npy", test)
    _train(HERE / "workspace", ws, int(params.get("start_steps", 400)), ws / "model.pt")
    _train(HERE / "reference", ws, int(params.get("reference_steps", 800)), out / "reference" / "model.pt")
