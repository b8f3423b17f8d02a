"""implement_spec instance generator: one component of the library, a variant, a detail level."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).parent

STUB = '''"""The component you must implement (see the specification in your instructions)."""

import math

import torch
import torch.nn.functional as F


def component({args}):
    """{doc}"""
    raise NotImplementedError
'''

TRAIN_MAIN = '''

if __name__ == "__main__":
    # A short training run that uses component.py (the scorer runs the same code on fresh data
    # and compares its curve with the reference's).
    from component import component

    KIND = "{kind}"
    curve = train(component, KIND, train_data(KIND, 0))
    for step in range(0, len(curve), max(1, len(curve) // 5)):
        print(step, curve[step])
'''


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"implement_spec_{name}_gen", HERE / "protected" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance; the level cycles with the seed so levels are balanced."""
    comps = _load("components")
    rng = random.Random(seed)
    name = rng.choice(sorted(comps.SPECS))
    spec = comps.SPECS[name]
    p = {key: rng.choice(values) for key, values in spec["params"].items()}
    level = comps.LEVELS[seed % len(comps.LEVELS)]
    kind = spec["kind"]
    sig = comps.KINDS[kind]
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "workspace" / "component.py").write_text(STUB.format(args=sig["args"], doc=sig["doc"]))
    harness = (HERE / "protected" / "harness.py").read_text()
    (out / "workspace" / "train.py").write_text(harness + TRAIN_MAIN.replace("{kind}", kind))
    instance = {"name": name, "p": p, "level": level, "kind": kind}
    (out / "protected" / "instance.json").write_text(json.dumps(instance))
    for module in ("components.py", "harness.py"):
        shutil.copy2(HERE / "protected" / module, out / "protected" / module)
    # The reference: the library itself plus a wrapper with this variant's constants.
    library = (HERE / "protected" / "components.py").read_text()
    (out / "reference" / "component.py").write_text(
        library + f"\n\ndef component({sig['args']}):\n    return {name}({sig['args']}, {p!r})\n")
    text = spec[level].format(**p)  # appended verbatim by the harness (not str.format-ed)
    (out / "instructions.md").write_text(
        f"\n## Specification of `component` ({kind})\n\nSignature: `component({sig['args']})`. {sig['doc']}\n\n{text}\n")
    return instance
