import torch
import torch.nn as nn
import torch.nn.functional as F

torch.library.define("rdbench_rt::smax", "(Tensor x) -> Tensor")


@torch.library.impl("rdbench_rt::smax", "cpu")
def _smax(x):
    return F.softmax(x, -1)


@torch.library.register_fake("rdbench_rt::smax")
def _fake(x):
    return torch.empty_like(x)


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(144, 16)
        self.out = nn.Linear(16, 144)

    def forward(self, ids):
        h = self.emb(ids)
        h = torch.ops.rdbench_rt.smax(h)
        return self.out(h)


def load_model(workspace):
    torch.manual_seed(0)
    return M()
