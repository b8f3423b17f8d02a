"""Reference merge: TIES-style trimming and sign election, with weights tuned on the dev set.

    python merge.py SET_FOLDER merged.pt

1. Task vectors: delta_i = expert_i - base. Each is trimmed to its largest ``TRIM`` share of entries
   (by magnitude, per tensor); the sign of every entry is elected by the weighted sum, and entries of
   the other sign are dropped (TIES-merging, Yadav et al. 2023).
2. merged = base + sum_i w[g, i] * trimmed delta_i, with one weight per expert and per parameter
   group g (embeddings, each transformer block, the final norm), tuned by coordinate search to
   maximise the task's own metric on dev.json: the mean over skills of the loss recovered,
   (L_base - L_merged) / (L_base - L_expert), clipped to [-1, 1].
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lm  # noqa: E402
from gpt import GPT, GPTConfig  # noqa: E402

SKILLS = ["finish", "who", "fill", "fact"]
TRIM = 0.5
BUDGET_S = 40.0  # a safety stop inside the scorer's 60 s cap (the search takes ~10-25 s on 1 core)
STARTED = time.monotonic()


def group(name: str) -> int:
    if name.startswith("blocks."):
        return 1 + int(name.split(".")[1])
    return 0 if name in ("wte.weight", "wpe.weight", "head.weight") else -1


def trimmed_deltas(base: dict[str, torch.Tensor], experts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Per tensor, the experts' deltas (stacked) trimmed to their top TRIM share and sign-elected."""
    out = {}
    for k, b in base.items():
        d = torch.stack([e[k] - b for e in experts])
        flat = d.abs().reshape(len(experts), -1)
        if flat.shape[1] > 8:
            q = torch.quantile(flat, 1 - TRIM, dim=1).view(-1, *[1] * (d.dim() - 1))
            d = torch.where(d.abs() >= q, d, torch.zeros_like(d))
        sign = torch.sign(d.sum(0))
        out[k] = torch.where(torch.sign(d) == sign, d, torch.zeros_like(d))
    return out


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(1)
    vocab = lm.Vocab()
    ck = torch.load(folder / "base.pt", weights_only=True)
    base, cfg = ck["model"], GPTConfig(**ck["config"])
    experts = [torch.load(folder / f"{s}.pt", weights_only=True)["model"] for s in SKILLS]
    deltas = trimmed_deltas(base, experts)
    dev = {s: [tuple(x) for x in v] for s, v in json.loads((folder / "dev.json").read_text()).items()}
    model = GPT(cfg).eval()
    groups = sorted({group(k) for k in base})

    def build(weights: dict[int, list[float]]) -> GPT:
        state = {}
        for k, b in base.items():
            w = torch.tensor(weights[group(k)]).view(-1, *[1] * b.dim())
            state[k] = b + (w * deltas[k]).sum(0)
        state["head.weight"] = state["wte.weight"]
        model.load_state_dict(state)
        return model

    def loss(state_model: GPT, skill: str) -> float:
        return lm.answer_loss(state_model, vocab, dev[skill])

    reference = {}
    base_model = GPT(cfg).eval()
    base_model.load_state_dict(base)
    for s, e in zip(SKILLS, experts, strict=True):
        expert = GPT(cfg).eval()
        expert.load_state_dict(e)
        reference[s] = (loss(base_model, s), loss(expert, s))

    def metric(weights: dict[int, list[float]]) -> float:
        m = build(weights)
        total = 0.0
        for s in SKILLS:
            lb, le = reference[s]
            total += max(-1.0, min(1.0, (lb - loss(m, s)) / max(lb - le, 1e-6)))
        return total / len(SKILLS)

    weights = {g: [0.3] * len(SKILLS) for g in groups}
    best = metric(weights)
    for step in (0.15, 0.08, 0.04, 0.02):
        for g in groups:
            for i in range(len(SKILLS)):
                if time.monotonic() - STARTED > BUDGET_S:
                    break
                for move in (step, -step):
                    weights[g][i] += move
                    value = metric(weights)
                    if value > best:
                        best = value
                        break
                    weights[g][i] -= move
    print(f"dev metric {best:.3f} after {time.monotonic() - STARTED:.1f} s", file=sys.stderr)
    lm.save_model(build(weights), out)


if __name__ == "__main__":
    main()
