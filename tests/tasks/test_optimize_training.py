"""optimize_training: reference beats the start, and changed hyperparameters / replayed weights fail."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rdbench.paths import package_root
from tests.tasks.scoring import prepared as prepared_task
from tests.tasks.scoring import sandbox_score

# timing: these measure wall time, so `make test` runs them alone (not beside other tests)
pytestmark = pytest.mark.timing

TASK = package_root() / "tasks" / "optimize_training"
PY = sys.executable


@pytest.fixture(scope="module")
def prepared() -> Path:
    return prepared_task("optimize_training")[0].root


def _workspace(prepared: Path, dest: Path, reference: bool) -> Path:
    shutil.copytree(prepared / "workspace", dest)
    if reference:
        shutil.copytree(TASK / "reference", dest, dirs_exist_ok=True)
    return dest


def _score(ws: Path, prepared: Path, seed: int) -> dict[str, Any]:
    result = sandbox_score("optimize_training", ws, seed=seed)
    assert result.kind != "scorer_error", result
    return {"value": math.nan if result.value is None else result.value, "message": result.message,
            "details": result.details}


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

    # replay: weights fine-tuned on the data the agent sees, shipped in the workspace and copied into
    # place by finetune.sh; the scorer trains on a hidden variant, so they differ
    trained = _workspace(prepared, tmp_path / "trained", True)
    subprocess.run(["bash", "finetune.sh"], cwd=trained, check=True, capture_output=True, timeout=300,
                   env={**os.environ, "PATH": f"{Path(PY).parent}:{os.environ['PATH']}"})
    rp_ws = _workspace(prepared, tmp_path / "replay", False)
    shutil.copy(trained / "out" / "final.pt", rp_ws / "saved.pt")
    (rp_ws / "finetune.sh").write_text("#!/bin/bash\nmkdir -p out && cp saved.pt out/final.pt\n")
    replay = _score(rp_ws, prepared, 1)
    assert math.isnan(replay["value"]) and "differ" in replay["message"], replay

    # time of check to time of use: finetune.sh leaves a link to the reference weights of every
    # variant in place of its output (the scorer reads out/final.pt after the procedure ran)
    link_ws = _workspace(prepared, tmp_path / "link", False)
    (link_ws / "finetune.sh").write_text(
        "#!/bin/bash\nmkdir -p out && ln -sf /opt/rdbench/protected/variants/0/ref.pt out/final.pt\n")
    linked = _score(link_ws, prepared, 0)
    assert math.isnan(linked["value"]) and "links are refused" in linked["message"], linked
