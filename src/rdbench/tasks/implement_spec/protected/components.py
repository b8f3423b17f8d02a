"""Reference implementations and specs of the implement_spec library (torch only; no rdbench).

Each component is ``fn(x, target, p) -> Tensor`` where ``p`` holds the generated variant's
constants; ``kind`` says how the training check uses it ("layer": applied to hidden activations,
"loss": applied to logits and integer targets).
"""

import math

import torch
import torch.nn.functional as F


def layer_norm(x, target, p):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + p["eps"])


def rms_norm(x, target, p):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + p["eps"])


def gelu_tanh(x, target, p):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + p["c"] * x.pow(3))))


def focal_loss(x, target, p):
    logp = F.log_softmax(x, -1).gather(1, target[:, None]).squeeze(1)
    return (-((1 - logp.exp()) ** p["gamma"]) * logp).mean()


def smoothed_ce(x, target, p):
    logp = F.log_softmax(x, -1)
    k = x.shape[-1]
    q = torch.full_like(logp, p["eps"] / k)
    q.scatter_(1, target[:, None], 1 - p["eps"] + p["eps"] / k)
    return -(q * logp).sum(-1).mean()


SPECS = {
    "layer_norm": {
        "kind": "layer", "params": {"eps": [1e-5, 1e-3, 1e-1]},
        "pseudo": "mu = mean(x, last axis); var = mean((x - mu)^2, last axis); return (x - mu) / sqrt(var + {eps})",
        "equations": "y = (x - mu) / sqrt(sigma^2 + eps), mu = (1/d) sum_i x_i, sigma^2 = (1/d) sum_i (x_i - mu)^2, eps = {eps}",
        "prose": "Normalise each row over its last dimension to zero mean and unit (biased) variance, with {eps} added to the variance for stability; no learned scale or shift.",
        "intent": "Layer normalisation without affine parameters (eps={eps}).",
    },
    "rms_norm": {
        "kind": "layer", "params": {"eps": [1e-6, 1e-2, 1e-1]},
        "pseudo": "ms = mean(x^2, last axis); return x / sqrt(ms + {eps})",
        "equations": "y = x / sqrt((1/d) sum_i x_i^2 + eps), eps = {eps}",
        "prose": "Divide each row by the square root of its mean square over the last dimension, plus {eps}; no centring, no learned gain.",
        "intent": "RMSNorm without gain (eps={eps}).",
    },
    "gelu_tanh": {
        "kind": "layer", "params": {"c": [0.044715, 0.03, 0.06]},
        "pseudo": "return 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + {c} * x^3)))",
        "equations": "y = x/2 * (1 + tanh(sqrt(2/pi) (x + c x^3))), c = {c}",
        "prose": "The tanh approximation of GELU, elementwise, with cubic coefficient {c}.",
        "intent": "Tanh-approximate GELU (cubic coefficient {c}).",
    },
    "focal_loss": {
        "kind": "loss", "params": {"gamma": [0.5, 2.0, 3.0]},
        "pseudo": "logp = log_softmax(x)[target]; p = exp(logp); return mean(-(1 - p)^{gamma} * logp)",
        "equations": "L = (1/N) sum_n -(1 - p_n)^gamma log p_n, p_n = softmax(x_n)[y_n], gamma = {gamma}",
        "prose": "Multi-class focal loss: cross-entropy of the true class down-weighted by (1 - its probability) to the power {gamma}, averaged over the batch.",
        "intent": "Focal loss with gamma={gamma}.",
    },
    "smoothed_ce": {
        "kind": "loss", "params": {"eps": [0.05, 0.1, 0.3]},
        "pseudo": "q = full(eps/K); q[target] = 1 - eps + eps/K (eps = {eps}); return mean(-sum(q * log_softmax(x)))",
        "equations": "L = (1/N) sum_n sum_k -q_nk log softmax(x_n)_k, q_nk = (1 - eps) [k = y_n] + eps/K, eps = {eps}",
        "prose": "Cross-entropy against label-smoothed targets: the true class gets 1 - {eps} plus an even share of {eps} spread over all classes; averaged over the batch.",
        "intent": "Label-smoothing cross-entropy (smoothing {eps}).",
    },
}
LEVELS = ["pseudo", "equations", "prose", "intent"]
FUNCS = {"layer_norm": layer_norm, "rms_norm": rms_norm, "gelu_tanh": gelu_tanh,
         "focal_loss": focal_loss, "smoothed_ce": smoothed_ce}


def inputs(kind, seed, batch=16, dim=10):
    """Fresh inputs for a check (float64 so gradient comparisons are tight)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, dim, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, dim, (batch,), generator=g)
    return x, target


def train(fn, kind, p, seed, steps=30):
    """A short training run using the component; returns the loss curve."""
    torch.manual_seed(seed)
    x, target = inputs(kind, seed + 1, batch=64)
    model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Tanh(), torch.nn.Linear(10, 10)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    curve = []
    for _ in range(steps):
        if kind == "loss":
            loss = fn(model(x), target, p)
        else:
            loss = F.cross_entropy(fn(model(x), target, p), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.detach()))
    return curve
