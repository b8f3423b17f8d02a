"""optimize_kernel: the scorer's rules, and calibration stability through the real sandbox."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rdbench.paths import package_root
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task
from tests.tasks.modules import load_module as load

# timing: these measure wall time, so `make test` runs them alone (not beside other tests)
pytestmark = pytest.mark.timing

TASK = package_root() / "tasks" / "optimize_kernel"




@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return load(TASK / "protected" / "score.py", "kernel_score")


def brute_force(x: np.ndarray) -> np.ndarray:
    out, acc, positives = [], 0, 0
    for v in x.tolist():
        if positives % 2 == 1:
            acc = (acc + v + 2**31) % 2**32 - 2**31
        out.append(acc)
        positives += v > 0
    return np.array(out, dtype=np.int32)


@pytest.mark.parametrize("solution", ["workspace", "reference"])
def test_solutions_match_brute_force_on_edge_cases(scorer: ModuleType, solution: str) -> None:
    module = load(TASK / solution / "solution.py", f"kernel_{solution}")
    rng = np.random.default_rng(0)
    for x in [*scorer.edge_cases(rng), rng.integers(-5, 5, 300).astype(np.int32)]:
        expected = brute_force(x)
        assert np.array_equal(scorer.reference(x), expected)
        assert np.array_equal(module.prefix_sum(x), expected)


def run_score(workspace: Path, n: int = 20000) -> dict[str, object]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import score; from pathlib import Path;"
        "print(json.dumps(score.score(Path(sys.argv[2]), Path(sys.argv[1]), "
        f"{{'n': {n}, 'trials': 3, 'seed': 5}})))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(TASK / "protected"), str(workspace)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("def prefix_sum(x):\n    return np.cumsum(x, dtype=np.int32)\n", "wrong result"),
        ("def prefix_sum(x):\n    return np.zeros(len(x), dtype=np.int64)\n", "numpy int32 array"),
        ("def prefix_sum(x):\n    return list(x)\n", "numpy int32 array"),
        ("def prefix_sum(x):\n    raise RuntimeError('boom')\n", "boom"),
        ("import sys\nsys.exit(3)\n", "importing solution.py failed"),
        ("import os\ndef prefix_sum(x):\n    os._exit(1)\n", "exited"),
        # replaying the answer for the previous input must fail: inputs are fresh per call
        ("_last = None\ndef prefix_sum(x):\n    global _last\n    y = _last if _last is not None and len(_last) == len(x) else np.zeros(len(x), np.int32)\n"
         "    _last = np.cumsum(x, dtype=np.int32)\n    return y\n", "wrong result"),
    ],
)
def test_bad_solutions_are_invalid(tmp_path: Path, body: str, needle: str) -> None:
    (tmp_path / "solution.py").write_text("import numpy as np\n" + body)
    result = run_score(tmp_path)
    assert result["value"] is None or math.isnan(float(result["value"]))  # type: ignore[arg-type]
    assert needle in str(result["message"])


def test_symlinked_solution_is_refused(tmp_path: Path) -> None:
    (tmp_path / "solution.py").symlink_to(TASK / "reference" / "solution.py")
    result = run_score(tmp_path)
    assert "symlink" in str(result["message"])


def test_check_twice_is_stable(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance check: a second `rdbench check` lands within 0.1 of 0 and 1."""
    task = load_task("optimize_kernel")
    first = asyncio.run(check_task(task, repeats=2))
    assert first.ok, first.problems
    second = asyncio.run(check_task(task, repeats=2))
    assert second.ok and second.previous_calibration
    assert second.normalized_starting is not None and second.normalized_reference is not None
    assert abs(second.normalized_starting) < 0.1
    assert abs(second.normalized_reference - 1) < 0.1
    assert math.log(second.starting) - math.log(second.reference) >= 0.5  # type: ignore[arg-type]
