"""Starting model: token embeddings, a bag-of-words context vector and a small ReLU MLP.

Only allowed operations are used (embedding, linear, sum, multiply by a constant, add, relu); see the
instructions for the full list. The scorer calls ``load_model(workspace)`` and exports the returned
module with ``torch.export`` on int64 token ids of shape (batch, block); it must return logits of shape
(batch, block, vocab).
"""

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class BagMLM(nn.Module):
    """Predicts each position from its own token and the (order-free) sum of the window's tokens."""

    def __init__(self, vocab_size: int, block_size: int, width: int = 64):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "width": width}
        self.block_size = block_size
        self.emb = nn.Embedding(vocab_size, width)
        self.ctx = nn.Linear(width, width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.emb(ids)  # (B, T, d)
        bag = e.sum(dim=1, keepdim=True) * (1.0 / self.block_size)  # a mean without division
        h = F.relu(self.fc1(e + self.ctx(bag)))
        return self.fc2(h)


def build_model(config: dict) -> nn.Module:
    """A fresh model from a config dict (as saved in model.pt)."""
    return BagMLM(**config)


def load_model(workspace: str) -> nn.Module:
    """The trained model the scorer evaluates: built from model.pt's config and weights."""
    ck = torch.load(os.path.join(workspace, "model.pt"), map_location="cpu", weights_only=True)
    model = build_model(json.loads(ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return model
