"""Checks of a model checkpoint an agent delivers, for scorers that load it as data into their own class.

Pure torch, no rdbench imports: tasks copy this file (with ``gpt.py``) into their ``protected/`` folder
at prepare time and their scorers load both by path. A checkpoint is ``{"config": {...}, "model":
state dict}``; the scorer builds its own model from the config (within the task's bounds) and accepts
the state dict only if it has exactly that model's tensor names and shapes, allowed dtypes, plain
dense storage and finite values. Every refusal is a :class:`CheckpointError` whose message says what
is wrong and what was expected, for the scorer to turn into an invalid entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any

import torch


class CheckpointError(ValueError):
    """The checkpoint is not acceptable (the agent's fault)."""


def split_checkpoint(ckpt: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, state)`` of a loaded ``{"config": dict, "model": dict}`` (exactly those keys)."""
    if not isinstance(ckpt, dict) or set(ckpt) != {"config", "model"}:
        keys = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"model.pt must hold a dict with exactly the keys 'config' and 'model' (got {keys})")
    config, state = ckpt["config"], ckpt["model"]
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise CheckpointError("'config' must be a dict of settings")
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError("'model' must be a state dict (tensor name -> tensor)")
    return config, state


def plain_tensors(state: Mapping[str, Any], expected: Mapping[str, tuple[Sequence[int], Sequence[str]]]
                  ) -> dict[str, torch.Tensor]:
    """Own copies of the tensors of ``state`` after checking them against ``expected``.

    Args:
        state: The delivered state dict.
        expected: name -> (shape, allowed dtype names such as ``"float32"``).

    Raises:
        CheckpointError: Names differ, or a tensor is not a plain dense tensor of an allowed dtype and
            the expected shape with finite values.
    """
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(f"state dict keys differ from the architecture: missing {missing[:5]}, "
                              f"extra {extra[:5]}")
    out: dict[str, torch.Tensor] = {}
    for name, (shape, dtypes) in expected.items():
        t = state[name]
        if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.layout != torch.strided or t.is_quantized:
            raise CheckpointError(f"{name}: not a plain dense tensor ({type(t).__name__})")
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in dtypes or list(t.shape) != list(shape):
            raise CheckpointError(f"{name}: dtype/shape {dtype} {list(t.shape)}, expected "
                                  f"{' or '.join(dtypes)} {list(shape)}")
        own = t.detach().to("cpu").clone().contiguous()  # own, real storage
        if not bool(torch.isfinite(own).all()):
            raise CheckpointError(f"{name}: non-finite values")
        out[name] = own
    return out


@dataclass(frozen=True)
class GPTBounds:
    """What a task allows of a ``gpt.GPT`` config.

    Attributes:
        vocab_size: required vocabulary size.
        max_params: most distinct parameters (the tied head counted once, position embeddings included).
        min_block: shortest context allowed (the scorer's inputs must fit).
        max_block: longest context allowed.
        min_layers: fewest blocks.
        max_layers: most blocks.
        max_width: largest residual width.
        causal: required attention kind.
        dtypes: allowed parameter dtypes.
    """

    vocab_size: int
    max_params: int
    min_block: int = 64
    max_block: int = 1024
    min_layers: int = 1
    max_layers: int = 32
    max_width: int = 1024
    causal: bool = True
    dtypes: tuple[str, ...] = ("float32",)


def check_gpt(ckpt: Any, gpt: ModuleType, bounds: GPTBounds) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The scorer's own ``gpt.GPT`` loaded with a delivered checkpoint, in eval mode, or a refusal.

    Args:
        ckpt: What ``torch.load(weights_only=True)`` returned for the agent's file.
        gpt: The scorer's copy of ``gpt.py`` (loaded by path).
        bounds: The task's limits.

    Returns:
        ``(model, facts)`` with facts ``{"params": n, "config": config}``.

    Raises:
        CheckpointError: Anything out of bounds or malformed.
    """
    config, state = split_checkpoint(ckpt)
    known = {f.name for f in fields(gpt.GPTConfig)}
    if set(config) != known:
        raise CheckpointError(f"config keys must be exactly {sorted(known)} (got {sorted(config)})")
    for key in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
        if type(config[key]) is not int or config[key] < 1:
            raise CheckpointError(f"config {key} must be a positive integer (got {config[key]!r})")
    if type(config["causal"]) is not bool or config["causal"] != bounds.causal:
        raise CheckpointError(f"config causal must be {bounds.causal}")
    if type(config["dropout"]) not in (int, float) or not 0 <= config["dropout"] < 1:
        raise CheckpointError("config dropout must be a number in [0, 1) (the scorer evaluates without it)")
    if config["vocab_size"] != bounds.vocab_size:
        raise CheckpointError(f"config vocab_size must be {bounds.vocab_size} (the task's vocabulary)")
    if not bounds.min_block <= config["block_size"] <= bounds.max_block:
        raise CheckpointError(f"config block_size must be in [{bounds.min_block}, {bounds.max_block}] "
                              f"(got {config['block_size']})")
    if not bounds.min_layers <= config["n_layer"] <= bounds.max_layers or config["n_embd"] > bounds.max_width:
        raise CheckpointError(f"{bounds.min_layers} to {bounds.max_layers} layers of width at most "
                              f"{bounds.max_width} (got {config['n_layer']} of {config['n_embd']})")
    if config["n_embd"] % config["n_head"]:
        raise CheckpointError(f"n_head ({config['n_head']}) must divide n_embd ({config['n_embd']})")
    cfg = gpt.GPTConfig(**{**config, "dropout": 0.0})
    with torch.device("meta"):
        shape_model = gpt.GPT(cfg)
    n_params = sum(p.numel() for p in {id(p): p for p in shape_model.parameters()}.values())
    if n_params > bounds.max_params:
        raise CheckpointError(f"{n_params:,} parameters, over the cap of {bounds.max_params:,} "
                              f"(every distinct parameter counts, position embeddings included)")
    expected = {k: (list(v.shape), bounds.dtypes) for k, v in shape_model.state_dict().items()}
    tensors = plain_tensors(state, expected)
    if "head.weight" in tensors and not torch.equal(tensors["head.weight"], tensors["wte.weight"]):
        raise CheckpointError("head.weight must equal wte.weight: the output head is tied to the token embedding")
    model = gpt.GPT(cfg)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.eval()
    return model, {"params": n_params, "config": config}
