"""Scorer for merge_experts: how much of each expert's skill a merged model keeps, on fresh prompts.

Per call, with ``params["seed"]``, for every hidden expert set (``sets/set<i>``: its own base, lexical
world and experts; the development set in the workspace is another one), in an order drawn per call:

1. The set is copied into a fresh folder with its dev prompts (not its world).
2. ``merge.py`` runs in a nested sandbox (``rs.run_untrusted``: own /proc, no protected/, no
   parameters) under the time cap, MLRB's "merge within the hour" rule enforced; when it returns
   every process it started is dead.
3. The merged checkpoint is read as data (``weights_only``, at the moment of use) and must have
   exactly the base's architecture: the same config, tensor names, shapes, float dtypes, finite
   values and the tied head (no routing, no stacked experts).
4. Fresh hidden prompts of each skill are drawn from the set's world; for each skill s the scorer
   computes the answer loss of the base, of the skill's expert and of the merged model, and
   r_s = (L_base - L_merged) / (L_base - L_expert), clipped to [0, 1]: the share of the expert's gain
   kept (a skill made worse than the base keeps none of it; clipping at -1 instead made the score swing
   by 0.25 between expert sets with the same merge, on how badly one skill was broken).

Score = mean over skills and sets of r_s (1: every expert's gain kept; 0: none; higher is better).
Every call merges every hidden set: with one set drawn per call, the same merge scored 0.43 on one
set and 0.50 on the other, which moved a normalised score by 0.25 between calls.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs
import torch

SKILLS = ["finish", "who", "fill", "fact"]
MAX_BYTES = 50_000_000


def _state(ck: Any, base: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The merged state dict, checked against the base's architecture (Invalid otherwise)."""
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        raise rs.Invalid('merged.pt must hold {"config": ..., "model": state_dict} (see lm.save_model)')
    if ck.get("config") != base["config"]:
        raise rs.Invalid(f"merged.pt: config {ck.get('config')} differs from the base's {base['config']}: the "
                         "merged model must have exactly the base's architecture")
    state, ref = ck["model"], base["model"]
    if set(state) != set(ref):
        missing, extra = sorted(set(ref) - set(state)), sorted(set(state) - set(ref))
        raise rs.Invalid(f"merged.pt: tensor names differ from the base's (missing {missing[:3]}, extra {extra[:3]})")
    out = {}
    for k, r in ref.items():
        t = state[k]
        if type(t) is not torch.Tensor or t.dtype not in (torch.float32, torch.float16, torch.bfloat16) \
                or t.shape != r.shape:
            raise rs.Invalid(f"merged.pt: {k} must be a float tensor of shape {tuple(r.shape)}")
        t = t.detach().to(torch.float32).contiguous()
        if not bool(torch.isfinite(t).all()):
            raise rs.Invalid(f"merged.pt: {k} has non-finite values")
        out[k] = t
    if not torch.equal(out["wte.weight"], out["head.weight"]):
        raise rs.Invalid("merged.pt: wte.weight and head.weight are tied and must be equal")
    return out


def _one_set(chosen: Path, workspace: Path, protected: Path, params: dict[str, Any], seed: int,
             label: str) -> tuple[dict[str, dict[str, float]], float]:
    """Merge one hidden set with merge.py and measure the share of each expert's gain kept."""
    import corpus  # type: ignore[import-not-found]  # the scorer's own copies, from protected/
    import lm  # type: ignore[import-not-found]
    import skills  # type: ignore[import-not-found]
    from gpt import GPT, GPTConfig  # type: ignore[import-not-found]

    # 1-2. the set in a fresh folder (no world), merge.py in a nested sandbox under the cap
    inbox = rs.shared_dir("merge-")
    folder = inbox / "set"
    folder.mkdir()
    for name in ["base.pt", "dev.json", *(f"{s}.pt" for s in SKILLS)]:
        shutil.copy(chosen / name, folder / name)
    limit = float(params.get("merge_timeout", 50))
    run = rs.run_untrusted([sys.executable, "merge.py", str(folder), str(inbox / "merged.pt")], cwd=workspace,
                           timeout=limit, memory_mb=int(params.get("merge_memory_mb", 3072)))
    if run.timed_out:
        raise rs.Invalid(f"merge.py did not finish within the {limit:.0f} s cap on {label} (merging and any "
                         "tuning must fit in it)")
    if not run.ok:
        raise rs.Invalid(run.why(f"merge.py on {label}"))

    # 3. the merged checkpoint, as data, with the base's exact architecture
    base_ck = torch.load(chosen / "base.pt", map_location="cpu", weights_only=True)
    merged_state = _state(rs.load_tensors("merged.pt", inbox, max_bytes=MAX_BYTES), base_ck)
    cfg = GPTConfig(**base_ck["config"])

    def model_of(state: dict[str, torch.Tensor]) -> Any:
        m = GPT(cfg)
        m.load_state_dict(state)
        return m.eval()

    # 4. fresh hidden prompts from the set's world
    world = json.loads((chosen / "world.json").read_text())
    cfg_world = corpus.GrammarConfig(prefs=float(world["prefs"]), prefs_seed=int(world["prefs_seed"]))
    vocab = lm.Vocab(protected / "vocab.json")
    n_eval = int(params.get("n_eval", 400))
    base_model, merged = model_of(base_ck["model"]), model_of(merged_state)
    per_skill: dict[str, dict[str, float]] = {}
    for k, skill in enumerate(SKILLS):
        stream = 10_000_000 + (seed % 1_000_000_007) * 7 + k
        prompts = skills.examples(skill, n_eval, stream, cfg_world)
        expert = model_of(torch.load(chosen / f"{skill}.pt", map_location="cpu", weights_only=True)["model"])
        lb, le, lm_ = (lm.answer_loss(m, vocab, prompts) for m in (base_model, expert, merged))
        r = max(0.0, min(1.0, (lb - lm_) / max(lb - le, 1e-6)))
        per_skill[skill] = {"recovered": round(r, 4), "loss_base": round(lb, 4), "loss_expert": round(le, 4),
                            "loss_merged": round(lm_, 4)}
    return per_skill, run.seconds


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    workspace, protected = Path(workspace), Path(protected)
    sys.path.insert(0, str(protected))
    torch.set_num_threads(1)
    seed = int(params["seed"])
    sets = sorted((protected / "sets").iterdir())
    random.Random(seed).shuffle(sets)
    rs.read_bytes("merge.py", workspace)  # a regular file of the workspace, not a link
    results = {}
    seconds = []
    for i, chosen in enumerate(sets):
        per_skill, took = _one_set(chosen, workspace, protected, params, seed + i, f"hidden set {i + 1}")
        results[chosen.name] = per_skill
        seconds.append(round(took, 2))
    kept = {s: sum(r[s]["recovered"] for r in results.values()) / len(results) for s in SKILLS}
    value = sum(kept.values()) / len(SKILLS)
    shown = ", ".join(f"{s} {v:.2f}" for s, v in kept.items())
    return rs.scored(value, f"mean share of each expert's gain kept: {value:.3f} ({shown}; averaged over "
                     f"{len(sets)} hidden expert sets; merge.py took {', '.join(f'{t:.1f}' for t in seconds)} s, cap "
                     f"{float(params.get('merge_timeout', 50)):.0f} s each)", kept=kept, per_set=results,
                     merge_seconds=seconds, n_eval=int(params.get("n_eval", 400)))
