"""Runs a component on check cases and in a short training run.

One copy of this code serves three places: the scorer runs the reference through it in its own
process, passes its source to the child process that runs the agent's component, and the
instance generator puts it into the workspace's ``train.py`` (so the agent can run the same
training). Torch only; no rdbench import.
"""

from typing import Any

import torch
import torch.nn.functional as F


def plain(t):
    """Rejects anything but a plain tensor (subclasses could fake comparisons)."""
    if type(t) is not torch.Tensor:
        raise TypeError(f"component must return a plain torch.Tensor, got {type(t).__name__}")
    return t


def run_cases(fn, kind, cases):
    """Outputs (and input gradients, where they apply) of ``fn`` on each case, as plain tensors."""
    out = []
    for case in cases:
        if kind in ("layer", "loss"):
            x, target, w = case
            x = x.clone().requires_grad_(True)
            y = plain(fn(x, target))
            (y * w).sum().backward()
            out.append([y.detach().clone(), x.grad.detach().clone()])
        elif kind == "attention":
            q, k, v, w = (t.clone() for t in case)
            for t in (q, k, v):
                t.requires_grad_(True)
            y = plain(fn(q, k, v))
            (y * w).sum().backward()
            out.append([y.detach().clone(), q.grad.detach().clone(), k.grad.detach().clone(), v.grad.detach().clone()])
        elif kind == "optimizer":
            params, grads, lr = case
            params = [p.clone() for p in params]
            states: list[dict[str, Any]] = [{} for _ in params]
            trajectory = []
            for step_grads in grads:
                params = [plain(fn(p, g.clone(), s, lr)).detach().clone() for p, g, s in zip(params, step_grads, states, strict=False)]
                trajectory.append(torch.cat([p.reshape(-1) for p in params]))
            out.append([torch.stack(trajectory)])
        elif kind == "scheduler":
            (total,) = case
            out.append([torch.tensor([float(fn(s, total)) for s in range(total)], dtype=torch.float64)])
        elif kind == "metric":
            scores, target = case
            out.append([plain(fn(scores.clone(), target.clone())).detach().clone()])
        else:
            raise ValueError(f"unknown kind {kind}")
    return out


def train_data(kind, seed):
    """Inputs of the short training run for ``kind`` (fresh per seed)."""
    g = torch.Generator().manual_seed(seed + 1)
    if kind == "attention":
        x = torch.randn(64, 6, 8, generator=g, dtype=torch.float64)
        return {"x": x, "target": torch.randint(0, 4, (64,), generator=g), "seed": seed}
    data = {"x": torch.randn(64, 10, generator=g, dtype=torch.float64) * 2,
            "target": torch.randint(0, 10, (64,), generator=g), "seed": seed}
    if kind == "metric":
        data["x_eval"] = torch.randn(128, 10, generator=g, dtype=torch.float64) * 2
        data["t_eval"] = torch.randint(0, 10, (128,), generator=g)
    return data


def train(fn, kind, data, steps=30):
    """A short training run that uses ``fn``; returns its curve (losses, or metric values)."""
    torch.manual_seed(data["seed"])
    x, target = data["x"], data["target"]
    curve = []
    if kind == "attention":
        proj, head = torch.nn.Linear(8, 24).double(), torch.nn.Linear(8, 4).double()
        opt = torch.optim.SGD([*proj.parameters(), *head.parameters()], lr=0.1)
        for _ in range(steps):
            q, k, v = proj(x).chunk(3, dim=-1)
            loss = F.cross_entropy(head(fn(q, k, v).mean(1)), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(float(loss.detach()))
        return curve
    model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Tanh(), torch.nn.Linear(10, 10)).double()
    if kind == "optimizer":
        params = list(model.parameters())
        states: list[dict[str, Any]] = [{} for _ in params]
        for _ in range(steps):
            loss = F.cross_entropy(model(x), target)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, s in zip(params, grads, states, strict=False):
                    p.copy_(plain(fn(p.detach().clone(), g, s, 0.01)))
            curve.append(float(loss.detach()))
        return curve
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        if kind == "scheduler":
            for group in opt.param_groups:
                group["lr"] = 0.5 * float(fn(step, steps))
        out = model(x)
        if kind == "loss":
            loss = fn(out, target)
        elif kind == "layer":
            loss = F.cross_entropy(fn(out, target), target)
        else:
            loss = F.cross_entropy(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind == "metric":
            if step % 3 == 2:
                with torch.no_grad():
                    curve.append(float(plain(fn(model(data["x_eval"]), data["t_eval"]))))
        else:
            curve.append(float(loss.detach()))
    return curve
