"""Compress base.pt to the size budget: uniform magnitude pruning (the starting solution).

Every layer keeps the same fraction of its key/value head groups (each with its query heads) and of
its MLP units, chosen by the size of their weights; the largest fraction that fits the budget wins.
The result is saved in float16 as model.pt.

    python compress.py [--out model.pt]
"""

import argparse
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compressible  # noqa: E402


def prune_layer(state, i, spec, head_dim, keep_groups, keep_units):
    """The tensors of layer ``i`` keeping ``keep_groups`` kv groups and ``keep_units`` MLP units by magnitude."""
    p = f"layers.{i}."
    out, new = {}, dict(spec)
    g, h = spec["n_kv_heads"], spec["n_heads"]
    r = h // g
    if keep_groups:
        q = state[p + "q.weight"].view(g, r * head_dim, -1)
        k = state[p + "k.weight"].view(g, head_dim, -1)
        v = state[p + "v.weight"].view(g, head_dim, -1)
        o = state[p + "o.weight"].view(o_rows := state[p + "o.weight"].shape[0], g, r * head_dim)
        norms = q.flatten(1).norm(dim=1) + k.flatten(1).norm(dim=1) + v.flatten(1).norm(dim=1) + \
            o.transpose(0, 1).flatten(1).norm(dim=1)
        kept = norms.topk(keep_groups).indices.sort().values
        out[p + "attn_norm.weight"] = state[p + "attn_norm.weight"]
        out[p + "q.weight"] = q[kept].reshape(-1, q.shape[-1])
        out[p + "k.weight"] = k[kept].reshape(-1, k.shape[-1])
        out[p + "v.weight"] = v[kept].reshape(-1, v.shape[-1])
        out[p + "o.weight"] = o[:, kept].reshape(o_rows, -1)
    new["n_kv_heads"], new["n_heads"] = keep_groups, keep_groups * r
    if keep_units:
        gate, up, down = state[p + "gate.weight"], state[p + "up.weight"], state[p + "down.weight"]
        norms = gate.norm(dim=1) + up.norm(dim=1) + down.norm(dim=0)
        kept = norms.topk(keep_units).indices.sort().values
        out[p + "mlp_norm.weight"] = state[p + "mlp_norm.weight"]
        out[p + "gate.weight"], out[p + "up.weight"] = gate[kept], up[kept]
        out[p + "down.weight"] = down[:, kept]
    new["hidden"] = keep_units
    return out, new


def uniform(config, state, fraction):
    layers, tensors = [], {"embed.weight": state["embed.weight"], "norm.weight": state["norm.weight"]}
    for i, spec in enumerate(config["layers"]):
        groups = max(1, round(fraction * spec["n_kv_heads"]))
        units = max(1, int(fraction * spec["hidden"]))
        part, new = prune_layer(state, i, spec, config["head_dim"], groups, units)
        tensors.update(part)
        layers.append(new)
    return {**config, "layers": layers}, tensors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "model.pt"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    task = json.loads((HERE / "task.json").read_text())
    base = torch.load(HERE / "base.pt", weights_only=True)
    state = {k: v.float() for k, v in base["model"].items()}
    for step in range(100, 0, -1):
        config, tensors = uniform(base["config"], state, step / 100)
        half = {k: v.half() for k, v in tensors.items()}
        if compressible.size_bytes(half) <= task["budget_bytes"]:
            break
    else:
        sys.exit("no uniform fraction fits the budget")
    torch.save({"config": config, "model": {k: v.contiguous() for k, v in half.items()}}, args.out)
    print(f"kept {step}% of every layer: {compressible.size_bytes(half):,} bytes "
          f"(budget {task['budget_bytes']:,}) -> {args.out}")


if __name__ == "__main__":
    main()
