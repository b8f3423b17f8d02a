"""Score optimize_training: wall time of finetune.sh on a hidden data variant; weights must match.

The scorer puts a fresh hidden data variant and the untouched base model into the workspace (replacing
whatever is there), runs ``finetune.sh`` in a nested sandbox (timed here, from outside it; every
process it starts dies with it), and only then reads ``out/final.pt``, as data, at the moment of use:
a link swapped in by the procedure (to the reference weights, say) is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs
import torch

THRESHOLD = 0.05  # max ||w - w_ref|| / ||w_ref - w_base||


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    variants = sorted((protected / "variants").iterdir())
    var = variants[int(params["seed"]) % len(variants)]
    # fresh hidden data and the untouched base model, so replayed weights or edits to inputs fail
    rs.put_file(var / "train.txt", workspace, "data/train.txt")
    for name in ("base.pt", "config.json"):
        rs.put_file(protected / name, workspace, name)
    rs.remove(workspace, "out")
    rs.read_bytes("finetune.sh", workspace)  # a regular file, not a link
    limit = float(params.get("run_timeout", 100))
    run = rs.run_untrusted(["bash", "finetune.sh"], cwd=workspace, timeout=limit,
                           env={"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"})
    if run.timed_out:
        raise rs.Invalid(f"finetune.sh did not finish within {limit:.0f} s")
    if not run.ok:
        raise rs.Invalid(run.why("finetune.sh"))
    got = rs.load_tensors("out/final.pt", workspace)
    ref = torch.load(var / "ref.pt", weights_only=True)
    base = torch.load(protected / "base.pt", weights_only=True)["model"]
    num = den = 0.0
    for k, r in ref.items():
        g = got.get(k) if isinstance(got, dict) else None
        if type(g) is not torch.Tensor or g.shape != r.shape:
            raise rs.Invalid(f"out/final.pt: missing or mis-shaped tensor {k}")
        num += float(((g.double() - r.double()) ** 2).sum())
        den += float(((r.double() - base[k].double()) ** 2).sum())
    rel = (num ** 0.5) / max(den ** 0.5, 1e-12)
    details = {"seconds": run.seconds, "rel_distance": rel, "variant": var.name}
    if not rel < THRESHOLD:
        raise rs.Invalid(f"weights differ from the reference fine-tune (relative distance {rel:.3f} >= "
                         f"{THRESHOLD}); training must be unchanged", **details)
    return rs.scored(run.seconds, f"finetune.sh took {run.seconds:.2f} s (weights OK, distance {rel:.4f})",
                     **details)
