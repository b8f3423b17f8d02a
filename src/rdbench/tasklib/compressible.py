"""A Llama whose structure can be cut down: the model class of compress_model.

Pure torch (copied into the task's workspace and its scorer's folder). The shape of every layer is in
the config, so a checkpoint is data only: ``{"config": {...}, "model": state dict}``. What may be cut
is structural, and only structural:

* each layer keeps its own number of query heads and key/value heads (``n_heads``, ``n_kv_heads``;
  ``n_kv_heads`` divides ``n_heads``; 0 heads = no attention), and of MLP units (``hidden``; 0 = no
  MLP); the head width and the residual width stay the original's;
* layers may be dropped (the ``layers`` list is shorter) or share another layer's weights (``share``:
  the index of an earlier layer with its own weights; the sharing layer has no tensors of its own);
* any projection may be low rank: ``ranks`` maps a projection's name (``q k v o gate up down``) to a
  rank r, and its weight is then ``B @ A`` with ``A`` (r x in) and ``B`` (out x r).

Tensors are float16 or float32 (nothing else loads), and the size of a checkpoint is computed from
its tensors' shapes and dtypes (:func:`size_bytes`), so quantisation cannot hide in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")
DTYPE_BYTES = {"float16": 2, "float32": 4}
TOP_KEYS = {"vocab_size", "dim", "head_dim", "norm_eps", "rope_theta", "max_seq_len", "layers"}
LAYER_KEYS = {"n_heads", "n_kv_heads", "hidden", "ranks", "share"}


class ConfigError(ValueError):
    """A config the class cannot build."""


def _int(value: Any, what: str, low: int = 0) -> int:
    if type(value) is not int or value < low:
        raise ConfigError(f"{what} must be an integer >= {low} (got {value!r})")
    return value


def validate_config(config: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A checked copy of ``config``; with ``base`` (the original's), the fixed parts must match it.

    Raises:
        ConfigError: A missing or unknown key, a wrong type, an impossible shape, a bad ``share``, or
            (with ``base``) a width, head width, vocabulary, or a count above the original's.
    """
    if not isinstance(config, Mapping) or set(config) != TOP_KEYS:
        keys = sorted(config) if isinstance(config, Mapping) else type(config).__name__
        raise ConfigError(f"config keys must be exactly {sorted(TOP_KEYS)} (got {keys})")
    out = dict(config)
    for key in ("vocab_size", "dim", "head_dim", "max_seq_len"):
        _int(config[key], key, 1)
    for key in ("norm_eps", "rope_theta"):
        if type(config[key]) not in (int, float) or not config[key] > 0:
            raise ConfigError(f"{key} must be a positive number")
    if config["head_dim"] % 2:
        raise ConfigError("head_dim must be even (rotary positions)")
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise ConfigError("layers must be a non-empty list")
    base_layers: list[Mapping[str, Any]] = list(base["layers"]) if base else []
    max_heads = max((b["n_heads"] for b in base_layers), default=None)
    max_kv = max((b["n_kv_heads"] for b in base_layers), default=None)
    max_hidden = max((b["hidden"] for b in base_layers), default=None)
    checked = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or set(layer) != LAYER_KEYS:
            raise ConfigError(f"layers[{i}] keys must be exactly {sorted(LAYER_KEYS)}")
        h = _int(layer["n_heads"], f"layers[{i}].n_heads")
        g = _int(layer["n_kv_heads"], f"layers[{i}].n_kv_heads")
        m = _int(layer["hidden"], f"layers[{i}].hidden")
        if (h == 0) != (g == 0) or (g and h % g):
            raise ConfigError(f"layers[{i}]: n_kv_heads ({g}) must divide n_heads ({h}) (both 0: no attention)")
        if max_heads is not None and (h > max_heads or g > max_kv or m > max_hidden):  # type: ignore[operator]
            raise ConfigError(f"layers[{i}]: more heads or MLP units than the original model has")
        ranks = layer["ranks"]
        if not isinstance(ranks, Mapping) or not set(ranks) <= set(PROJECTIONS):
            raise ConfigError(f"layers[{i}].ranks must map some of {list(PROJECTIONS)} to ranks")
        for name, r in ranks.items():
            _int(r, f"layers[{i}].ranks.{name}", 1)
        share = layer["share"]
        if share is not None:
            _int(share, f"layers[{i}].share")
            if share >= i or layers[share]["share"] is not None:
                raise ConfigError(f"layers[{i}].share must name an earlier layer with its own weights")
            if any(layer[k] != layers[share][k] for k in ("n_heads", "n_kv_heads", "hidden", "ranks")):
                raise ConfigError(f"layers[{i}] shares layer {share}'s weights, so it must have its shape")
        checked.append({"n_heads": h, "n_kv_heads": g, "hidden": m, "ranks": dict(ranks), "share": share})
    out["layers"] = checked
    if base:
        for key in ("vocab_size", "dim", "head_dim", "norm_eps", "rope_theta", "max_seq_len"):
            if config[key] != base[key]:
                raise ConfigError(f"{key} must stay {base[key]!r} (got {config[key]!r})")
        if len(layers) > len(base_layers):
            raise ConfigError(f"at most {len(base_layers)} layers (the original's)")
    return out


class Projection(nn.Module):
    """A bias-free linear map, dense (``weight``) or low rank (``A`` then ``B``)."""

    def __init__(self, inp: int, out: int, rank: int | None) -> None:
        super().__init__()
        self.rank = rank
        if rank is None:
            self.weight = nn.Parameter(torch.empty(out, inp))
            nn.init.normal_(self.weight, 0.0, 0.02)
        else:
            self.A = nn.Parameter(torch.empty(rank, inp))
            self.B = nn.Parameter(torch.empty(out, rank))
            nn.init.normal_(self.A, 0.0, 0.02)
            nn.init.normal_(self.B, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rank is None:
            return F.linear(x, self.weight)
        return F.linear(F.linear(x, self.A), self.B)

    def dense(self) -> torch.Tensor:
        """The full (out x in) weight."""
        return self.weight if self.rank is None else self.B @ self.A


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class Layer(nn.Module):
    """One block with its own head and unit counts (attention and MLP each optional)."""

    def __init__(self, cfg: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        super().__init__()
        dim, hd = cfg["dim"], cfg["head_dim"]
        self.h, self.g, self.hd = spec["n_heads"], spec["n_kv_heads"], hd
        ranks = spec["ranks"]
        if self.h:
            self.attn_norm = RMSNorm(dim, cfg["norm_eps"])
            self.q = Projection(dim, self.h * hd, ranks.get("q"))
            self.k = Projection(dim, self.g * hd, ranks.get("k"))
            self.v = Projection(dim, self.g * hd, ranks.get("v"))
            self.o = Projection(self.h * hd, dim, ranks.get("o"))
        if spec["hidden"]:
            self.mlp_norm = RMSNorm(dim, cfg["norm_eps"])
            self.gate = Projection(dim, spec["hidden"], ranks.get("gate"))
            self.up = Projection(dim, spec["hidden"], ranks.get("up"))
            self.down = Projection(spec["hidden"], dim, ranks.get("down"))

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        if self.h:
            a = self.attn_norm(x)
            q = _rope(self.q(a).view(b, t, self.h, self.hd).transpose(1, 2), cos, sin)
            k = _rope(self.k(a).view(b, t, self.g, self.hd).transpose(1, 2), cos, sin)
            v = self.v(a).view(b, t, self.g, self.hd).transpose(1, 2)
            if self.g != self.h:
                k = k.repeat_interleave(self.h // self.g, dim=1)
                v = v.repeat_interleave(self.h // self.g, dim=1)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(y.transpose(1, 2).reshape(b, t, self.h * self.hd))
        if hasattr(self, "gate"):
            m = self.mlp_norm(x)
            x = x + self.down(F.silu(self.gate(m)) * self.up(m))
        return x


class CompressibleLlama(nn.Module):
    """A Llama language model built from a (validated) config: ``forward(ids)`` gives logits."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = validate_config(config)
        cfg = self.config
        self.embed = nn.Embedding(cfg["vocab_size"], cfg["dim"])
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.layers = nn.ModuleList()
        self.owner: list[int] = []
        for i, spec in enumerate(cfg["layers"]):
            self.owner.append(i if spec["share"] is None else spec["share"])
            # a sharing layer holds an empty placeholder: its weights are its owner's
            self.layers.append(Layer(cfg, spec) if spec["share"] is None else nn.Identity())
        self.norm = RMSNorm(cfg["dim"], cfg["norm_eps"])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        hd = self.config["head_dim"]
        inv = 1.0 / self.config["rope_theta"] ** (torch.arange(0, hd, 2, device=ids.device).float() / hd)
        angles = torch.outer(torch.arange(t, device=ids.device).float(), inv)
        cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
        x = self.embed(ids)
        for owner in self.owner:
            x = self.layers[owner](x, cos, sin)
        return F.linear(self.norm(x), self.embed.weight)  # the head is tied to the embedding


def expected_tensors(config: Mapping[str, Any]) -> dict[str, list[int]]:
    """Every tensor name of a checkpoint of ``config`` and its shape."""
    with torch.device("meta"):
        model = CompressibleLlama(config)
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def size_bytes(state: Mapping[str, torch.Tensor]) -> int:
    """The checkpoint's size: every tensor's element count times its dtype's bytes (2 or 4)."""
    return sum(t.numel() * DTYPE_BYTES[str(t.dtype).removeprefix("torch.")] for t in state.values())


def from_llama_state(state: Mapping[str, torch.Tensor], llama_config: Mapping[str, Any]) -> tuple[
        dict[str, Any], dict[str, torch.Tensor]]:
    """The config and state dict of a full (uncut) model from a Hugging Face-named Llama state dict
    (``tasklib.smollm``'s names) and its ``LlamaConfig`` as a dict."""
    c = llama_config
    layer = {"n_heads": c["n_heads"], "n_kv_heads": c["n_kv_heads"], "hidden": c["hidden_dim"], "ranks": {},
             "share": None}
    config = {"vocab_size": c["vocab_size"], "dim": c["dim"], "head_dim": c["dim"] // c["n_heads"],
              "norm_eps": c["norm_eps"], "rope_theta": c["rope_theta"], "max_seq_len": c["max_seq_len"],
              "layers": [dict(layer) for _ in range(c["n_layers"])]}
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "mlp_norm",
             "self_attn.q_proj": "q", "self_attn.k_proj": "k", "self_attn.v_proj": "v", "self_attn.o_proj": "o",
             "mlp.gate_proj": "gate", "mlp.up_proj": "up", "mlp.down_proj": "down"}
    out = {"embed.weight": state["model.embed_tokens.weight"], "norm.weight": state["model.norm.weight"]}
    for i in range(c["n_layers"]):
        for hf, ours in names.items():
            out[f"layers.{i}.{ours}.weight"] = state[f"model.layers.{i}.{hf}.weight"]
    return config, out
