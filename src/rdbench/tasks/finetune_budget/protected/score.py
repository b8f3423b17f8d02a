"""Scorer for finetune_budget: the scorer runs finetune.sh itself on a hidden world and scores the model it
leaves on a broad hidden suite.

Per call, with ``params["seed"]``:

1. A hidden world (its own base, lexical world and pool of open datasets; the workspace's development
   world is another one) is drawn from the seed.
2. Only the workspace's top-level ``*.py`` and ``*.sh`` files (at most ``code_bytes`` in all, read with
   the toolkit: no links) are copied into a fresh folder with ``input/base.pt`` and ``input/pool/``, so
   no weights prepared in advance can come along. ``bash finetune.sh input/base.pt input/pool
   out/model.pt`` runs there in a nested sandbox (``rs.run_untrusted``: own /proc, no protected/, no
   parameters) under a wall-clock cap and a cgroup memory cap on its whole process tree, with one
   thread; over a cap it is killed and the call is invalid, naming the cap. When it returns every
   process it started is dead; a base it changed in place makes the call invalid (inputs are read-only).
3. ``out/model.pt`` is read as data (``weights_only``, at the moment of use) and must have exactly the
   base's architecture (config, tensor names, shapes, float dtypes, finite values, tied head) and be a
   fine-tune of *this* base: nearer to it than to any other prepared base (every world's base has its
   own initialisation, so a model fine-tuned from another one is far from it).
4. Fresh hidden prompts of the six suite skills (four with data in the pool, two held out) are drawn
   from the world with the seed; the model answers greedily (``lm.generate``) and each answer counts
   when it equals the right one exactly. Score = the geometric mean over the skills of the accuracies,
   each floored at ``floor`` (so one destroyed skill pulls the score down hard but not to zero); higher
   is better. The base's own accuracies are reported beside the model's.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs
import torch

POOL_SKILLS = ["who", "agree", "reverse", "copy"]
HELD_OUT = ["first", "plural"]
SUITE = POOL_SKILLS + HELD_OUT
MAX_BYTES = 32 * 2**20


def copy_code(workspace: Path, dest: Path, limit: int) -> list[str]:
    """Copy the workspace's top-level ``*.py`` and ``*.sh`` files (regular files only) into ``dest``."""
    names = sorted(p.name for p in workspace.iterdir() if p.name.endswith((".py", ".sh")))
    if "finetune.sh" not in names:
        raise rs.Invalid("finetune.sh is missing from the workspace")
    too_big = rs.Invalid(f"the workspace's .py and .sh files hold more than {limit:,} bytes: only code is taken "
                         "to the scoring run (no weights or data); make them smaller")
    total = 0
    for name in names:
        try:
            data = rs.read_bytes(name, workspace, max_bytes=limit - total)
        except rs.Invalid as error:
            raise too_big if "too large" in error.message else error from None
        total += len(data)
        (dest / name).write_bytes(data)
    return names


def checked_state(ck: Any, base: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The output's state dict, checked against the base's architecture (Invalid otherwise)."""
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        raise rs.Invalid('out/model.pt must hold {"config": ..., "model": state_dict} (see lm.save_model)')
    if ck.get("config") != base["config"]:
        raise rs.Invalid(f"out/model.pt: config {ck.get('config')} differs from the base's {base['config']}: the "
                         "fine-tuned model must keep the base's architecture")
    state, ref = ck["model"], base["model"]
    if set(state) != set(ref):
        missing, extra = sorted(set(ref) - set(state)), sorted(set(state) - set(ref))
        raise rs.Invalid(f"out/model.pt: tensor names differ from the base's (missing {missing[:3]}, "
                         f"extra {extra[:3]})")
    out = {}
    for k, r in ref.items():
        t = state[k]
        if type(t) is not torch.Tensor or t.dtype not in (torch.float32, torch.float16, torch.bfloat16) \
                or t.shape != r.shape:
            raise rs.Invalid(f"out/model.pt: {k} must be a float tensor of shape {tuple(r.shape)}")
        t = t.detach().to(torch.float32).contiguous()
        if not bool(torch.isfinite(t).all()):
            raise rs.Invalid(f"out/model.pt: {k} has non-finite values")
        out[k] = t
    if not torch.equal(out["wte.weight"], out["head.weight"]):
        raise rs.Invalid("out/model.pt: wte.weight and head.weight are tied and must be equal")
    return out


def distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return math.sqrt(sum(float(((a[k] - b[k].float()) ** 2).sum()) for k in a))


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    workspace, protected = Path(workspace), Path(protected)
    sys.path.insert(0, str(protected))
    import corpus  # type: ignore[import-not-found]  # the scorer's own copies, from protected/
    import lm  # type: ignore[import-not-found]
    import skills  # type: ignore[import-not-found]
    from gpt import GPT, GPTConfig  # type: ignore[import-not-found]

    torch.set_num_threads(int(params.get("threads", 1)))
    seed = int(params["seed"])
    worlds = sorted(p for p in (protected / "worlds").iterdir() if p.is_dir())
    world = worlds[seed % len(worlds)]

    # 2. code only, with the world's base and pool, in a nested sandbox under the caps
    run_dir = rs.shared_dir("finetune-")
    names = copy_code(workspace, run_dir, int(params.get("code_bytes", 65536)))
    shutil.copytree(world / "pool", run_dir / "input" / "pool")
    shutil.copy(world / "base.pt", run_dir / "input" / "base.pt")
    (run_dir / "vocab.json").write_bytes((protected / "vocab.json").read_bytes())
    (run_dir / "out").mkdir()
    for path in [run_dir, run_dir / "out", run_dir / "input", run_dir / "input" / "pool"]:
        path.chmod(0o777)
    limit, memory_mb = float(params.get("run_timeout", 90)), int(params.get("memory_mb", 1536))
    threads = str(int(params.get("threads", 1)))
    run = rs.run_untrusted(["bash", "finetune.sh", "input/base.pt", "input/pool", "out/model.pt"], cwd=run_dir,
                           timeout=limit, memory_mb=memory_mb,
                           env={"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                                "TIME_CAP_S": f"{limit:g}", "MEMORY_CAP_MB": str(memory_mb),
                                "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
    ran = {"world": world.name, "files": names, "seconds": round(run.seconds, 2),
           "peak_memory_mb": None if run.peak_memory_mb is None else round(run.peak_memory_mb, 1)}
    if run.out_of_memory:
        raise rs.Invalid(f"finetune.sh went over the memory cap of {memory_mb} MB (its whole process tree) and "
                         "was killed", **ran)
    if run.timed_out:
        raise rs.Invalid(f"finetune.sh did not finish within the time cap of {limit:.0f} s (wall clock) and was "
                         "killed", **ran)
    if not run.ok:
        raise rs.Invalid(run.why("finetune.sh"), **ran)

    given = rs.read_bytes("input/base.pt", run_dir, max_bytes=MAX_BYTES) if (run_dir / "input").is_dir() else b""
    if given != (world / "base.pt").read_bytes():
        raise rs.Invalid("finetune.sh changed input/base.pt, the base it was given: the inputs are read-only "
                         "(write only OUT_PT)", **ran)

    # 3. the output, as data: the base's architecture, and a fine-tune of this base
    base_ck = torch.load(world / "base.pt", map_location="cpu", weights_only=True)
    state = checked_state(rs.load_tensors("out/model.pt", run_dir, max_bytes=MAX_BYTES), base_ck)
    own = distance(state, base_ck["model"])
    others = [distance(state, torch.load(w / "base.pt", map_location="cpu", weights_only=True)["model"])
              for w in [*worlds, protected / "dev_world"] if w != world and (w / "base.pt").exists()]
    if others and own >= min(others):
        raise rs.Invalid(f"out/model.pt is not a fine-tune of the base it was given: it is nearer to another "
                         f"world's base ({min(others):.1f}) than to this one ({own:.1f})", **ran)
    cfg = GPTConfig(**base_ck["config"])
    model, base = GPT(cfg), GPT(cfg)
    model.load_state_dict(state)
    base.load_state_dict(base_ck["model"])

    # 4. fresh hidden prompts of every suite skill, greedy answers, exact match
    info = json.loads((world / "world.json").read_text())
    cfg_world = corpus.GrammarConfig(prefs=float(info["prefs"]), prefs_seed=int(info["prefs_seed"]))
    vocab = lm.Vocab(protected / "vocab.json")
    n_eval, floor = int(params.get("n_eval", 300)), float(params.get("floor", 0.1))
    acc, base_acc = {}, {}
    for k, skill in enumerate(SUITE):
        prompts = skills.examples(skill, n_eval, 10_000_000 + (seed % 1_000_000_007) * 11 + k, cfg_world)
        acc[skill] = round(lm.accuracy(model, vocab, prompts), 4)
        base_acc[skill] = round(lm.accuracy(base, vocab, prompts), 4)
    value = math.exp(sum(math.log(max(a, floor)) for a in acc.values()) / len(SUITE))
    base_value = math.exp(sum(math.log(max(a, floor)) for a in base_acc.values()) / len(SUITE))
    shown = ", ".join(f"{s} {acc[s]:.2f}" for s in SUITE)
    return rs.scored(value, f"geometric mean of exact-match accuracies over the six suite skills: {value:.3f} "
                     f"({shown}; held out: {', '.join(HELD_OUT)}; the base scores {base_value:.3f}); finetune.sh "
                     f"took {run.seconds:.1f} of {limit:.0f} s on {world.name}", accuracy=acc, base_accuracy=base_acc,
                     base_score=round(base_value, 4), n_eval=n_eval, distance_to_base=round(own, 2),
                     nearest_other_base=None if not others else round(min(others), 2), **ran)
