"""Small clean CPU training scripts the research-assistance families mutate.

Each script trains in well under a second, reads its training seed from the ``SEED`` environment
variable, prints ``test_logloss <value>`` as its last line and leaves the same value in ``METRIC``
(so the runner can execute it in-process without paying torch's import per run).
"""

from __future__ import annotations

import random

from pydantic import BaseModel

TEMPLATE = """\
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
SEED = int(os.environ.get("SEED", "0"))
torch.manual_seed(SEED)
rng = np.random.default_rng({data_seed})
n, d, k = 600, {d}, 3
centers = rng.normal(size=(k, d)) * 0.9
y = rng.integers(0, k, size=n)
X = centers[y] + rng.normal(size=(n, d))
X[:, 0] = X[:, 0] * 10.0 + 5.0
order = rng.permutation(n)
X, y = X[order], y[order]
n_tr = int(0.7 * n)
X_tr, X_te = X[:n_tr], X[n_tr:]
y_tr, y_te = y[:n_tr], y[n_tr:]
mu, sd = X_tr.mean(0), X_tr.std(0) + 1e-8
X_tr = (X_tr - mu) / sd
X_te = (X_te - mu) / sd
X_tr = torch.tensor(X_tr, dtype=torch.float32)
X_te = torch.tensor(X_te, dtype=torch.float32)
y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)
model = torch.nn.Sequential(
    torch.nn.Linear(d, {hidden}), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear({hidden}, k)
)
opt = torch.optim.SGD(model.parameters(), lr={lr})
for epoch in range({epochs}):
    model.train()
    perm = torch.randperm(n_tr)
    for i in range(0, n_tr, 32):
        idx = perm[i:i + 32]
        xb, yb = X_tr[idx], y_tr[idx]
        logits = model(xb)
        loss = F.cross_entropy(logits, yb, reduction="mean")
        opt.zero_grad()
        loss.backward()
        opt.step()
model.eval()
with torch.no_grad():
    probs = F.softmax(model(X_te), dim=1)
    METRIC = -torch.log(probs.gather(1, y_te[:, None]).clamp_min(1e-9)).mean().item()
print(f"test_logloss {{METRIC:.6f}}")
"""


class ScriptConfig(BaseModel):
    """Hyperparameters of one clean script (a small grid, so clean runs are shared by instances)."""

    data_seed: int
    d: int
    hidden: int
    lr: float
    epochs: int = 12

    def key(self) -> str:
        """A short stable name of the config (used in caches and metadata)."""
        return f"mlp-ds{self.data_seed}-d{self.d}-h{self.hidden}-lr{self.lr}-e{self.epochs}"


def draw_config(rng: random.Random) -> ScriptConfig:
    """Draws a config from the grid of 4 x 2 x 2 x 2 = 32 clean scripts."""
    return ScriptConfig(
        data_seed=rng.randrange(4),
        d=rng.choice([8, 12]),
        hidden=rng.choice([32, 64]),
        lr=rng.choice([0.05, 0.1]),
    )


def render(config: ScriptConfig) -> str:
    """Returns the clean script's source for ``config``."""
    return TEMPLATE.format(**config.model_dump())
