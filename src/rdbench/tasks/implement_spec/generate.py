"""implement_spec instance generator: one component of the library, a variant, a detail level."""

from __future__ import annotations

import importlib.util
import inspect
import json
import random
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).parent

STUB = '''"""The component you must implement (see the specification in your instructions)."""

import torch


def component(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """x: float64 (batch, features); target: int64 (batch,) class ids (ignored unless a loss)."""
    raise NotImplementedError
'''

TRAIN = '''"""Trains a tiny classifier that uses component.py; prints the loss every 10 steps."""

import torch
import torch.nn.functional as F

from component import component

KIND = "{kind}"
torch.manual_seed(0)
x = torch.randn(64, 10, dtype=torch.float64) * 2
target = torch.randint(0, 10, (64,))
model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Tanh(), torch.nn.Linear(10, 10)).double()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(30):
    out = model(x)
    loss = component(out, target) if KIND == "loss" else F.cross_entropy(component(out, target), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, float(loss))
'''


def _components() -> ModuleType:
    spec = importlib.util.spec_from_file_location("implement_spec_components_gen", HERE / "protected" / "components.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance; the level cycles with the seed so levels are balanced."""
    comps = _components()
    rng = random.Random(seed)
    name = rng.choice(sorted(comps.SPECS))
    spec = comps.SPECS[name]
    p = {key: rng.choice(values) for key, values in spec["params"].items()}
    level = comps.LEVELS[seed % len(comps.LEVELS)]
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "workspace" / "component.py").write_text(STUB)
    (out / "workspace" / "train.py").write_text(TRAIN.replace("{kind}", spec["kind"]))
    instance = {"name": name, "p": p, "level": level, "kind": spec["kind"]}
    (out / "protected" / "instance.json").write_text(json.dumps(instance))
    shutil.copy2(HERE / "protected" / "components.py", out / "protected" / "components.py")
    source = inspect.getsource(comps.FUNCS[name])
    (out / "reference" / "component.py").write_text(
        "import math\n\nimport torch\nimport torch.nn.functional as F\n\n\n" + source
        + f"\n\ndef component(x, target):\n    return {name}(x, target, {p!r})\n")
    text = spec[level].format(**p)  # appended verbatim by the harness (not str.format-ed)
    (out / "instructions.md").write_text(f"\n## Specification of `component` ({spec['kind']})\n\n{text}\n")
    return instance
