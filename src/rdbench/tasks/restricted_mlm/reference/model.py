"""Reference model: an MLP-mixer masked LM built only from allowed operations.

Each block mixes positions with learned (block x block) matrices, one per channel group ("head"), then
mixes channels with a ReLU MLP; both are residual. There is no normalisation layer: residual branches
start small (small output projections) so the sum stays well-scaled without dividing by anything,
and gradient clipping in train.py keeps the high learning rate stable.
"""

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class MixerBlock(nn.Module):
    def __init__(self, block_size: int, width: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.inp = nn.Linear(width, width)
        # token mixing: one learned (block x block) matrix per head (channel group), random at first
        self.mix = nn.Parameter(torch.randn(heads, block_size, block_size) * (block_size ** -0.5))
        self.proj = nn.Linear(width, width)
        self.fc1 = nn.Linear(width, mlp * width)
        self.fc2 = nn.Linear(mlp * width, width)
        for lin in (self.proj, self.fc2):
            nn.init.normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, t, d = h.shape
        v = self.inp(h).reshape(b, t, self.heads, d // self.heads)
        m = torch.einsum("hts,bshc->bthc", self.mix, v).reshape(b, t, d)
        h = h + self.proj(F.relu(m))
        return h + self.fc2(F.relu(self.fc1(h)))


class MixerMLM(nn.Module):
    def __init__(self, vocab_size: int, block_size: int, width: int = 96, heads: int = 4, n_layer: int = 3,
                 mlp: int = 2):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "width": width, "heads": heads,
                       "n_layer": n_layer, "mlp": mlp}
        self.emb = nn.Embedding(vocab_size, width)
        self.pos = nn.Parameter(torch.zeros(block_size, width))
        self.blocks = nn.ModuleList(MixerBlock(block_size, width, heads, mlp) for _ in range(n_layer))
        self.head = nn.Linear(width, vocab_size)
        nn.init.normal_(self.emb.weight, std=0.5)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.emb(ids) + self.pos
        for blk in self.blocks:
            h = blk(h)
        return self.head(h)


def build_model(config: dict) -> nn.Module:
    """A fresh model from a config dict (as saved in model.pt)."""
    return MixerMLM(**config)


def load_model(workspace: str) -> nn.Module:
    """The trained model the scorer evaluates: built from model.pt's config and weights."""
    ck = torch.load(os.path.join(workspace, "model.pt"), map_location="cpu", weights_only=True)
    model = build_model(json.loads(ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return model
