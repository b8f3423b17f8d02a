"""Small research projects and the implementations of terse requests on them (for extrapolate_intent).

A project trains a softmax classifier with numpy on fixed synthetic data (``data.py``), configured by
``config.json``, logging one record per epoch through ``logger.py`` and writing ``results.json``;
``NOTES.md`` holds the researcher's notes, ``tests/test_project.py`` its tests. A project has a style:
metric keys written ``val/acc`` or ``val_acc`` (``log_naming``), optional features switched by a
section ``{"augment": {"enabled": ...}}`` or flat keys ``"augment": ..., "augment_noise": ...``
(``config_style``), and notes that say how runs are judged, where checkpoints go, whether resumed runs
must be exact, when the test split is looked at, which checkpoints to keep, where the schedule of a
warm-up starts, which epochs the log keeps, what curves are plotted against, which rows and how many a
held-out split takes, how a rate is annealed and how a per-step quantity enters an epoch's record.
Those are the clues. The project of a warm-up or annealing request logs its learning rate every epoch
(:data:`LR_LOGGED`), so that the schedule shows in the log; the project of a held-out request
(:data:`POOLED`) has no validation split and evaluates on its training rows (``DATA_POOLED``).

An implementation of a request is the project's ``train.py`` with code at five places (setup, the
epoch's rate, the epoch's record, after the record is logged, the final results; evaluating every few
epochs also rewrites the evaluation and logging lines), chosen by one option per dimension
(``protected/checks.py`` lists them). :func:`clues` reads the options the project's files allow,
from the files alone; :func:`twin` removes one clue, after which more than one option fits.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATA = '''"""The project's data: a fixed synthetic 3-class problem, split into train, val and test."""

import numpy as np


def load_splits(data_seed):
    """{"train": (x, y), "val": (x, y), "test": (x, y)}: 500, 200 and 200 rows of 10 features."""
    rng = np.random.default_rng(data_seed)
    n, d, k = 900, 10, 3
    centers = rng.normal(size=(k, d)) * 0.45
    y = rng.integers(0, k, size=n)
    x = centers[y] + rng.normal(size=(n, d))
    flip = rng.random(n) < 0.1
    y = np.where(flip, rng.integers(0, k, size=n), y)
    return {"train": (x[:500], y[:500]), "val": (x[500:700], y[500:700]), "test": (x[700:], y[700:])}
'''

DATA_POOLED = '''"""The project's data: a fixed synthetic 3-class problem, split into train and test (no validation split yet)."""

import numpy as np


def load_splits(data_seed):
    """{"train": (x, y), "test": (x, y)}: 600 and 200 rows of 10 features (the training rows in collection order)."""
    rng = np.random.default_rng(data_seed)
    n, d, k = 800, 10, 3
    centers = rng.normal(size=(k, d)) * 0.45
    y = rng.integers(0, k, size=n)
    x = centers[y] + rng.normal(size=(n, d))
    flip = rng.random(n) < 0.1
    y = np.where(flip, rng.integers(0, k, size=n), y)
    return {"train": (x[:600], y[:600]), "test": (x[600:], y[600:])}
'''

LOGGER = '''"""The lab's run logger: one JSON line per epoch in <out_dir>/log.jsonl (appended, never rewritten).

Do not edit: the lab's dashboards read these files.
"""

import json
import math
import os


class Logger:
    def __init__(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        self.path = os.path.join(out_dir, "log.jsonl")

    def log(self, epoch, record):
        """Appends {"epoch": epoch, **record}; values must be finite numbers."""
        line = {"epoch": int(epoch)}
        for key, value in record.items():
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{key} is not finite: {value}")
            line[key] = value
        with open(self.path, "a") as handle:
            handle.write(json.dumps(line) + "\\n")
'''

TESTS = '''"""The project's tests: python tests/test_project.py (exits non-zero on a failure)."""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from data import load_splits  # noqa: E402


def test_data_is_fixed_and_split():
    a, b = load_splits(3), load_splits(3)
{SPLIT_TEST}

def test_a_short_run_logs_every_epoch():
    with open(os.path.join(ROOT, "config.json")) as handle:
        config = json.load(handle)
    with tempfile.TemporaryDirectory() as tmp:
        config.update(epochs=3, out_dir=os.path.join(tmp, "run"))
        path = os.path.join(tmp, "config.json")
        with open(path, "w") as handle:
            json.dump(config, handle)
        subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config", path], check=True)
        with open(os.path.join(tmp, "run", "log.jsonl")) as handle:
            records = [json.loads(line) for line in handle]
        assert [r["epoch"] for r in records] == [0, 1, 2]
        assert {KEYS} <= set(records[-1])
        with open(os.path.join(tmp, "run", "results.json")) as handle:
            results = json.load(handle)
        assert results[{ACC}] > 0.4, results


if __name__ == "__main__":
    test_data_is_fixed_and_split()
    test_a_short_run_logs_every_epoch()
    print("2 tests passed")
'''

SPLIT_TESTS = {  # the data test of a project with a validation split, and of one without (held_out)
    False: '    assert [len(a[s][0]) for s in ("train", "val", "test")] == [500, 200, 200]\n'
           '    assert (a["val"][0] == b["val"][0]).all()\n',
    True: '    assert len(a["test"][0]) == 200 and sum(len(x) for x, _ in a.values()) == 800\n'
          '    assert (a["test"][0] == b["test"][0]).all()\n'}

TRAIN = '''"""Trains a softmax classifier on the project's data; every setting comes from a JSON config."""

import argparse
import json
import os

import numpy as np

from data import load_splits
from logger import Logger


def forward(w, b, x):
    z = x @ w + b
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def evaluate(w, b, split):
    """Mean cross-entropy and accuracy on a split."""
    x, y = split
    p = forward(w, b, x)
    loss = float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())
    acc = float((p.argmax(axis=1) == y).mean())
    return loss, acc


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="config.json")
    args = parser.parse_args()
    with open(args.config) as handle:
        cfg = json.load(handle)
    splits = load_splits(cfg["data_seed"])
    x_train, y_train = splits["train"]
    rng = np.random.default_rng(cfg["seed"])
    w = rng.normal(scale=0.01, size=(x_train.shape[1], int(y_train.max()) + 1))
    b = np.zeros(w.shape[1])
    noise = {AUGMENT}
    out_dir = cfg["out_dir"]
    logger = Logger(out_dir)
#@setup
    for epoch in range({START}, cfg["epochs"]):
        lr = cfg["lr"] * cfg["lr_decay"] ** epoch
#@rate
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), cfg["batch_size"]):
            idx = order[start:start + cfg["batch_size"]]
            xb, yb = x_train[idx], y_train[idx]
            if noise:
                xb = xb + rng.normal(scale=noise, size=xb.shape)
            p = forward(w, b, xb)
            total += float(-np.log(p[np.arange(len(yb)), yb] + 1e-12).sum())
            grad = p.copy()
            grad[np.arange(len(yb)), yb] -= 1.0
            grad /= len(yb)
            w -= lr * (xb.T @ grad)
            b -= lr * grad.sum(axis=0)
        val_loss, val_acc = evaluate(w, b, splits["val"])
        record = {"{TL}": total / len(x_train), "{VL}": val_loss, "{VA}": val_acc{LRKEY}}
#@epoch
        logger.log(epoch, record)
#@after_log
    final = {"{VL}": val_loss, "{VA}": val_acc}
#@final
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(final, handle, indent=1)


if __name__ == "__main__":
    main()
'''

NOTES = {
    "judged_metric": {"val_acc": "We compare runs by validation accuracy (higher is better); that is the number in "
                                 "every table.",
                      "val_loss": "We compare runs by validation loss (lower is better); that is the number in "
                                  "every table."},
    "ckpt_dir": {"checkpoints": "Checkpoints go in `<out_dir>/checkpoints/`, next to the run's log.",
                 "ckpt": "Checkpoints go in `<out_dir>/ckpt/`, next to the run's log."},
    "exact_resume": {"exact": "A resumed run must reproduce the uninterrupted run exactly (same numbers, same "
                              "batches), or we cannot compare it with the others.",
                     "weights_only": "A resumed run restores the weights and the epoch only and draws its batches "
                                     "afresh (replaying the crashed run's batch order would hit the same bad batch "
                                     "again)."},
    "test_once": {"end_only": "The test split is looked at once, at the end of a run, never during training.",
                  "every_epoch": "We plot test metrics next to validation ones: log them every epoch."},
    "keep_last": {"keep_last": "Disk on the cluster is tight: keep only the latest checkpoint of a run.",
                  "keep_all": "Keep every checkpoint a run writes; we look at old ones when a run goes wrong."},
    "warmup_decay": {"after": "A warm-up delays the schedule: `lr_decay` starts counting when the warm-up ends, "
                              "from the full rate.",
                     "from_start": "A warm-up only scales the first epochs' rate down; `lr_decay` still counts "
                                   "from epoch 0."},
    "eval_records": {"every_epoch": "The dashboards draw one point per epoch: log every epoch, with whatever was "
                                    "measured in it.",
                     "eval_only": "The dashboards join training and validation numbers on the epoch: log only the "
                                  "epochs that were evaluated."},
    "clip_mode": {"norm": "Gradient clipping here always means clipping the gradient's global norm (all parameters "
                           "together).",
                  "value": "Gradient clipping here always means clipping every gradient entry to [-threshold, "
                           "threshold]."},
    "holdout_rows": {"tail": "The training rows are in collection order; a held-out split is always their last rows "
                             "(the most recent data), never a random sample.",
                     "head": "The training rows are in collection order; a held-out split is always their first rows "
                             "(the pilot batch, collected under the final protocol), never a random sample."},
    "holdout_size": {"rows100": "A held-out split is always 100 rows, whatever the size of the data (so that accuracies "
                                "compare across projects).",
                     "fifth": "A held-out split is always a fifth of the rows it is carved from."},
    "anneal_shape": {"cosine": "When we anneal a learning rate it is always a cosine to zero (as in SGDR), never a "
                               "straight line.",
                     "linear": "When we anneal a learning rate it is always a straight line to zero (as in the BERT "
                               "recipes), never a cosine."},
    "step_agg": {"mean": "A per-step quantity (a loss, a norm) goes into an epoch's record as its mean over the "
                         "epoch's steps.",
                 "last": "A per-step quantity (a loss, a norm) goes into an epoch's record as its value at the "
                         "epoch's last step."},
    "progress_unit": {"examples": "Curves are plotted against the number of examples seen, never steps (batch sizes "
                                  "differ between runs).",
                      "steps": "Curves are plotted against optimiser steps, as in the papers we compare with."},
}
NOTE_DIMS = tuple(NOTES)
# the rate logged: the schedule's (the config's `lr_decay` below 1 says the rate changes) unless the
# notes say that the lab logs the configured rate
BASE_RATE_NOTE = "In our logs a learning rate is always the configured base rate (the analysis derives the schedule)."
FILLER = ["Runs live in `runs/<name>/`; `out_dir` in the config says where.",
          "The data are synthetic and fixed by `data_seed`; `seed` sets initialisation and batch order.",
          "`lr` decays by `lr_decay` every epoch.",
          "Please keep `logger.py` and the tests as they are (the dashboards and CI depend on them)."]

README = """# Classifier project

`python train.py --config config.json` trains the classifier and writes `<out_dir>/log.jsonl` (one
record per epoch, via `logger.py`) and `<out_dir>/results.json`. `python tests/test_project.py` runs
the tests. See `NOTES.md` for how we work.
"""


def base_config(style: dict[str, str], lr_decay: float) -> dict[str, Any]:
    """The project's config.json (the optional ``augment`` feature written in the project's style)."""
    config: dict[str, Any] = {"name": "base", "seed": 0, "data_seed": 7, "epochs": 12, "lr": 0.5,
                              "lr_decay": lr_decay, "batch_size": 32, "out_dir": "runs/base"}
    if style["config_style"] == "nested":
        config["augment"] = {"enabled": False, "noise": 0.1}
    elif style["config_style"] == "flat":
        config.update(augment=False, augment_noise=0.1)
    return config


UPDATE = "            w -= lr * (xb.T @ grad)\n            b -= lr * grad.sum(axis=0)\n"
CLIP_THRESHOLD = 0.02  # grad_clip: small enough that both kinds of clipping act (gradient norms are ~0.4)
TWINS = f"""            for mode, (tw, tb) in twins.items():
                tp = forward(tw, tb, xb)
                tp[np.arange(len(yb)), yb] -= 1.0
                tp /= len(yb)
                gw, gb = xb.T @ tp, tp.sum(axis=0)
                if mode == "norm":
                    scale = min(1.0, {CLIP_THRESHOLD} / float(np.sqrt((gw ** 2).sum() + (gb ** 2).sum())))
                    gw, gb = gw * scale, gb * scale
                else:
                    gw, gb = np.clip(gw, -{CLIP_THRESHOLD}, {CLIP_THRESHOLD}), np.clip(gb, -{CLIP_THRESHOLD}, {CLIP_THRESHOLD})
                tw -= lr * gw
                tb -= lr * gb
"""


GRAD_NORM = "            norms.append(float(np.sqrt(((xb.T @ grad) ** 2).sum() + (grad.sum(axis=0) ** 2).sum())))\n"


def _augment(style: str) -> str:
    if style == "nested":
        return 'cfg["augment"]["noise"] if cfg.get("augment", {}).get("enabled") else 0.0'
    if style == "flat":
        return 'cfg["augment_noise"] if cfg.get("augment") else 0.0'
    return "0.0"


def keys(naming: str) -> dict[str, str]:
    """Metric keys under ``naming`` (slash: ``val/acc``; underscore: ``val_acc``; bare: ``acc``)."""
    if naming == "bare":
        return {"train_loss": "loss", "val_loss": "valloss", "val_acc": "accuracy", "train_lr": "lr",
                "test_acc": "test_acc", "test_loss": "test_loss"}
    sep = "/" if naming == "slash" else "_"
    return {name: name.replace("_", sep, 1) for name in ("train_loss", "val_loss", "val_acc", "train_lr",
                                                          "test_acc", "test_loss")}


def _switch(kind: str, style: str, params: tuple[tuple[str, float], ...]) -> str:
    """Code that reads feature ``kind``'s switch and parameters in ``style`` (absent: off)."""
    if style == "nested":
        lines = [f'    feature = cfg.get("{kind}") or {{}}', '    enabled = bool(feature.get("enabled", False))']
        lines += [f'    {p} = {type(default).__name__}(feature.get("{p}", {default}))' for p, default in params]
    else:
        lines = [f'    enabled = bool(cfg.get("{kind}", False))']
        lines += [f'    {p} = {type(default).__name__}(cfg.get("{kind}_{p}", {default}))' for p, default in params]
    return "\n".join(lines)


HELD_OUT_TWINS = (("tail", "rows100"), ("tail", "fifth"), ("head", "rows100"), ("head", "fifth"))
POOLED_EVAL = '        val_loss, val_acc = evaluate(w, b, splits["train"])  # no validation split yet: the training rows\n'
VAL_EVAL = '        val_loss, val_acc = evaluate(w, b, splits["val"])\n'
HOLDOUT_TWIN = '''

def _holdout_twin(cfg, rows, size):
    """The project trained on the training rows less a held-out split (its last or first rows, 100 of
    them or a fifth), evaluated on that split every epoch: [(train loss, val loss, val acc)]."""
    x_all, y_all = load_splits(cfg["data_seed"])["train"]
    n = 100 if size == "rows100" else len(x_all) // 5
    if rows == "tail":
        x_val, y_val, x_train, y_train = x_all[-n:], y_all[-n:], x_all[:-n], y_all[:-n]
    else:
        x_val, y_val, x_train, y_train = x_all[:n], y_all[:n], x_all[n:], y_all[n:]
    rng = np.random.default_rng(cfg["seed"])
    w = rng.normal(scale=0.01, size=(x_train.shape[1], int(y_train.max()) + 1))
    b = np.zeros(w.shape[1])
    out = []
    for epoch in range(cfg["epochs"]):
        lr = cfg["lr"] * cfg["lr_decay"] ** epoch
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), cfg["batch_size"]):
            idx = order[start:start + cfg["batch_size"]]
            xb, yb = x_train[idx], y_train[idx]
            p = forward(w, b, xb)
            total += float(-np.log(p[np.arange(len(yb)), yb] + 1e-12).sum())
            grad = p.copy()
            grad[np.arange(len(yb)), yb] -= 1.0
            grad /= len(yb)
            w -= lr * (xb.T @ grad)
            b -= lr * grad.sum(axis=0)
        out.append((total / len(x_train), *evaluate(w, b, (x_val, y_val))))
    return out
'''


def implementation(kind: str | None, style: dict[str, str], options: dict[str, str],
                   lr_logged: bool | None = None, project_kind: str | None = None) -> str:
    """The project's train.py with request ``kind`` implemented by ``options`` (None: the project as it
    is). ``style`` holds the project's own log naming and config style (the code around the feature);
    ``lr_logged``: whether the project's epoch record carries the learning rate (None: where the
    kind's project does, :data:`LR_LOGGED`); ``project_kind``: the request whose project this is
    (None: ``kind``), which decides whether the project has a validation split (:data:`POOLED`)."""
    pooled = (kind if project_kind is None else project_kind) in POOLED
    names = keys(style["log_naming"])
    code = {"setup": "", "rate": "", "epoch": "", "after_log": "", "final": ""}
    start = "0"
    edits: list[tuple[str, str]] = []  # (line, replacement) in the finished text: kinds that change the loop
    if kind == "early_stopping":
        code["setup"] = _switch(kind, options["config_style"], (("patience", 3),)) + "\n    best, best_epoch = None, 0"
        metric = names["val_acc"] if options["judged_metric"] == "val_acc" else names["val_loss"]
        better = ">" if options["judged_metric"] == "val_acc" else "<"
        code["after_log"] = (f'        if enabled:\n            value = record["{metric}"]\n'
                             f"            if best is None or value {better} best:\n"
                             "                best, best_epoch = value, epoch\n"
                             "            elif epoch - best_epoch >= patience:\n                break")
    elif kind == "log_lr":
        key = keys(options["log_naming"])["train_lr"]
        code["epoch"] = f'        record["{key}"] = ' + ("lr" if options["lr_value"] == "scheduled" else 'cfg["lr"]')
    elif kind in ("resume", "checkpoint_every"):
        folder = options["ckpt_dir"]
        where = "out_dir" if folder == "." else f'os.path.join(out_dir, "{folder}")'
        if kind == "resume":
            exact = options["exact_resume"] == "exact"
            code["setup"] = "\n".join([
                _switch(kind, options["config_style"], ()),
                f"    ckpt_path = os.path.join({where}, " + ('"checkpoint.npz")' if folder == "." else '"last.npz")'),
                "    start_epoch = 0",
                "    if enabled and os.path.exists(ckpt_path):",
                "        with np.load(ckpt_path) as state:",
                '            w, b, start_epoch = state["w"].copy(), state["b"].copy(), int(state["epoch"]) + 1',
                *(['            rng.bit_generator.state = json.loads(str(state["rng"]))'] if exact else [])])
            code["after_log"] = "\n".join([
                "        os.makedirs(os.path.dirname(ckpt_path), exist_ok=True)",
                "        np.savez(ckpt_path, w=w, b=b, epoch=epoch"
                + (", rng=np.array(json.dumps(rng.bit_generator.state)))" if exact else ")")])
            start = "start_epoch"
        else:
            code["setup"] = _switch(kind, options["config_style"], (("every", 1),)) + f"\n    ckpt_dir = {where}"
            keep = options["keep_last"] == "keep_last"
            code["after_log"] = "\n".join([
                "        if enabled and (epoch + 1) % every == 0:",
                "            os.makedirs(ckpt_dir, exist_ok=True)",
                '            path = os.path.join(ckpt_dir, f"epoch{epoch + 1:03d}.npz")',
                "            np.savez(path, w=w, b=b, epoch=epoch)",
                *(["            for name in os.listdir(ckpt_dir):",
                   '                if name.endswith(".npz") and os.path.join(ckpt_dir, name) != path:',
                   "                    os.remove(os.path.join(ckpt_dir, name))"] if keep else [])])
    elif kind == "report_test":
        test = keys(options["log_naming"])["test_acc" if options["judged_metric"] == "val_acc" else "test_loss"]
        index = 1 if options["judged_metric"] == "val_acc" else 0
        code["final"] = f'    final["{test}"] = evaluate(w, b, splits["test"])[{index}]'
        if options["test_once"] == "every_epoch":
            code["epoch"] = f'        record["{test}"] = evaluate(w, b, splits["test"])[{index}]'
    elif kind == "report_best":
        metric = names["val_acc"] if options["judged_metric"] == "val_acc" else names["val_loss"]
        better = ">" if options["judged_metric"] == "val_acc" else "<"
        epoch_key = {"slash": "best/epoch", "underscore": "best_epoch"}.get(options["log_naming"], "best_epoch")
        code["setup"] = "    best = None"
        code["after_log"] = (f'        if best is None or record["{metric}"] {better} best["{metric}"]:\n'
                             "            best = dict(record, epoch=epoch)")
        code["final"] = (f'    final = {{"{names["val_loss"]}": best["{names["val_loss"]}"], '
                         f'"{names["val_acc"]}": best["{names["val_acc"]}"], "{epoch_key}": best["epoch"]}}')
    elif kind == "warmup":
        code["setup"] = _switch(kind, options["config_style"], (("epochs", 3),))
        if options["warmup_decay"] == "after":  # up to the full rate at the end of the warm-up, then decay
            code["rate"] = ("        if enabled:\n"
                            '            lr = cfg["lr"] * ((epoch + 1) / (epochs + 1) if epoch < epochs\n'
                            '                              else cfg["lr_decay"] ** (epoch - epochs))')
        else:  # the scheduled rate, scaled down in the first epochs
            code["rate"] = "        if enabled and epoch < epochs:\n            lr = lr * (epoch + 1) / epochs"
    elif kind == "eval_every":
        code["setup"] = _switch(kind, options["config_style"], (("every", 3),))
        edits.append(('        val_loss, val_acc = evaluate(w, b, splits["val"])\n',
                      '        evaluated = not enabled or (epoch + 1) % every == 0 or epoch == cfg["epochs"] - 1\n'
                      '        if evaluated:\n            val_loss, val_acc = evaluate(w, b, splits["val"])\n'))
        edits.append((f'        record = {{"{names["train_loss"]}": total / len(x_train), "{names["val_loss"]}": val_loss, '
                      f'"{names["val_acc"]}": val_acc}}\n',
                      f'        record = {{"{names["train_loss"]}": total / len(x_train)}}\n'
                      f'        if evaluated:\n            record.update({{"{names["val_loss"]}": val_loss, '
                      f'"{names["val_acc"]}": val_acc}})\n'))
        if options["eval_records"] == "eval_only":
            edits.append(("        logger.log(epoch, record)\n",
                          "        if evaluated:\n            logger.log(epoch, record)\n"))
    elif kind == "log_progress":
        unit = options["progress_unit"]
        key = {"slash": f"train/{unit}", "underscore": f"train_{unit}"}.get(options["log_naming"], unit[:-1])
        per_epoch = "len(x_train)" if unit == "examples" else '-(-len(x_train) // cfg["batch_size"])'
        code["setup"] = "    seen = 0"
        code["epoch"] = f'        seen += {per_epoch}\n        record["{key}"] = seen'
    elif kind == "best_so_far":
        metric = names["val_acc"] if options["judged_metric"] == "val_acc" else names["val_loss"]
        pick = "max" if options["judged_metric"] == "val_acc" else "min"
        short = options["judged_metric"][4:]
        key = {"slash": f"val/best_{short}", "underscore": f"val_best_{short}"}.get(options["log_naming"],
                                                                                  f"best_{short}")
        code["setup"] = "    best = None"
        code["epoch"] = (f'        best = record["{metric}"] if best is None else {pick}(best, record["{metric}"])\n'
                         f'        record["{key}"] = best')
    elif kind == "grad_clip":
        code["setup"] = _switch(kind, options["config_style"], (("threshold", CLIP_THRESHOLD),))
        clip = ("                norm = float(np.sqrt((gw ** 2).sum() + (gb ** 2).sum()))\n"
                "                if norm > threshold:\n"
                "                    gw, gb = gw * (threshold / norm), gb * (threshold / norm)\n"
                if options["clip_mode"] == "norm" else
                "                gw, gb = np.clip(gw, -threshold, threshold), np.clip(gb, -threshold, threshold)\n")
        edits.append((UPDATE, "            gw, gb = xb.T @ grad, grad.sum(axis=0)\n            if enabled:\n" + clip
                       + "            w -= lr * gw\n            b -= lr * gb\n"))
    elif kind == "anneal":  # the per-epoch decay replaced by a rate annealed to zero at the run's end
        code["setup"] = _switch(kind, options["config_style"], ())
        code["rate"] = ("        if enabled:\n"
                        + ('            lr = cfg["lr"] * 0.5 * (1.0 + float(np.cos(np.pi * epoch / cfg["epochs"])))'
                           if options["anneal_shape"] == "cosine" else
                           '            lr = cfg["lr"] * (1.0 - epoch / cfg["epochs"])'))
    elif kind == "log_grad_norm":  # the global L2 norm of each step's gradient, per epoch its mean or last
        key = {"slash": "train/grad_norm", "underscore": "train_grad_norm"}.get(options["log_naming"], "grad_norm")
        edits.append(("        total = 0.0\n", "        total = 0.0\n        norms = []\n"))
        edits.append((UPDATE, GRAD_NORM + UPDATE))
        code["epoch"] = f'        record["{key}"] = ' + ("float(np.mean(norms))" if options["step_agg"] == "mean"
                                                       else "norms[-1]")
    elif kind == "held_out":  # a held-out split carved from the training rows, the eval on it
        n = "100" if options["holdout_size"] == "rows100" else "len(x_all) // 5"
        carve = ("x_all[-n:], y_all[-n:], x_all[:-n], y_all[:-n]" if options["holdout_rows"] == "tail" else
                 "x_all[:n], y_all[:n], x_all[n:], y_all[n:]")
        edits.append(('    x_train, y_train = splits["train"]\n',
                      f'    x_all, y_all = splits["train"]\n    n = {n}  # the held-out rows\n'
                      f"    x_val, y_val, x_train, y_train = {carve}\n"))
        edits.append((POOLED_EVAL, "        val_loss, val_acc = evaluate(w, b, (x_val, y_val))\n"))
    elif kind == "oracle":  # the scorer's yardstick: the project, with both test metrics in the results
        code["final"] = ('    final["_oracle_test_loss"], final["_oracle_test_acc"] = '
                         'evaluate(w, b, splits["test"])')
        if pooled:  # and the project trained with each held-out split a held_out request may mean
            code["setup"] = ("    holdout = {f\"{r}_{s}\": _holdout_twin(cfg, r, s) for r, s in "
                             + repr(HELD_OUT_TWINS) + "}")
            code["epoch"] = ("        for twin, numbers in holdout.items():\n"
                             '            for name, number in zip(("train_loss", "val_loss", "val_acc"), numbers[epoch]):\n'
                             '                record[f"_oracle/{twin}/{name}"] = number')
            edits.append(("\n\ndef main():", HOLDOUT_TWIN + "\n\ndef main():"))
        else:  # and two twins trained on the same batches with the gradient clipped at CLIP_THRESHOLD, by
            # its norm and by value, whose validation losses a clipping request is told apart by
            code["setup"] = "    twins = {mode: (w.copy(), b.copy()) for mode in (\"norm\", \"value\")}"
            code["epoch"] = ("        for mode, (tw, tb) in twins.items():\n"
                             '            record[f"_oracle/{mode}_val_loss"] = evaluate(tw, tb, splits["val"])[0]')
            # and the gradient norm of every step, whose epoch mean and last value a request to log
            # it is told apart by
            edits.append(("        total = 0.0\n", "        total = 0.0\n        norms = []\n"))
            edits.append((UPDATE, GRAD_NORM + UPDATE + TWINS))
            code["epoch"] += ('\n        record["_oracle/grad_norm_mean"] = float(np.mean(norms))'
                              '\n        record["_oracle/grad_norm_last"] = norms[-1]')
    logs_lr = kind in LR_LOGGED if lr_logged is None else lr_logged
    text = TRAIN.replace("{AUGMENT}", _augment(style["config_style"])).replace("{START}", start)
    text = text.replace("{LRKEY}", f', "{names["train_lr"]}": lr' if logs_lr else "")
    for slot, name in (("{TL}", "train_loss"), ("{VL}", "val_loss"), ("{VA}", "val_acc")):
        text = text.replace(slot, names[name])
    for slot, snippet in code.items():
        text = text.replace(f"#@{slot}\n", snippet + "\n" if snippet else "")
    if pooled:
        text = text.replace(VAL_EVAL, POOLED_EVAL)
    for line, replacement in edits:
        assert text.count(line) == 1, line
        text = text.replace(line, replacement)
    return text


def notes(clues: dict[str, str], rng: random.Random, extra: tuple[str, ...] = ()) -> str:
    """NOTES.md with a sentence per clue in ``clues`` (dimension -> option) and the ``extra`` ones,
    among the filler."""
    ordered = [*FILLER, *(NOTES[dim][option] for dim, option in clues.items() if NOTES[dim][option]), *extra]
    rng.shuffle(ordered)
    return "# Notes\n\n" + "".join(f"- {line}\n" for line in ordered)


def project(style: dict[str, str], note_clues: dict[str, str], lr_decay: float, rng: random.Random,
            lr_logged: bool = False, kind: str | None = None) -> dict[str, str]:
    """The project's files (relative path -> text) before the request (``lr_logged``: the epoch record
    carries the learning rate, as the projects of :data:`LR_LOGGED` kinds do; ``kind``: the request,
    whose project has no validation split where it is in :data:`POOLED`)."""
    pooled = kind in POOLED
    names = keys(style["log_naming"])
    tests = TESTS.replace("{KEYS}", "{" + ", ".join(json.dumps(names[k]) for k in ("train_loss", "val_loss",
                                                                                     "val_acc")) + "}")
    tests = tests.replace("{SPLIT_TEST}", SPLIT_TESTS[pooled])
    return {"train.py": implementation(None, style, {}, lr_logged, kind), "data.py": DATA_POOLED if pooled else DATA,
            "logger.py": LOGGER,
            "tests/test_project.py": tests.replace("{ACC}", json.dumps(names["val_acc"])),
            "config.json": json.dumps(base_config(style, lr_decay), indent=1) + "\n", "README.md": README,
            "NOTES.md": notes(note_clues, rng, (BASE_RATE_NOTE,) if style.get("lr_value") == "base" else ())}


def clues(files: dict[str, str]) -> dict[str, set[str]]:
    """The options of every dimension that the project's files allow, read from the files alone."""
    found: dict[str, set[str]] = {}
    config = json.loads(files["config.json"])
    augment = config.get("augment")
    found["config_style"] = {"nested"} if isinstance(augment, dict) else \
        {"flat"} if isinstance(augment, bool) and "augment_noise" in config else {"nested", "flat"}
    record = re.search(r"record = \{(.*)\}", files["train.py"])
    logged = re.findall(r'"([^"]+)":', record.group(1)) if record else []
    found["log_naming"] = {"slash"} if any("/" in k for k in logged) else \
        {"underscore"} if any("_" in k for k in logged) else {"slash", "underscore"}
    found["lr_value"] = {"base"} if BASE_RATE_NOTE in files["NOTES.md"] else \
        {"scheduled"} if float(config.get("lr_decay", 1.0)) != 1.0 else {"scheduled", "base"}
    text = files["NOTES.md"]
    for dim in NOTE_DIMS:
        said = {option for option, line in NOTES[dim].items() if line and line in text}
        found[dim] = said if len(said) == 1 else set(NOTES[dim])
    return found


def twin(files: dict[str, str], dim: str) -> dict[str, str]:
    """The project without the clue of ``dim`` (the twin that validation reads)."""
    out = dict(files)
    if dim == "config_style":
        config = json.loads(files["config.json"])
        for key in ("augment", "augment_noise"):
            config.pop(key, None)
        out["config.json"] = json.dumps(config, indent=1) + "\n"
    elif dim == "log_naming":
        names = [m for m in re.findall(r'"([^"]+)":', re.search(r"record = \{(.*)\}", files["train.py"]).group(1))]  # type: ignore[union-attr]
        text = files["train.py"]
        for name, bare in zip(names, ("loss", "valloss", "accuracy", "lr"), strict=False):
            text = text.replace(f'"{name}"', f'"{bare}"')
        out["train.py"] = text
    elif dim == "lr_value":  # both of its clues: the decaying schedule and the note on logged rates
        config = json.loads(files["config.json"])
        config["lr_decay"] = 1.0
        out["config.json"] = json.dumps(config, indent=1) + "\n"
        out["NOTES.md"] = files["NOTES.md"].replace(f"- {BASE_RATE_NOTE}\n", "")
    else:
        text = files["NOTES.md"]
        for line in NOTES[dim].values():
            if line:
                text = text.replace(f"- {line}\n", "")
        out["NOTES.md"] = text
    return out


def run_local(files: dict[str, str], runs: list[tuple[str, dict[str, Any]]], timeout: float = 60) -> dict[str, Any]:
    """Runs ``runs`` (name, config) in order on a fresh copy of ``files`` in subprocesses (the
    generator's runner; the scorer runs the same plan in a nested sandbox). Returns, per run name, its
    log records, results and the files of its output folder (relative to it)."""
    with tempfile.TemporaryDirectory(prefix="intent-") as tmp:
        root = Path(tmp)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HOME": tmp}
        (root / "cfgs").mkdir()
        for index, (name, config) in enumerate(runs):
            cfg = root / "cfgs" / f"{index}-{name}.json"
            cfg.write_text(json.dumps(config))
            subprocess.run([sys.executable, "train.py", "--config", str(cfg)], cwd=root, env=env,
                           capture_output=True, timeout=timeout, check=False)
        return {name: read_outputs(root / config["out_dir"]) for name, config in runs}


def read_outputs(folder: Path) -> dict[str, Any]:
    """A run's log records, results and files (host side: the generator's own runs)."""
    out: dict[str, Any] = {"log": None, "results": None, "files": []}
    if not folder.is_dir():
        return out
    with contextlib.suppress(OSError, ValueError):
        out["log"] = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    with contextlib.suppress(OSError, ValueError):
        out["results"] = json.loads((folder / "results.json").read_text())
    out["files"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return out


def run_tests(files: dict[str, str], timeout: float = 60) -> bool:
    """Whether the project's tests pass (generator side)."""
    with tempfile.TemporaryDirectory(prefix="intent-") as tmp:
        for path, text in files.items():
            (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / path).write_text(text)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1", "HOME": tmp}
        done = subprocess.run([sys.executable, "tests/test_project.py"], cwd=tmp, env=env, capture_output=True,
                              timeout=timeout, check=False)
        return done.returncode == 0


REQUESTS = {
    "early_stopping": '"add early stopping" (config option `early_stopping`, with a `patience`)',
    "log_lr": '"also log the learning rate"',
    "resume": '"let me resume a run from its checkpoint" (config option `resume`)',
    "report_test": '"also report how the final model does on the test split"',
    "checkpoint_every": '"save a checkpoint every few epochs" (config option `checkpoint_every`, with an `every`)',
    "report_best": '"make results.json report the best epoch (which one, and its validation numbers), not the last"',
    "warmup": '"add a learning-rate warm-up" (config option `warmup`, with its length in `epochs`)',
    "eval_every": '"only evaluate on the validation split every few epochs" (config option `eval_every`, with an '
                  '`every`)',
    "log_progress": '"also log how much training each record has seen, so that runs can be lined up"',
    "best_so_far": '"also log the best validation score so far in every record"',
    "grad_clip": '"clip the gradients" (config option `grad_clip`, with a `threshold`)',
    "held_out": '"make the eval use a held-out split"',
    "log_grad_norm": '"also log the gradient norm"',
    "anneal": '"anneal the learning rate to zero over the run instead of decaying it every epoch" (config option '
              '`anneal`)',
}
POOLED = ("held_out",)  # kinds whose project has no validation split (the eval runs on the training rows)
LR_LOGGED = ("warmup", "anneal")  # kinds whose project logs the learning rate every epoch (the warm-up shows in it)
TEXTBOOK: dict[str, dict[str, str]] = {
    # what a tutorial does without looking at the project: flat switches, validation loss, a bare
    # "lr" key with the configured rate, a checkpoint file in the output folder, weights only, all files
    "early_stopping": {"config_style": "flat", "judged_metric": "val_loss"},
    "log_lr": {"log_naming": "bare", "lr_value": "base"},
    "resume": {"config_style": "flat", "ckpt_dir": ".", "exact_resume": "weights_only"},
    "report_test": {"log_naming": "bare", "judged_metric": "val_acc", "test_once": "end_only"},
    "checkpoint_every": {"config_style": "flat", "ckpt_dir": ".", "keep_last": "keep_all"},
    # the best accuracy (as in the classic ImageNet example) under a "best_epoch" key; a linear ramp
    # multiplying the existing schedule; the epochs that were not evaluated skipped in the log
    "report_best": {"log_naming": "bare", "judged_metric": "val_acc"},
    "warmup": {"config_style": "flat", "warmup_decay": "from_start"},
    "eval_every": {"config_style": "flat", "eval_records": "eval_only"},
    # a bare "step" counter; a bare "best_acc" (as in the classic ImageNet example)
    "log_progress": {"log_naming": "bare", "progress_unit": "steps"},
    "best_so_far": {"log_naming": "bare", "judged_metric": "val_acc"},
    "grad_clip": {"config_style": "flat", "clip_mode": "norm"},  # as torch's clip_grad_norm_
    # the last fifth of the training rows, unshuffled (as Keras's validation_split=0.2 takes them)
    "held_out": {"holdout_rows": "tail", "holdout_size": "fifth"},
    "anneal": {"config_style": "flat", "anneal_shape": "cosine"},
    # a bare "grad_norm" of the last step (the norm computed in the loop, logged after it)
    "log_grad_norm": {"log_naming": "bare", "step_agg": "last"},  # as torch's CosineAnnealingLR(T_max=epochs)
}
