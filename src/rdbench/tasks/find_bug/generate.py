"""find_bug instance generator: a restyled clean script and, half of the time, one validated bug."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from rdbench.tasklib.assist import faults, runner, scripts


def build(seed: int) -> dict[str, Any]:
    """Draws one instance; returns sources, label and validation (no files written).

    The clean script is a random kind (PyTorch MLP, PyTorch causal attention LM, scikit-learn
    classifier) in random styles. With probability 1/2 bug types are tried in a random order
    (weighted towards types few script kinds support), one random form each, until a mutant runs and moves the test metric outside the 3-seed spread of
    the clean script's canonical form; if none does the instance stays clean.
    """
    rng = random.Random(seed)
    script = scripts.draw(rng)
    clean = scripts.render(script)
    # Clean runs of the canonical form are shared by every instance with the same parameters; the
    # restyled script must match them on seed 0 (its restyles are refactors, so clean means clean).
    canonical = scripts.render(script.canonical())
    spread = runner.clean_spread(canonical)
    styled = runner.run_script(clean, runner.SEEDS[0])
    if styled is None or not runner.same_behaviour([styled], spread[:1]):
        raise RuntimeError(f"restyled {script.key()} gives {styled}, canonical {spread[0]}; a refactor is broken")
    label: dict[str, Any] = {"buggy": False, "type": None, "lines": [], "clean_metrics": spread}
    source, rejected = clean, []
    if rng.random() < 0.5:
        # Bug types in a random order, weighted by 1 / (number of script kinds that support the
        # type), so types that fit every script (labels, broadcasting) do not crowd out those that
        # fit one (causal mask, scaler, leak); the script kind itself stays uniform, clean or not.
        support = {k: sum(k in faults.kinds_for_script_kind(s) for s in scripts.KINDS) for k in faults.BUG_KINDS}
        kinds = sorted(faults.kinds_for(script), key=lambda k: rng.random() ** support[k], reverse=True)
        for kind in kinds:
            form = rng.choice(faults.forms(script, kind))
            mutant, lines = faults.inject(script, form)
            check = runner.validate(canonical, mutant)
            if check.kept:
                label.update(buggy=True, type=kind, lines=lines, mutant_metrics=check.mutant)
                source = mutant
                break
            rejected.append({"type": kind, "reason": check.reason})
    label["rejected"] = rejected
    label["script"] = script.key()
    label["script_kind"] = script.kind
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
    return {k: label[k] for k in ("buggy", "type", "lines", "script", "script_kind", "rejected")}
