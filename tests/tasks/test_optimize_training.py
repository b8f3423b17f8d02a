"""optimize_training: reference beats the start, and changed hyperparameters / replayed weights fail."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rdbench.paths import package_root

# timing: these measure wall time, so `make test` runs them alone (not beside other tests)
pytestmark = pytest.mark.timing

TASK = package_root() / "tasks" / "optimize_training"
PY = sys.executable


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ot_prep")
    spec = importlib.util.spec_from_file_location("ot_prepare", TASK / "prepare.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.prepare(out, {})
    return out


def _workspace(prepared: Path, dest: Path, reference: bool) -> Path:
    shutil.copytree(TASK / "workspace", dest)
    shutil.copytree(prepared / "workspace", dest, dirs_exist_ok=True)
    if reference:
        shutil.copytree(TASK / "reference", dest, dirs_exist_ok=True)
    return dest


def _score(ws: Path, prepared: Path, seed: int) -> dict[str, Any]:
    code = (
        "import json,sys,pathlib;sys.path.insert(0,sys.argv[1]);import score;"
        "print(json.dumps(score.score(pathlib.Path(sys.argv[2]),pathlib.Path(sys.argv[3]),"
        "{'seed':int(sys.argv[4]),'scale':'mini','run_timeout':100})))"
    )
    proc = subprocess.run(
        [PY, "-c", code, str(TASK / "protected"), str(ws), str(prepared / "protected"), str(seed)],
        capture_output=True, text=True, timeout=200, check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1].replace("NaN", '"nan"'))
    if result["value"] == "nan":
        result["value"] = math.nan
    return result


@pytest.mark.slow
def test_reference_faster_and_rules_bite(prepared: Path, tmp_path: Path) -> None:
    start = _score(_workspace(prepared, tmp_path / "start", False), prepared, 0)
    ref_ws = _workspace(prepared, tmp_path / "ref", True)
    ref = _score(ref_ws, prepared, 0)
    assert not math.isnan(start["value"]) and not math.isnan(ref["value"])
    assert ref["value"] < start["value"] / 3, (start, ref)  # the issue: reference at least 3x faster
    assert ref["details"]["rel_distance"] < 0.05

    # changed hyperparameter: a higher learning rate drifts past the threshold
    lr_ws = _workspace(prepared, tmp_path / "lr", True)
    f = lr_ws / "finetune.py"
    text = f.read_text()
    assert 'eps, lr = 0.9, 0.95, 1e-8, hp["lr"]' in text
    f.write_text(text.replace('eps, lr = 0.9, 0.95, 1e-8, hp["lr"]', 'eps, lr = 0.9, 0.95, 1e-8, hp["lr"] * 1.5'))
    bad = _score(lr_ws, prepared, 0)
    assert math.isnan(bad["value"]) and "differ" in bad["message"]

    # fewer steps also caught
    st_ws = _workspace(prepared, tmp_path / "steps", True)
    f = st_ws / "finetune.py"
    text = f.read_text()
    assert 'for step in range(hp["steps"])' in text
    f.write_text(text.replace('for step in range(hp["steps"])', 'for step in range(hp["steps"] - 50)'))
    assert math.isnan(_score(st_ws, prepared, 0)["value"])

    # replay: save the weights trained on one hidden variant and copy them back on another
    n_var = len(list((prepared / "protected" / "variants").iterdir()))
    saved = tmp_path / "saved.pt"
    shutil.copy(ref_ws / "out" / "final.pt", saved)
    rp_ws = _workspace(prepared, tmp_path / "replay", False)
    (rp_ws / "finetune.sh").write_text(f"#!/bin/bash\nmkdir -p out && cp {saved} out/final.pt\n")
    replay = _score(rp_ws, prepared, 1 % n_var)
    assert math.isnan(replay["value"]), replay
