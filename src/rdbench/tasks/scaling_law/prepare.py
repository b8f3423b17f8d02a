"""Prepare scaling_law: the experiment settings, the model code and the hidden token data.

Writes ``workspace/{gpt.py,config.json}`` (what the agent reads) and ``protected/`` copies of the same
files plus ``experiment.py`` and ``data/{train,val}.npy``, which the host-side ``experiment`` service
trains on. Deterministic: the data comes from ``rdbench.tasklib.corpus`` with this task's own seed.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil

import numpy as np

from rdbench.tasklib.corpus import GrammarConfig, entropy_floor, generate_tokens
from rdbench.tasklib.tokenizer import WordTokenizer

TASK = pathlib.Path(__file__).resolve().parent
BASE_SEED = 20  # this task's corpus stream (other tasks use other base seeds)
CONFIG_KEYS = ("n_layer", "n_head", "block_size", "batch_size", "lr", "min_width", "max_width",
               "width_multiple", "min_steps", "max_steps", "max_experiment_flops",
               "total_experiment_flops", "target_flops", "answer_widths", "budget_tolerance")


def grammar(params: dict) -> GrammarConfig:
    """The corpus settings: the default grammar plus this task's lexical knowledge."""
    return GrammarConfig(prefs=float(params["prefs"]), prefs_seed=BASE_SEED)


def experiment_config(params: dict) -> dict:
    """The fixed experiment settings of a scale, as ``config.json`` holds them."""
    config = {key: params[key] for key in CONFIG_KEYS}
    for key in ("max_experiment_flops", "total_experiment_flops", "target_flops"):
        config[key] = float(config[key])
    config["vocab_size"] = WordTokenizer.default().vocab_size
    # the exact entropy rate of the data (Monte Carlo, s.e. ~0.003): a perfect model's loss
    config["entropy_floor"] = round(entropy_floor(20000, seed=12345, cfg=grammar(params)), 3)
    return config


def write_data(out: pathlib.Path, params: dict) -> dict[str, str]:
    """Token ids of the train and validation splits as ``uint8`` arrays; returns their SHA-256."""
    tok = WordTokenizer.default()
    out.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for split, n in (("train", int(params["train_tokens"])), ("val", int(params["val_tokens"]))):
        ids = np.array(tok.encode(generate_tokens(split, n, base_seed=BASE_SEED, cfg=grammar(params))[:n]), dtype=np.uint8)
        np.save(out / f"{split}.npy", ids)
        hashes[split] = hashlib.sha256(ids.tobytes()).hexdigest()
    return hashes


def data_hashes(folder: pathlib.Path) -> dict[str, str]:
    """SHA-256 of the prepared token ids (the sweep records them; the scorer compares)."""
    return {split: hashlib.sha256(np.load(folder / f"{split}.npy").tobytes()).hexdigest()
            for split in ("train", "val")}


def starting_answer(params: dict) -> dict:
    """The naive start: a small width (``start_width``) for the whole budget, and as the prediction the
    loss of one experiment at the cap with that width (``start_prediction``, measured once by the
    maintainers through the service)."""
    import rdbench.tasklib.gpt as gpt

    config = experiment_config(params)
    width = int(params["start_width"])
    cfg = gpt.GPTConfig(vocab_size=config["vocab_size"], block_size=config["block_size"],
                        n_layer=config["n_layer"], n_head=config["n_head"], n_embd=width)
    n_params = gpt.GPT(cfg).num_params()
    per_step = gpt.train_flops(cfg, n_params, config["batch_size"] * config["block_size"])
    return {"n_embd": width, "steps": int(config["target_flops"] // per_step),
            "loss": float(params["start_prediction"])}


def prepare(out: pathlib.Path, params: dict) -> None:
    """Write the workspace files and the protected data (see the module docstring)."""
    import rdbench.tasklib.gpt as gpt_module

    config = json.dumps(experiment_config(params), indent=1) + "\n"
    for sub in ("workspace", "protected"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(gpt_module.__file__, out / sub / "gpt.py")
        (out / sub / "config.json").write_text(config)
    # the service runs its own copy of the very script the agent reads
    shutil.copy(TASK / "workspace" / "experiment.py", out / "protected" / "experiment.py")
    (out / "workspace" / "answer.json").write_text(json.dumps(starting_answer(params)) + "\n")
    write_data(out / "protected" / "data", params)
