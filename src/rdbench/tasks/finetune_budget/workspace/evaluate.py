"""Run finetune.sh on the development world and measure the four visible skills on dev.json.

    python evaluate.py                 # fine-tune world/base.pt on world/pool with finetune.sh, then evaluate
    python evaluate.py --model m.pt    # evaluate an existing checkpoint

The scorer does the same on a hidden world (another base, lexical world and pool) with fresh hidden
prompts of six skills: these four and two held out, which no file here shows. Held-out skills are
lost by a fine-tune that forgets what the base could do; compare the base's numbers with yours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lm  # noqa: E402

SKILLS = ["who", "agree", "reverse", "copy"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="evaluate this checkpoint instead of running finetune.sh")
    ap.add_argument("--cap", type=float, default=90.0, help="time cap for finetune.sh in seconds (the scorer's)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(a.model) if a.model else Path(tmp) / "model.pt"
        if not a.model:
            started = time.monotonic()
            env = {**os.environ, "TIME_CAP_S": f"{a.cap:g}", "OMP_NUM_THREADS": "1"}
            try:
                run = subprocess.run(["bash", str(HERE / "finetune.sh"), str(HERE / "world" / "base.pt"),
                                      str(HERE / "world" / "pool"), str(path)], env=env, timeout=a.cap)
            except subprocess.TimeoutExpired:
                sys.exit(f"finetune.sh did not finish within the {a.cap:.0f} s cap: the scorer would call this invalid")
            if run.returncode != 0:
                sys.exit(f"finetune.sh failed (exit {run.returncode})")
            print(f"finetune.sh took {time.monotonic() - started:.1f} s of the {a.cap:.0f} s cap")
        vocab = lm.Vocab()
        dev = {s: [tuple(x) for x in v] for s, v in json.loads((HERE / "dev.json").read_text()).items()}
        model, base = lm.load_model(path), lm.load_model(HERE / "world" / "base.pt")
        logs = []
        for s in SKILLS:
            mine, theirs = lm.accuracy(model, vocab, dev[s]), lm.accuracy(base, vocab, dev[s])
            logs.append(math.log(max(mine, 0.01)))
            print(f"{s:8s} exact-match accuracy: yours {mine:.3f}, the base's {theirs:.3f}")
        print(f"geometric mean over the four visible skills: {math.exp(sum(logs) / len(logs)):.3f}")


if __name__ == "__main__":
    main()
