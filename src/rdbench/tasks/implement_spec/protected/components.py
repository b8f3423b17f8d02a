"""Reference implementations and specs of the implement_spec library (torch only; no rdbench).

Each reference is ``fn(*args, c)`` where ``args`` are the component's arguments for its kind and
``c`` holds the generated variant's constants. Kinds and their signatures (``KINDS``):

- ``layer``: ``component(x, target) -> Tensor`` like ``x`` (applied to hidden activations);
- ``loss``: ``component(x, target) -> Tensor`` scalar (logits, integer targets);
- ``attention``: ``component(q, k, v) -> Tensor`` (batch, T, d), single head;
- ``optimizer``: ``component(p, g, state, lr) -> Tensor``, the updated parameter; ``state`` is a
  dict kept per parameter between calls (empty at the first call);
- ``scheduler``: ``component(step, total) -> float``, the learning-rate multiplier at ``step`` of
  ``total`` (steps 0 .. total - 1);
- ``metric``: ``component(scores, target) -> Tensor`` scalar (logits (N, K), integer targets).

``make_cases`` draws fresh hidden inputs for the numeric checks (``harness.py`` runs components on
them and in the short training run); ``CHECKS`` says which checks apply to a kind (gradients only
where the component is differentiable and its gradient is used).
"""

import math
from typing import Any

import torch
import torch.nn.functional as F


# --- layers and losses -------------------------------------------------------------------------
def layer_norm(x, target, c):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + c["eps"])


def rms_norm(x, target, c):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + c["eps"])


def gelu_tanh(x, target, c):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + c["c"] * x.pow(3))))


def focal_loss(x, target, c):
    logp = F.log_softmax(x, -1).gather(1, target[:, None]).squeeze(1)
    return (-((1 - logp.exp()) ** c["gamma"]) * logp).mean()


def smoothed_ce(x, target, c):
    logp = F.log_softmax(x, -1)
    k = x.shape[-1]
    q = torch.full_like(logp, c["eps"] / k)
    q.scatter_(1, target[:, None], 1 - c["eps"] + c["eps"] / k)
    return -(q * logp).sum(-1).mean()


# --- attention variants (single head, causal) ----------------------------------------------------
def _causal_softmax_attend(s, v, allowed):
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def alibi_attention(q, k, v, c):
    t = q.shape[-2]
    i = torch.arange(t)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) - c["m"] * (i[:, None] - i[None, :]).to(q.dtype)
    return _causal_softmax_attend(s, v, i[None, :] <= i[:, None])


def local_attention(q, k, v, c):
    t = q.shape[-2]
    i = torch.arange(t)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    allowed = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - c["w"])
    return _causal_softmax_attend(s, v, allowed)


def softcap_attention(q, k, v, c):
    t = q.shape[-2]
    i = torch.arange(t)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = c["cap"] * torch.tanh(s / c["cap"])
    return _causal_softmax_attend(s, v, i[None, :] <= i[:, None])


# --- optimisers: fn(p, g, state, lr, c) -> new p ---------------------------------------------------
def adam(p, g, state, lr, c):
    t = state.get("t", 0) + 1
    m = c["b1"] * state.get("m", torch.zeros_like(p)) + (1 - c["b1"]) * g
    v = c["b2"] * state.get("v", torch.zeros_like(p)) + (1 - c["b2"]) * g * g
    state.update(t=t, m=m, v=v)
    m_hat = m / (1 - c["b1"] ** t)
    v_hat = v / (1 - c["b2"] ** t)
    return p - lr * m_hat / (torch.sqrt(v_hat) + c["eps"])


def adamw(p, g, state, lr, c):
    p = p - lr * c["wd"] * p
    return adam(p, g, state, lr, {"b1": 0.9, "b2": 0.999, "eps": 1e-8})


def lion(p, g, state, lr, c):
    m = state.get("m", torch.zeros_like(p))
    update = torch.sign(c["b1"] * m + (1 - c["b1"]) * g)
    state["m"] = c["b2"] * m + (1 - c["b2"]) * g
    return p - lr * update


def nesterov_sgd(p, g, state, lr, c):
    b = c["mu"] * state.get("b", torch.zeros_like(p)) + g
    state["b"] = b
    return p - lr * (g + c["mu"] * b)


# --- schedulers: fn(step, total, c) -> multiplier --------------------------------------------------
def warmup_cosine(step, total, c):
    w = max(1, int(c["warm"] * total))
    if step < w:
        return (step + 1) / w
    return c["floor"] + (1 - c["floor"]) * 0.5 * (1 + math.cos(math.pi * (step - w) / (total - w)))


def inverse_sqrt(step, total, c):
    w = c["w"]
    if step < w:
        return (step + 1) / w
    return math.sqrt(w / (step + 1))


def wsd(step, total, c):
    w = max(1, int(0.1 * total))
    d = max(1, int(c["decay"] * total))
    if step < w:
        return (step + 1) / w
    if step < total - d:
        return 1.0
    return (total - step) / d


# --- metrics: fn(scores, target, c) -> 0-dim tensor ------------------------------------------------
def ece(scores, target, c):
    p = torch.softmax(scores, dim=-1)
    conf, pred = p.max(dim=-1)
    correct = (pred == target).to(scores.dtype)
    bins = torch.clamp((conf * c["bins"]).floor().long(), max=c["bins"] - 1)
    total = torch.zeros((), dtype=scores.dtype)
    for b in range(c["bins"]):
        sel = bins == b
        if sel.any():
            total = total + sel.sum() / len(conf) * (correct[sel].mean() - conf[sel].mean()).abs()
    return total


def topk_accuracy(scores, target, c):
    top = scores.topk(c["k"], dim=-1).indices
    return (top == target[:, None]).any(-1).to(scores.dtype).mean()


def macro_fbeta(scores, target, c):
    pred = scores.argmax(-1)
    b2 = c["beta"] ** 2
    out = []
    for k in range(scores.shape[-1]):
        tp = ((pred == k) & (target == k)).sum().to(scores.dtype)
        npred, ntrue = (pred == k).sum().to(scores.dtype), (target == k).sum().to(scores.dtype)
        prec = tp / npred if npred > 0 else torch.zeros((), dtype=scores.dtype)
        rec = tp / ntrue if ntrue > 0 else torch.zeros((), dtype=scores.dtype)
        den = b2 * prec + rec
        out.append((1 + b2) * prec * rec / den if den > 0 else torch.zeros((), dtype=scores.dtype))
    return torch.stack(out).mean()


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
    "alibi_attention": {
        "kind": "attention", "params": {"m": [0.5, 0.25, 0.125]},
        "pseudo": "s = q @ k^T / sqrt(d)  (shape (batch, T, T)); s[..., i, j] -= {m} * (i - j); s[..., i, j] = -inf where j > i; return softmax(s, last axis) @ v",
        "equations": "y_i = sum_{{j <= i}} a_ij v_j, a_ij = exp(s_ij) / sum_{{l <= i}} exp(s_il), s_ij = q_i . k_j / sqrt(d) - m (i - j), m = {m}",
        "prose": "Causal scaled dot-product attention with an ALiBi-style linear distance penalty: the score of query i for an earlier or equal key j is lowered by {m} times (i - j); later keys are masked out.",
        "intent": "Causal single-head ALiBi attention with slope {m}.",
    },
    "local_attention": {
        "kind": "attention", "params": {"w": [2, 3, 5]},
        "pseudo": "s = q @ k^T / sqrt(d); s[..., i, j] = -inf unless i - {w} < j <= i; return softmax(s, last axis) @ v",
        "equations": "y_i = sum_{{j in W_i}} softmax_j(q_i . k_j / sqrt(d)) v_j, W_i = {{j : i - w < j <= i}}, w = {w}",
        "prose": "Causal sliding-window attention: each position attends, with scaled dot-product softmax weights, only to the {w} most recent positions (itself included).",
        "intent": "Causal sliding-window attention, window {w}.",
    },
    "softcap_attention": {
        "kind": "attention", "params": {"cap": [5.0, 2.0, 1.0]},
        "pseudo": "s = q @ k^T / sqrt(d); s = {cap} * tanh(s / {cap}); s[..., i, j] = -inf where j > i; return softmax(s, last axis) @ v",
        "equations": "y_i = sum_{{j <= i}} softmax_j(c tanh(q_i . k_j / (sqrt(d) c))) v_j, c = {cap}",
        "prose": "Causal scaled dot-product attention whose scores are soft-capped before the softmax: each scaled score s becomes {cap} * tanh(s / {cap}).",
        "intent": "Causal attention with tanh logit soft-capping at {cap}.",
    },
    "adam": {
        "kind": "optimizer", "params": {"b1": [0.9, 0.8], "b2": [0.999, 0.99], "eps": [1e-8, 1e-3]},
        "pseudo": "t = t + 1; m = {b1} * m + (1 - {b1}) * g; v = {b2} * v + (1 - {b2}) * g^2  (t, m, v start at 0, kept in state); m_hat = m / (1 - {b1}^t); v_hat = v / (1 - {b2}^t); return p - lr * m_hat / (sqrt(v_hat) + {eps})",
        "equations": "m_t = b1 m_(t-1) + (1 - b1) g_t, v_t = b2 v_(t-1) + (1 - b2) g_t^2, m_0 = v_0 = 0, p_t = p_(t-1) - lr (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps), b1 = {b1}, b2 = {b2}, eps = {eps}",
        "prose": "Adam: keep moving averages of the gradient (decay {b1}) and of its square (decay {b2}), both starting at zero and bias-corrected, and step by lr times the first over the square root of the second plus {eps}.",
        "intent": "Adam with betas ({b1}, {b2}) and eps {eps}.",
    },
    "adamw": {
        "kind": "optimizer", "params": {"wd": [0.01, 0.1, 0.3]},
        "pseudo": "p = p - lr * {wd} * p; then Adam: t = t + 1; m = 0.9 m + 0.1 g; v = 0.999 v + 0.001 g^2; return p - lr * (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.999^t)) + 1e-8)",
        "equations": "p_t = p_(t-1) - lr wd p_(t-1) - lr m_hat_t / (sqrt(v_hat_t) + 1e-8), m_hat and v_hat the bias-corrected Adam moments with b1 = 0.9, b2 = 0.999, wd = {wd}",
        "prose": "AdamW: Adam (betas 0.9 and 0.999, eps 1e-8, bias-corrected moments starting at zero) with decoupled weight decay: each step also shrinks the parameter by lr * {wd} times itself, separately from the gradient.",
        "intent": "AdamW with weight decay {wd} (default betas and eps).",
    },
    "lion": {
        "kind": "optimizer", "params": {"b1": [0.9, 0.95], "b2": [0.99, 0.98]},
        "pseudo": "m = state m (starts at 0); p = p - lr * sign({b1} * m + (1 - {b1}) * g); m = {b2} * m + (1 - {b2}) * g; return p",
        "equations": "p_t = p_(t-1) - lr sign(b1 m_(t-1) + (1 - b1) g_t), m_t = b2 m_(t-1) + (1 - b2) g_t, m_0 = 0, b1 = {b1}, b2 = {b2}",
        "prose": "Lion without weight decay: step by lr times the sign of a {b1}-weighted interpolation between the momentum and the gradient, then update the momentum as a moving average of the gradient with decay {b2}.",
        "intent": "The Lion optimiser with betas ({b1}, {b2}), no weight decay.",
    },
    "nesterov_sgd": {
        "kind": "optimizer", "params": {"mu": [0.9, 0.5, 0.99]},
        "pseudo": "b = {mu} * b + g  (b starts at 0, kept in state); return p - lr * (g + {mu} * b)",
        "equations": "b_t = mu b_(t-1) + g_t, b_0 = 0, p_t = p_(t-1) - lr (g_t + mu b_t), mu = {mu}",
        "prose": "SGD with Nesterov momentum {mu}: a buffer accumulates the gradients (buffer = {mu} * buffer + gradient) and the step is lr times the gradient plus {mu} times the new buffer.",
        "intent": "SGD with Nesterov momentum {mu}.",
    },
    "warmup_cosine": {
        "kind": "scheduler", "params": {"warm": [0.05, 0.1, 0.2], "floor": [0.0, 0.1]},
        "pseudo": "w = max(1, int({warm} * total)); if step < w: return (step + 1) / w; return {floor} + (1 - {floor}) * 0.5 * (1 + cos(pi * (step - w) / (total - w)))",
        "equations": "f(s) = (s + 1) / w for s < w, f(s) = r + (1 - r) (1 + cos(pi (s - w) / (S - w))) / 2 otherwise, w = max(1, floor({warm} S)), r = {floor}, S = total",
        "prose": "Linear warm-up over the first max(1, int({warm} * total)) steps, reaching 1 at the last warm-up step ((step + 1) / w), then cosine decay from 1 towards {floor}, the cosine's argument going from 0 at the first step after warm-up to pi at step total.",
        "intent": "Linear warm-up over the first {warm} of training, then cosine decay to {floor} of the peak.",
    },
    "inverse_sqrt": {
        "kind": "scheduler", "params": {"w": [4, 8, 16]},
        "pseudo": "if step < {w}: return (step + 1) / {w}; return sqrt({w} / (step + 1))",
        "equations": "f(s) = (s + 1) / w for s < w, f(s) = sqrt(w / (s + 1)) otherwise, w = {w}",
        "prose": "Linear warm-up to 1 over {w} steps ((step + 1) / {w}), then decay with the inverse square root of the (1-based) step number, continuous at the end of warm-up.",
        "intent": "Inverse-square-root schedule with {w} warm-up steps.",
    },
    "wsd": {
        "kind": "scheduler", "params": {"decay": [0.1, 0.2, 0.4]},
        "pseudo": "w = max(1, int(0.1 * total)); d = max(1, int({decay} * total)); if step < w: return (step + 1) / w; if step < total - d: return 1.0; return (total - step) / d",
        "equations": "f(s) = (s + 1) / w for s < w; 1 for w <= s < S - d; (S - s) / d for s >= S - d; w = max(1, floor(0.1 S)), d = max(1, floor({decay} S)), S = total",
        "prose": "Warmup-stable-decay: linear warm-up over the first tenth of training ((step + 1) / w, w = max(1, int(0.1 * total))), constant 1, then a linear decay over the last max(1, int({decay} * total)) steps, equal to (total - step) / d there.",
        "intent": "Warmup-stable-decay schedule (10% warm-up, final {decay} of training decays linearly).",
    },
    "ece": {
        "kind": "metric", "params": {"bins": [5, 10, 15]},
        "pseudo": "p = softmax(scores, axis 1); conf, pred = max(p, axis 1), argmax(p, axis 1); b = min(floor(conf * {bins}), {bins} - 1); return sum over non-empty bins of (count_b / N) * |mean(pred == target over b) - mean(conf over b)|",
        "equations": "ECE = sum_b (|B_b| / N) |acc(B_b) - conf(B_b)|, B_b = {{n : min(floor(B conf_n), B - 1) = b}}, conf_n = max_k softmax(s_n)_k, acc = mean[argmax s_n = y_n], B = {bins}",
        "prose": "Expected calibration error with {bins} equal-width confidence bins on [0, 1] (a confidence of exactly 1 goes to the last bin): confidence is the top softmax probability, a prediction is right if its top class is the target; average |accuracy - mean confidence| over bins weighted by their share of samples.",
        "intent": "Expected calibration error with {bins} bins.",
    },
    "topk_accuracy": {
        "kind": "metric", "params": {"k": [2, 3, 5]},
        "pseudo": "top = indices of the {k} largest scores per row; return mean over rows of (target in top)",
        "equations": "acc@k = (1/N) sum_n [y_n in topk(s_n, k)], k = {k}",
        "prose": "Top-{k} accuracy: the share of rows whose target class is among the {k} highest-scoring classes.",
        "intent": "Top-{k} accuracy.",
    },
    "macro_fbeta": {
        "kind": "metric", "params": {"beta": [0.5, 1.0, 2.0]},
        "pseudo": "pred = argmax(scores); for each class k of K: P = tp/#pred_k (0 if none), R = tp/#true_k (0 if none), F = (1 + {beta}^2) P R / ({beta}^2 P + R) (0 if the denominator is 0); return mean of F over all K classes",
        "equations": "F = (1/K) sum_k (1 + b^2) P_k R_k / (b^2 P_k + R_k), P_k = TP_k / (TP_k + FP_k), R_k = TP_k / (TP_k + FN_k), 0/0 := 0, b = {beta}, predictions argmax_k s_nk",
        "prose": "Macro-averaged F-beta (beta = {beta}) of the argmax predictions over all K classes (columns of scores); a precision, recall or F with a zero denominator counts as 0.",
        "intent": "Macro F-{beta} score of the argmax predictions.",
    },
}
LEVELS = ["pseudo", "equations", "prose", "intent"]
FUNCS = {"layer_norm": layer_norm, "rms_norm": rms_norm, "gelu_tanh": gelu_tanh, "focal_loss": focal_loss,
         "smoothed_ce": smoothed_ce, "alibi_attention": alibi_attention, "local_attention": local_attention,
         "softcap_attention": softcap_attention, "adam": adam, "adamw": adamw, "lion": lion,
         "nesterov_sgd": nesterov_sgd, "warmup_cosine": warmup_cosine, "inverse_sqrt": inverse_sqrt,
         "wsd": wsd, "ece": ece, "topk_accuracy": topk_accuracy, "macro_fbeta": macro_fbeta}
KINDS = {
    "layer": {"args": "x, target", "doc": "x: float64 (batch, features); target: int64 (batch,) class ids (unused). Return a tensor shaped like x."},
    "loss": {"args": "x, target", "doc": "x: float64 logits (batch, classes); target: int64 (batch,) class ids. Return a scalar tensor."},
    "attention": {"args": "q, k, v", "doc": "q, k, v: float64 (batch, T, d), one head. Return a float64 tensor (batch, T, d)."},
    "optimizer": {"args": "p, g, state, lr", "doc": "p: a float64 parameter tensor; g: its gradient; state: a dict kept for this parameter between calls (empty at the first); lr: float. Return the updated parameter as a new tensor."},
    "scheduler": {"args": "step, total", "doc": "step: int in 0 .. total - 1; total: int, the number of steps. Return the learning-rate multiplier (a float)."},
    "metric": {"args": "scores, target", "doc": "scores: float64 logits (N, K); target: int64 (N,) class ids. Return a 0-dim float64 tensor."},
}
# Which checks apply to each kind (value = fraction passed of those).
CHECKS = {"layer": ["numeric", "gradients", "training"], "loss": ["numeric", "gradients", "training"],
          "attention": ["numeric", "gradients", "training"], "optimizer": ["numeric", "training"],
          "scheduler": ["numeric", "training"], "metric": ["numeric", "training"]}


def inputs(kind, seed, batch=16, dim=10):
    """Fresh inputs for a layer or loss check (float64 so gradient comparisons are tight)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, dim, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, dim, (batch,), generator=g)
    return x, target


def make_cases(kind, seed):
    """Three fresh cases for the numeric (and gradient) checks of ``kind``."""
    g = torch.Generator().manual_seed(seed)
    cases: list[Any] = []
    for i in range(3):
        if kind in ("layer", "loss"):
            x, target = inputs(kind, seed * 7 + i)
            w = inputs(kind, seed * 7 + i + 100)[0].reshape(x.shape) if kind == "layer" else torch.tensor(1.5, dtype=torch.float64)
            cases.append((x, target, w))
        elif kind == "attention":
            b, t, d = 3, 5 + 2 * i, 8
            q, k, v, w = (torch.randn(b, t, d, generator=g, dtype=torch.float64) * s for s in (1.5, 1.5, 1.0, 1.0))
            cases.append((q, k, v, w))
        elif kind == "optimizer":
            params = [torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)]
            grads = [[torch.randn(p.shape, generator=g, dtype=torch.float64) * (0.1 + 0.5 * i) for p in params] for _ in range(12)]
            lr = float(0.01 + 0.09 * torch.rand((), generator=g, dtype=torch.float64))
            cases.append((params, grads, lr))
        elif kind == "scheduler":
            cases.append((int(torch.randint(20, 200, (), generator=g)),))
        elif kind == "metric":
            n, classes = 64 + 16 * i, 10
            scores = torch.randn(n, classes, generator=g, dtype=torch.float64) * (1.0 + 2.0 * i)
            target = torch.randint(0, classes, (n,), generator=g)
            cases.append((scores, target))
    return cases
