"""A compact GPT-style transformer (nanoGPT-like), CPU friendly.

Pure torch: this file may be copied verbatim into task workspaces (they cannot
import rdbench). ``GPTConfig.causal=False`` gives a bidirectional encoder for
masked-LM tasks (same weights layout; use ``mlm_loss`` from train.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    """Model shape.

    Attributes:
        vocab_size: number of token ids.
        block_size: maximum context length.
        n_layer: transformer blocks.
        n_head: attention heads (must divide n_embd).
        n_embd: residual width.
        dropout: dropout probability (0 keeps training deterministic and simple).
        causal: causal (GPT) attention when True, bidirectional (MLM) when False.
    """

    vocab_size: int = 144
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 64
    dropout: float = 0.0
    causal: bool = True

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON / checkpoints."""
        return asdict(self)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.cfg = cfg
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        h = self.cfg.n_head
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, h, c // h).transpose(1, 2)
        k = k.view(b, t, h, c // h).transpose(1, 2)
        v = v.view(b, t, h, c // h).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=self.cfg.causal,
            dropout_p=self.cfg.dropout if self.training else 0.0,
        )
        out: torch.Tensor = self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return out


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(), nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x)))
        out: torch.Tensor = x + self.drop(self.mlp(self.ln2(x)))
        return out


class GPT(nn.Module):
    """Token + position embeddings, blocks, final norm, tied output head."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, time, vocab) for ids of shape (batch, time)."""
        t = idx.shape[1]
        pos = torch.arange(t, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x)
        logits: torch.Tensor = self.head(self.ln_f(x))
        return logits

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count (excluding position embeddings when non_embedding)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n


def train_flops(cfg: GPTConfig, n_params: int, tokens: int) -> float:
    """Approximate training FLOPs: 6 N D plus attention 12 L T C per token.

    Args:
        cfg: model shape (attention term uses layers, block size, width).
        n_params: non-embedding parameter count (``GPT.num_params()``).
        tokens: tokens processed (steps * batch * block).
    """
    return float(6 * n_params * tokens + 12 * cfg.n_layer * cfg.block_size * cfg.n_embd * tokens)
