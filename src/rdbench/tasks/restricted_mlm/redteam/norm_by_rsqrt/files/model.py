import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(144, 16)
        self.out = nn.Linear(16, 144)

    def forward(self, ids):
        h = self.emb(ids)
        h = h * torch.rsqrt((h * h).sum(-1, keepdim=True) + 1)
        return self.out(h)


def load_model(workspace):
    torch.manual_seed(0)
    return M()
