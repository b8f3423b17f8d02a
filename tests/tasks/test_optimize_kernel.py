"""optimize_kernel: the scorer's rules, and calibration stability through the real sandbox."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rdbench.paths import package_root
from rdbench.scoring.calibration import calibration_path
from rdbench.scoring.check import check_task
from rdbench.scoring.runner import ScoreResult
from rdbench.task.loader import load_task
from tests.tasks.modules import load_module as load
from tests.tasks.scoring import sandbox_score

# timing: these measure wall time, so `make test` runs them alone (not beside other tests)
pytestmark = pytest.mark.timing

TASK = package_root() / "tasks" / "optimize_kernel"




REPLAY = """
_seen = {{}}
def prefix_sum(x):
    n = len(x)
    if n >= {replay_from} and n in _seen:
        return _seen[n]  # the answer to the previous input of this length
    x64 = np.asarray(x, dtype=np.int64)
    positive = (x64 > 0).astype(np.int64)
    odd = (np.cumsum(positive) - positive) % 2 == 1
    y = (np.cumsum(np.where(odd, x64, 0)) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    _seen[n] = y
    return y
"""


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


def run_score(workspace: Path, n: int = 20000) -> ScoreResult:
    return sandbox_score("optimize_kernel", workspace, seed=5, n=n, trials=3)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("def prefix_sum(x):\n    return np.cumsum(x, dtype=np.int32)\n", "wrong result"),
        ("def prefix_sum(x):\n    return np.zeros(len(x), dtype=np.int64)\n", "numpy int32 array"),
        ("def prefix_sum(x):\n    return list(x)\n", "numpy int32 array"),
        ("def prefix_sum(x):\n    raise RuntimeError('boom')\n", "boom"),
        ("import sys\nsys.exit(3)\n", "importing solution.py failed"),
        ("import os\ndef prefix_sum(x):\n    os._exit(1)\n", "exited"),
        # replaying the answer for the previous input must fail: inputs are fresh per call (REPLAY is
        # correct on every input it has not seen the length of; its control below passes)
        (REPLAY.format(replay_from=20000), "wrong result on a random input of length 20000"),
    ],
)
def test_bad_solutions_are_invalid(tmp_path: Path, body: str, needle: str) -> None:
    (tmp_path / "solution.py").write_text("import numpy as np\n" + body)
    result = run_score(tmp_path)
    assert result.kind == "invalid", result
    assert needle in result.message


def test_the_replay_solution_is_correct_when_it_does_not_replay(tmp_path: Path) -> None:
    """The control of the replay case: the same code, never replaying, scores; so the replay case
    fails for replaying, not for a wrong algorithm."""
    (tmp_path / "solution.py").write_text("import numpy as np\n" + REPLAY.format(replay_from=10**12))
    result = run_score(tmp_path)
    assert result.kind == "scored", result


def test_symlinked_solution_is_refused(tmp_path: Path) -> None:
    (tmp_path / "solution.py").symlink_to(TASK / "reference" / "solution.py")
    result = run_score(tmp_path)
    assert result.kind == "invalid" and "links are refused" in result.message


# Work outside the timed window (issue 12, class 1): the solution hooks what the harness side of its
# process does with the buffers (numpy's frombuffer, and a thread that watches the input buffer),
# computes the answer as soon as it sees an input, and hands back the precomputed array when timed.
PRECOMPUTE = """
import threading, time
import numpy as np
_ready = {}
def _slow(x):
    x = np.asarray(x, dtype=np.int64)
    positive = (x > 0).astype(np.int64)
    odd = (np.cumsum(positive) - positive) % 2 == 1
    return (np.cumsum(np.where(odd, x, 0)) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
_frombuffer = np.frombuffer
def _hooked(*args, **kwargs):
    view = _frombuffer(*args, **kwargs)
    if view.size:
        def watch(v=view):
            seen = None
            while True:
                key = bytes(v[:16])
                if key != seen:
                    seen = key
                    _ready[key] = _slow(v)
                time.sleep(0.0005)
        threading.Thread(target=watch, daemon=True).start()
    return view
np.frombuffer = _hooked
def prefix_sum(x):
    got = _ready.get(bytes(x[:16]))
    return got if got is not None and len(got) == len(x) else _slow(x)
"""


def test_work_outside_the_timed_window_gains_nothing(tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text(PRECOMPUTE)
    attack = run_score(tmp_path, n=200000)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "solution.py").write_text(PRECOMPUTE.replace("np.frombuffer = _hooked", ""))
    honest = run_score(plain, n=200000)
    assert honest.kind == "scored", honest
    # either refused (answered faster than the floor) or no faster than the same code without hooks
    assert attack.kind == "invalid" or attack.value >= 0.8 * honest.value, (attack, honest)  # type: ignore[operator]


def test_check_twice_is_stable(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance check: a second `rdbench check` lands within 0.1 of 0 and 1."""
    task = load_task("optimize_kernel")
    # start from no stored calibration: one left by an earlier session on a machine whose speed has
    # drifted since would (rightly) make the first check disagree with it
    calibration_path("optimize_kernel", "mini", task.spec.version).unlink(missing_ok=True)
    first = asyncio.run(check_task(task, repeats=2))
    assert first.ok and first.saved, first.problems
    second = asyncio.run(check_task(task, repeats=2))
    assert second.ok and second.previous_calibration
    assert second.normalized_starting is not None and second.normalized_reference is not None
    assert abs(second.normalized_starting) < 0.1
    assert abs(second.normalized_reference - 1) < 0.1
    assert math.log(second.starting) - math.log(second.reference) >= 0.5  # type: ignore[arg-type]
