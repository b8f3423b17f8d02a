"""Experiment repositories with deployment faults (for get_it_running).

A repository runs a small width sweep: ``run.sh`` prepares a synthetic classification dataset
(``prepare_data.py``), then ``sweep.py`` trains an MLP per configuration (``configs/*.json``) with a
vendored numpy training library (``vendor/minitrain``) and writes ``results.json`` (validation
accuracy per configuration, the best one). It runs in well under a second; ``SEED`` sets the training
seed (initialisation and batch order), the data are fixed.

A fault rewrites one file and records where (file, 1-based line) and how to fix it. Twelve kinds: eight
crashes (each expected to end the run with a given exception class, or a kill) and four silent ones
(the run succeeds with different numbers). :func:`run` executes a repository in a fresh folder, in a
subprocess (a crash is a result, never an exception here), optionally under an address-space limit.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CRASHES = {"wrong_path": "FileNotFoundError", "missing_prepared_file": "FileNotFoundError",
           "api_drift": "TypeError", "oom_batch": "MemoryError", "dtype_mismatch": "IndexError",
           "device_mismatch": "RuntimeError", "missing_env_var": "KeyError", "working_dir": "FileNotFoundError"}
SILENT = ("lr_string", "zero_epochs", "eval_on_train", "identical_configs")
KINDS = (*CRASHES, *SILENT)
LIBRARY_PATH = "vendor/minitrain/__init__.py"
CONFIG_KINDS = ("oom_batch", "device_mismatch", "lr_string", "zero_epochs")  # faults in one configuration

RUN_SH = """#!/bin/bash
# Runs the width sweep: prepares the data, trains every configuration, writes results.json.
set -euo pipefail
cd "$(dirname "$0")"
export DATA_DIR=data
python prepare_data.py
python sweep.py configs/*.json
"""

PREPARE = '''"""Writes data/train.npz and data/val.npz: a synthetic 4-class problem (always the same data)."""

import os

import numpy as np

rng = np.random.default_rng(1234)
n, d, k = 3000, 20, 4
x = rng.normal(size=(n, d))
hidden = np.tanh(x @ rng.normal(size=(d, 32)) / 2.0)
y = (hidden @ rng.normal(size=(32, k))).argmax(axis=1)
y = np.where(rng.random(n) < 0.05, rng.integers(0, k, size=n), y)
os.makedirs("data", exist_ok=True)
np.savez("data/train.npz", x=x[:2400], y=y[:2400].astype(np.int64))
np.savez("data/val.npz", x=x[2400:], y=y[2400:].astype(np.int64))
print("prepared", len(x), "rows")
'''

SWEEP = '''"""Trains every configuration given on the command line; writes results.json (validation accuracy)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))

import minitrain  # noqa: E402

EVAL_SPLIT = os.environ.get("EVAL_SPLIT", "val")


def train(config, seed):
    data_dir = os.environ["DATA_DIR"]
    train_split = minitrain.load_split(os.path.join(data_dir, "train.npz"))
    val_split = minitrain.load_split(os.path.join(data_dir, "val.npz"))
    model = minitrain.MLP(train_split.n_features, config["hidden"], train_split.n_classes, seed=seed)
    trainer = minitrain.Trainer(model, lr=config["lr"], batch_size=config["batch_size"], seed=seed,
                                device=config.get("device", "cpu"))
    trainer.fit(train_split, epochs=config.get("epochs", 0))
    return trainer.evaluate(val_split if EVAL_SPLIT == "val" else train_split)


def main(paths):
    seed = int(os.environ.get("SEED", "0"))
    results = {}
    for path in paths:
        with open(path) as handle:
            config = json.load(handle)
        results[config["name"]] = round(train(config, seed), 4)
        print(config["name"], results[config["name"]])
    best = max(results, key=results.get)
    with open("results.json", "w") as handle:
        json.dump({"best": best, "metric": results[best], "all": results}, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
'''

LIBRARY = '''"""minitrain: a small numpy training library (vendored copy)."""

import numpy as np

__version__ = "{version}"
DEFAULT_LR = 0.001


class Split:
    """Features and integer labels of one split."""

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.n_features = x.shape[1]
        self.n_classes = int(y.max()) + 1


def load_split(path):
    with np.load(path) as data:
        return Split(data["x"], data["y"])


class MLP:
    """One hidden ReLU layer, softmax output."""

    def __init__(self, n_in, hidden, n_out, seed=0):
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(size=(n_in, hidden)) / np.sqrt(n_in)
        self.b1 = np.zeros(hidden)
        self.w2 = rng.normal(size=(hidden, n_out)) / np.sqrt(hidden)
        self.b2 = np.zeros(n_out)

    def forward(self, x):
        self.x, self.h = x, np.maximum(x @ self.w1 + self.b1, 0.0)
        z = self.h @ self.w2 + self.b2
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def backward(self, grad):
        gw2, gb2 = self.h.T @ grad, grad.sum(axis=0)
        gh = (grad @ self.w2.T) * (self.h > 0)
        return {{"w1": self.x.T @ gh, "b1": gh.sum(axis=0), "w2": gw2, "b2": gb2}}
{optimizer}

class Trainer:
    """Minibatch training with cross-entropy; ``evaluate`` returns the accuracy."""

{init}

    def fit(self, split, epochs):
        onehot = np.eye(split.n_classes)[split.y]
        n = len(split.x)
        for _ in range(int(epochs)):
            order = self.rng.permutation(n)
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                xb = self.buffer[:len(idx)]
                xb[:] = split.x[idx]
                p = self.model.forward(xb)
                grads = self.model.backward((p - onehot[idx]) / len(idx))
                self.step(grads)
        return self

    def evaluate(self, split):
        return float((self.model.forward(split.x).argmax(axis=1) == split.y).mean())
'''

INIT_V1 = '''    def __init__(self, model, lr=DEFAULT_LR, batch_size=64, seed=0, device="cpu"):
        if device != "cpu":
            raise RuntimeError(f"minitrain: device {device!r} is not available on this machine (CPU only)")
        self.model = model
        self.lr = lr if isinstance(lr, (int, float)) else DEFAULT_LR  # anything else: the default
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.buffer = np.zeros((batch_size, model.w1.shape[0]))  # one batch, allocated once

    def step(self, grads):
        for name, grad in grads.items():
            setattr(self.model, name, getattr(self.model, name) - self.lr * grad)'''

INIT_V2 = '''    def __init__(self, model, optimizer, batch_size=64, seed=0, device="cpu"):
        if device != "cpu":
            raise RuntimeError(f"minitrain: device {device!r} is not available on this machine (CPU only)")
        self.model = model
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.buffer = np.zeros((batch_size, model.w1.shape[0]))  # one batch, allocated once

    def step(self, grads):
        self.optimizer.apply(self.model, grads)'''

OPTIMIZER_V2 = '''

class SGD:
    """Plain gradient descent (2.0: the learning rate lives in the optimizer, no longer in Trainer)."""

    def __init__(self, lr=DEFAULT_LR):
        self.lr = lr if isinstance(lr, (int, float)) else DEFAULT_LR  # anything else: the default

    def apply(self, model, grads):
        for name, grad in grads.items():
            setattr(model, name, getattr(model, name) - self.lr * grad)
'''

CHANGELOG = """# minitrain changelog

## 2.0.0
- `Trainer(model, optimizer, ...)`: the learning rate moved to the optimizer:
  `Trainer(model, optimizer=minitrain.SGD(lr), batch_size=..., seed=...)`. `Trainer(..., lr=...)` is gone.

## 1.4.2
- `Trainer(model, lr, batch_size, seed, device)`; `fit(split, epochs)`; `evaluate(split)` is the accuracy.
"""

README = """# Width sweep

`./run.sh` prepares the data and trains every configuration in `configs/`, then writes
`results.json`: the validation accuracy of each configuration and the best one. It uses the vendored
training library in `vendor/minitrain` (see its CHANGELOG.md); the code was written for minitrain
{wanted} (requirements.txt). `SEED` sets the training seed (default 0).
"""


def library(version: str) -> str:
    """The vendored library's source at ``version`` (1.x: lr in Trainer; 2.x: lr in an optimizer)."""
    if version.startswith("1."):
        return LIBRARY.format(version=version, optimizer="", init=INIT_V1)
    return LIBRARY.format(version=version, optimizer=OPTIMIZER_V2, init=INIT_V2)


@dataclass(frozen=True)
class Sweep:
    """A sweep's shared settings and its widths."""

    widths: tuple[int, ...]
    lr: float
    batch_size: int
    epochs: int

    def configs(self) -> dict[str, dict[str, Any]]:
        return {f"w{w}": {"name": f"w{w}", "hidden": w, "lr": self.lr, "batch_size": self.batch_size,
                          "epochs": self.epochs, "device": "cpu"} for w in self.widths}


def clean_repo(sweep: Sweep) -> dict[str, str]:
    """The repository's files (relative path -> text), without faults."""
    files = {"run.sh": RUN_SH, "prepare_data.py": PREPARE, "sweep.py": SWEEP,
             LIBRARY_PATH: library("1.4.2"), "vendor/minitrain/CHANGELOG.md": CHANGELOG,
             "requirements.txt": "numpy\nminitrain==1.4  # vendored in vendor/minitrain\n",
             "README.md": README.format(wanted="1.4")}
    for name, config in sweep.configs().items():
        files[f"configs/{name}.json"] = json.dumps(config, indent=1) + "\n"
    return files


@dataclass(frozen=True)
class Fault:
    """One injected fault: where it is, what kind, and how the fix reads."""

    kind: str
    file: str
    line: int
    fix: str


def _replace(files: dict[str, str], path: str, old: str, new: str) -> int:
    """Replaces the one ``old`` in ``path``; returns the 1-based line where ``new`` begins."""
    text = files[path]
    if text.count(old) != 1:
        raise ValueError(f"{path}: {old!r} occurs {text.count(old)} times")
    files[path] = text.replace(old, new)
    return text[:text.index(old)].count("\n") + 1


def _line_of(text: str, needle: str) -> int:
    """The 1-based line where ``needle`` begins in ``text``."""
    return text[:text.index(needle)].count("\n") + 1


def inject(files: dict[str, str], kind: str, target: str) -> Fault:
    """Injects fault ``kind`` into ``files`` (in place); ``target`` names the configuration a
    config-level fault touches."""
    cfg = f"configs/{target}.json"
    if kind == "wrong_path":
        line = _replace(files, "sweep.py", '"train.npz"', '"train_data.npz"')
        return Fault(kind, "sweep.py", line, "load data/train.npz (the file prepare_data.py writes)")
    if kind == "missing_prepared_file":
        line = _replace(files, "run.sh", "python prepare_data.py\n", "")
        return Fault(kind, "run.sh", line, "run prepare_data.py before the sweep")
    if kind == "api_drift":
        files[LIBRARY_PATH] = library("2.0.0")
        line = _line_of(files["sweep.py"], 'lr=config["lr"]')  # the code is unchanged: the library moved
        return Fault(kind, "sweep.py", line, "minitrain 2.0: Trainer(model, optimizer=minitrain.SGD(lr), ...)")
    if kind == "oom_batch":
        batch = json.loads(files[cfg])["batch_size"]
        line = _replace(files, cfg, f'"batch_size": {batch}', f'"batch_size": {batch}0000000')
        return Fault(kind, cfg, line, f"batch_size {batch} (a typo: {batch}0000000 cannot fit in memory)")
    if kind == "dtype_mismatch":
        line = _replace(files, "prepare_data.py", "y=y[:2400].astype(np.int64)", "y=y[:2400].astype(np.float32)")
        return Fault(kind, "prepare_data.py", line, "save the training labels as integers")
    if kind == "device_mismatch":
        line = _replace(files, cfg, '"device": "cpu"', '"device": "cuda"')
        return Fault(kind, cfg, line, 'device "cpu" (this machine has no GPU)')
    if kind == "missing_env_var":
        line = _replace(files, "run.sh", "export DATA_DIR=data\n", "")
        return Fault(kind, "run.sh", line, "export DATA_DIR=data before the sweep")
    if kind == "working_dir":
        line = _replace(files, "run.sh", "python sweep.py configs/*.json", "cd configs && python ../sweep.py *.json")
        return Fault(kind, "run.sh", line, "run the sweep from the repository's root (paths are relative to it)")
    if kind == "lr_string":
        line = _replace(files, cfg, '"lr": ', '"lr": "')
        files[cfg] = re.sub(r'("lr": "[0-9.e-]+)', r'\1"', files[cfg])
        return Fault(kind, cfg, line, "lr as a number, not a string (minitrain silently uses its default)")
    if kind == "zero_epochs":
        line = _replace(files, cfg, '"epochs"', '"epcohs"')
        return Fault(kind, cfg, line, 'the key is "epochs" (misspelt, sweep.py trains 0 epochs)')
    if kind == "eval_on_train":
        line = _replace(files, "sweep.py", 'os.environ.get("EVAL_SPLIT", "val")', 'os.environ.get("EVAL_SPLIT", "train")')
        return Fault(kind, "sweep.py", line, "evaluate on the validation split by default")
    if kind == "identical_configs":
        line = _replace(files, "sweep.py", 'config["hidden"]', 'config.get("hidden_size", 64)')
        return Fault(kind, "sweep.py", line, 'read the width from config["hidden"] (every run used 64)')
    raise ValueError(f"unknown fault kind {kind!r}")


def fixed(files: dict[str, str], faults: list[Fault], clean: dict[str, str]) -> dict[str, str]:
    """The reference fix: the clean files, except that code meets a drifted library where it is (the
    vendored library is what is installed: the code moves to its 2.0 API)."""
    out = dict(clean)
    if any(f.kind == "api_drift" for f in faults):
        out[LIBRARY_PATH] = files[LIBRARY_PATH]
        out["sweep.py"] = clean["sweep.py"].replace('lr=config["lr"]', 'optimizer=minitrain.SGD(config["lr"])')
    return out


def _limit(memory_bytes: int | None) -> Callable[[], None] | None:
    if memory_bytes is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def exception_class(stderr: str) -> str | None:
    """The class of the exception a Python traceback in ``stderr`` ends with."""
    for line in reversed(stderr.strip().splitlines()):
        match = re.match(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit|Interrupt))\b", line.strip())
        if match:
            name = match.group(1).rsplit(".", 1)[-1]
            return "MemoryError" if name.endswith("MemoryError") else name  # numpy's _ArrayMemoryError
    return None


def run(files: dict[str, str], seed: int, memory_bytes: int | None = 2 << 30, timeout: float = 120) -> dict[str, Any]:
    """Runs ``bash run.sh`` on a fresh copy of the repository with ``SEED=seed``. Returns ``ok``, the
    results (when it wrote them), the exception class it ended with and the tail of its stderr."""
    with tempfile.TemporaryDirectory(prefix="gir-") as tmp:
        root = Path(tmp)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SEED": str(seed), "HOME": tmp,
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            done = subprocess.run(["bash", "run.sh"], cwd=root, env=env, capture_output=True, text=True,
                                  timeout=timeout, preexec_fn=_limit(memory_bytes))
        except subprocess.TimeoutExpired:
            return {"ok": False, "results": None, "error": "timeout", "stderr": ""}
        results = None
        if (root / "results.json").exists():
            results = json.loads((root / "results.json").read_text())
        error = exception_class(done.stderr) if done.returncode else None
        if done.returncode and error is None and done.returncode in (137, -9):
            error = "Killed"
        return {"ok": done.returncode == 0 and results is not None, "results": results,
                "error": error if done.returncode else None, "stderr": done.stderr[-1500:]}


def expected(kind: str) -> set[str]:
    """The endings a crash of ``kind`` may have (an out-of-memory is a MemoryError or a kill)."""
    return {"MemoryError", "Killed"} if kind == "oom_batch" else {CRASHES[kind]}
