"""implement_spec family: real instances via the materialiser; the reference passes every check,
the stub none, and a subtly wrong variant fails the numerical checks; metrics per level."""

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "implement_spec"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem + "_is", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCORE = _module(TASK / "protected" / "score.py")


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    mp = pytest.MonkeyPatch()
    mp.setenv("RDBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    task = load_task(TASK)
    roots = [materialize(task, "mini", seed=s, progress=lambda _: None).root for s in range(4)]
    mp.undo()
    return roots


def _score(root: Path, tmp: Path, component: str | None = None, reference: bool = False, seed: int = 5) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / "workspace", ws)
    if reference:
        shutil.copytree(root / "reference", ws, dirs_exist_ok=True)
    if component is not None:
        (ws / "component.py").write_text(component)
    result: dict[str, Any] = SCORE.score(ws, root / "protected", {"scale": "mini", "seed": seed})
    return result


def test_anchors_and_levels(instances: list[Path], tmp_path: Path) -> None:
    levels = {json.loads((r / "protected" / "instance.json").read_text())["level"] for r in instances}
    assert levels == {"pseudo", "equations", "prose", "intent"}
    assert all("## Specification" in (r / "instructions.md").read_text() for r in instances)
    ref = [_score(r, tmp_path, reference=True, seed=s) for s, r in enumerate(instances)]
    assert all(r["value"] == 1.0 for r in ref), [r["message"] for r in ref]
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["value"] == 0.0 for s in start)
    metrics = _module(TASK / "metrics.py").metrics
    assert metrics(ref)["pass_rate"] == 1.0 and metrics(ref)["detail_gap"] == 0.0
    assert metrics(start)["pass_rate"] == 0.0


def test_wrong_variant_fails(instances: list[Path], tmp_path: Path) -> None:
    root = instances[0]
    reference = (root / "reference" / "component.py").read_text()
    # The right function with a different constant: values, gradients and training all drift.
    inst = json.loads((root / "protected" / "instance.json").read_text())
    (key, value), = inst["p"].items()
    wrong = reference.replace(f"'{key}': {value!r}", f"'{key}': {value * 1.5!r}")
    assert wrong != reference
    result = _score(root, tmp_path, wrong)
    assert result["details"]["numeric"] is False and result["value"] < 1.0
    wrapped = reference + "\n_c = component\n\ndef component(x, target):\n    return _c(x, target).float()\n"
    assert _score(root, tmp_path, wrapped)["details"]["numeric"] is False  # dtype must match
