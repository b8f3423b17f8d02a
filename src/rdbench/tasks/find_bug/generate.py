"""find_bug instance generator: a clean script, 0-2 refactors, and at most one validated bug."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from rdbench.tasklib.assist import faults, runner, scripts


def build(seed: int) -> dict[str, Any]:
    """Draws one instance; returns sources, label and validation (no files written)."""
    rng = random.Random(seed)
    config = scripts.draw_config(rng)
    clean = scripts.render(config)
    for refactor in rng.sample(faults.REFACTORS, rng.randrange(3)):
        clean, _ = faults.apply(clean, refactor)
    spread = runner.clean_spread(clean)
    label: dict[str, Any] = {"buggy": False, "type": None, "lines": [], "clean_metrics": spread}
    source, rejected = clean, []
    if rng.random() < 0.5:
        kinds = [m for m in faults.BUGS if faults.applicable(clean, m)]
        rng.shuffle(kinds)
        for mutation in kinds:
            mutant, lines = faults.apply(clean, mutation)
            check = runner.validate(clean, mutant)
            if check.kept:
                label.update(buggy=True, type=mutation.kind, lines=lines,
                             mutant_metrics=check.mutant)
                source = mutant
                break
            rejected.append({"type": mutation.kind, "reason": check.reason})
    label["rejected"] = rejected
    label["config"] = config.key()
    return {"source": source, "clean": clean, "label": label}


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance under ``out`` (workspace/, protected/, reference/)."""
    inst = build(seed)
    label = inst["label"]
    label["original_sha256"] = hashlib.sha256(inst["source"].encode()).hexdigest()
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "workspace" / "train.py").write_text(inst["source"])
    (out / "workspace" / "answer.json").write_text(
        json.dumps({"answered": False, "buggy": None, "lines": [], "type": None}) + "\n")
    (out / "protected" / "label.json").write_text(json.dumps(label, indent=1))
    answer = {"buggy": label["buggy"], "lines": label["lines"][:1], "type": label["type"]}
    (out / "reference" / "answer.json").write_text(json.dumps(answer) + "\n")
    if label["buggy"]:
        (out / "reference" / "train.py").write_text(inst["clean"])
    return {k: label[k] for k in ("buggy", "type", "lines", "config", "rejected")}
