"""Merge a base model and its experts into one model of the base's architecture (starting solution).

    python merge.py SET_FOLDER merged.pt

SET_FOLDER holds base.pt, one expert per skill (finish.pt, who.pt, fill.pt, fact.pt: the base
fine-tuned on that skill) and dev.json (a few prompts and answers per skill). Write the merged
checkpoint with lm.save_model. This starting version is uniform weight averaging of the experts
(MLRB's own starter for the merging competition).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lm  # noqa: E402

SKILLS = ["finish", "who", "fill", "fact"]


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(1)
    base = lm.load_model(folder / "base.pt")
    experts = [torch.load(folder / f"{s}.pt", weights_only=True)["model"] for s in SKILLS]
    merged = {k: sum(e[k] for e in experts) / len(experts) for k in experts[0]}
    base.load_state_dict(merged)
    lm.save_model(base, out)


if __name__ == "__main__":
    main()
