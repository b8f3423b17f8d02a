"""Reference compression of base.pt: activation-aware pruning with a non-uniform allocation,
least-squares reconstruction and a short distillation from the given model.

1. Text: the calibration text plus sequences sampled from the given model (distillation is allowed).
2. Importance: each MLP unit by its mean |activation| times the norm of its output column; each
   key/value head group by the mean norm of its share of the attention output; per byte it costs.
3. Allocation: drop the least important units and groups across all layers until the budget fits
   (a layer keeps at least one group and a few units).
4. Reconstruction: refit each layer's MLP output and attention output projections by least squares,
   so the pruned layer reproduces the original layer's output on the text.
5. Distillation: 80 steps matching the given model's next-token distributions.

    python compress.py [--out model.pt]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compressible  # noqa: E402
from evaluate import calibration_ids  # noqa: E402


def build(config, state):
    model = compressible.CompressibleLlama(config)
    model.load_state_dict(state)
    return model.eval()


@torch.no_grad()
def sample(model, n, length, block, seed, bos):
    gen = torch.Generator().manual_seed(seed)
    seq = torch.full((n, 1), bos, dtype=torch.long)
    while seq.shape[1] < length:
        logits = model(seq[:, -block:])[:, -1]
        nxt = torch.multinomial(F.softmax(logits, -1), 1, generator=gen)
        seq = torch.cat([seq, nxt], 1)
    return seq


def layer_inputs(model, windows):
    """Inputs to every layer's attention and MLP parts (captured with hooks), on the given windows."""
    caught = {}

    def hook(name):
        def fn(module, args, output):
            caught.setdefault(name, []).append(args[0].detach())
        return fn

    handles = []
    for i, layer in enumerate(model.layers):
        handles.append(layer.q.register_forward_hook(hook(f"{i}.attn_in")))
        handles.append(layer.o.register_forward_hook(hook(f"{i}.o_in")))
        handles.append(layer.gate.register_forward_hook(hook(f"{i}.mlp_in")))
        handles.append(layer.down.register_forward_hook(hook(f"{i}.down_in")))
    with torch.no_grad():
        for i in range(0, len(windows), 32):
            model(windows[i:i + 32])
    for h in handles:
        h.remove()
    return {k: torch.cat([t.reshape(-1, t.shape[-1]) for t in v]) for k, v in caught.items()}


def lstsq(x, y, ridge=1e-3):
    """W minimising ||x W^T - y||^2 + ridge ||W||^2 (rows of x and y are samples)."""
    gram = x.T @ x
    gram += ridge * gram.diagonal().mean() * torch.eye(gram.shape[0])
    return torch.linalg.solve(gram, x.T @ y).T


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "model.pt"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--distill-steps", type=int, default=80)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    task = json.loads((HERE / "task.json").read_text())
    block = task["eval_block"]
    base = torch.load(HERE / "base.pt", weights_only=True)
    config = base["config"]
    state = {k: v.float() for k, v in base["model"].items()}
    teacher = build(config, state)
    calib = calibration_ids()
    n = (len(calib) - 1) // block
    calib_win = torch.from_numpy(calib[np.arange(n)[:, None] * block + np.arange(block + 1)[None, :]])
    sampled = sample(teacher, args.samples, block + 1, block, 0, int(calib[0]))
    windows = torch.cat([calib_win, sampled])
    acts = layer_inputs(teacher, windows[:, :-1])
    hd, dim = config["head_dim"], config["dim"]

    # importance per parameter of every kv group and MLP unit
    items = []  # (importance per param, layer, kind, index, params)
    for i, spec in enumerate(config["layers"]):
        p = f"layers.{i}."
        g, r = spec["n_kv_heads"], spec["n_heads"] // spec["n_kv_heads"]
        o_in = acts[f"{i}.o_in"].view(-1, g, r * hd)
        o_w = state[p + "o.weight"].view(dim, g, r * hd)
        for j in range(g):
            contrib = (o_in[:, j] @ o_w[:, j].T).norm(dim=1).mean()
            cost = (2 * r * hd + 2 * hd) * dim
            items.append((float(contrib) / cost, i, "group", j, cost))
        x = acts[f"{i}.down_in"]
        col = state[p + "down.weight"].norm(dim=0)
        imp = x.abs().mean(0) * col
        for j in range(spec["hidden"]):
            items.append((float(imp[j]) / (3 * dim), i, "unit", j, 3 * dim))
    items.sort()
    keep = {(i, kind, j) for _, i, kind, j, _ in items}
    groups_left = {i: s["n_kv_heads"] for i, s in enumerate(config["layers"])}
    units_left = {i: s["hidden"] for i, s in enumerate(config["layers"])}

    def size():  # float16 bytes of the pruned model
        total = config["vocab_size"] * dim + dim
        for i, spec in enumerate(config["layers"]):
            r = spec["n_heads"] // spec["n_kv_heads"]
            total += dim + groups_left[i] * (2 * r * hd + 2 * hd) * dim + dim + units_left[i] * 3 * dim
        return 2 * total

    for _, i, kind, j, _cost in items:
        if size() <= task["budget_bytes"]:
            break
        if kind == "group" and groups_left[i] <= 1 or kind == "unit" and units_left[i] <= 8:
            continue
        keep.discard((i, kind, j))
        if kind == "group":
            groups_left[i] -= 1
        else:
            units_left[i] -= 1

    # prune and refit by least squares against the original layer outputs
    layers, tensors = [], {"embed.weight": state["embed.weight"], "norm.weight": state["norm.weight"]}
    for i, spec in enumerate(config["layers"]):
        p = f"layers.{i}."
        g, r = spec["n_kv_heads"], spec["n_heads"] // spec["n_kv_heads"]
        groups = [j for j in range(g) if (i, "group", j) in keep]
        units = torch.tensor([j for j in range(spec["hidden"]) if (i, "unit", j) in keep])
        q = state[p + "q.weight"].view(g, r * hd, dim)[groups].reshape(-1, dim)
        k = state[p + "k.weight"].view(g, hd, dim)[groups].reshape(-1, dim)
        v = state[p + "v.weight"].view(g, hd, dim)[groups].reshape(-1, dim)
        o_in = acts[f"{i}.o_in"].view(-1, g, r * hd)
        y = o_in.reshape(len(o_in), -1) @ state[p + "o.weight"].T
        x = o_in[:, groups].reshape(len(o_in), -1)
        o = lstsq(x, y)
        x = acts[f"{i}.down_in"]
        y = x @ state[p + "down.weight"].T
        down = lstsq(x[:, units], y)
        tensors.update({p + "attn_norm.weight": state[p + "attn_norm.weight"], p + "q.weight": q,
                        p + "k.weight": k, p + "v.weight": v, p + "o.weight": o,
                        p + "mlp_norm.weight": state[p + "mlp_norm.weight"],
                        p + "gate.weight": state[p + "gate.weight"][units],
                        p + "up.weight": state[p + "up.weight"][units], p + "down.weight": down})
        layers.append({**spec, "n_kv_heads": len(groups), "n_heads": len(groups) * r, "hidden": len(units)})
    config_out = {**config, "layers": layers}
    student = build(config_out, tensors)

    # distillation on the sampled text and the calibration text
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.0)
    with torch.no_grad():
        targets = torch.cat([F.log_softmax(teacher(windows[i:i + 64, :-1]), -1)
                             for i in range(0, len(windows), 64)])
    gen = torch.Generator().manual_seed(1)
    for step in range(args.distill_steps):
        for group in opt.param_groups:
            group["lr"] = 1e-3 * (1 - step / args.distill_steps)
        ix = torch.randint(0, len(windows), (16,), generator=gen)
        logp = F.log_softmax(student(windows[ix, :-1]), -1)
        loss = F.kl_div(logp, targets[ix], log_target=True, reduction="batchmean") / block
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    final = {k: v.detach().half().contiguous() for k, v in student.state_dict().items()}
    if compressible.size_bytes(final) > task["budget_bytes"]:
        sys.exit(f"over budget: {compressible.size_bytes(final)} > {task['budget_bytes']}")
    torch.save({"config": config_out, "model": final}, args.out)
    print(f"{compressible.size_bytes(final):,} bytes (budget {task['budget_bytes']:,}); layers "
          + ", ".join(f"{s['n_heads']}h/{s['hidden']}u" for s in layers) + f" -> {args.out}")


if __name__ == "__main__":
    main()
