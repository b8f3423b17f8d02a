"""Run merge.py on the development expert set and score the result as the scorer does.

    python evaluate.py                  # merge experts/ with merge.py, then score on eval.json
    python evaluate.py --merged m.pt    # score an existing merged checkpoint

The scorer does the same on a hidden expert set (another base, another lexical world, other experts)
with fresh hidden prompts: per skill s, r_s = (L_base - L_merged) / (L_base - L_expert) clipped to
[-1, 1] (L: answer loss, lm.answer_loss), and the score is the mean of r_s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lm  # noqa: E402

SKILLS = ["finish", "who", "fill", "fact"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--merged", help="score this checkpoint instead of running merge.py")
    a = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        merged_path = Path(a.merged) if a.merged else Path(tmp) / "merged.pt"
        if not a.merged:
            started = time.monotonic()
            run = subprocess.run([sys.executable, str(HERE / "merge.py"), str(HERE / "experts"), str(merged_path)])
            if run.returncode != 0:
                sys.exit(f"merge.py failed (exit {run.returncode})")
            print(f"merge.py took {time.monotonic() - started:.1f} s")
        vocab = lm.Vocab()
        evals = {s: [tuple(x) for x in v] for s, v in json.loads((HERE / "eval.json").read_text()).items()}
        merged, base = lm.load_model(merged_path), lm.load_model(HERE / "experts" / "base.pt")
        total = 0.0
        for s in SKILLS:
            expert = lm.load_model(HERE / "experts" / f"{s}.pt")
            lb, le, lmv = (lm.answer_loss(m, vocab, evals[s]) for m in (base, expert, merged))
            r = max(0.0, min(1.0, (lb - lmv) / (lb - le)))
            total += r
            print(f"{s:7s} loss base {lb:.3f} expert {le:.3f} merged {lmv:.3f} -> recovered {r:+.3f}")
        print(f"score (mean recovered): {total / len(SKILLS):.3f}")


if __name__ == "__main__":
    main()
