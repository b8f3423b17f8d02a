"""``rdbench check`` judges its own result and never replaces a good calibration with a worse one;
calibrations are keyed by the task's version. Hand-computed on the toy task (lower is better, no
transform, starting 42, reference 2: the gap is 40)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdbench.scoring.calibration import (
    calibration_path,
    load_calibration,
    make_calibration,
    missing_message,
    save_calibration,
)
from rdbench.scoring.check import _report
from rdbench.scoring.machine import LoadMeter
from rdbench.task.loader import load_task

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RDBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    return tmp_path / "cache"


def good_stored() -> Path:
    task = load_task("toy_count")
    good = make_calibration("toy_count", task.spec.version, "mini", [42.0, 42.2], [2.0, 2.2], "none", 1.0)
    return save_calibration(good.model_copy(update={"starting": 42.1, "reference": 2.1, "created": 1.0}))


def test_noise_above_the_bar_fails_and_does_not_replace_the_stored_calibration(cache: Path) -> None:
    stored = good_stored()
    before = stored.read_text()
    # starting repeats 33 and 51 (median 42), reference 2 and 2: pooled variance (2 * 9**2 + 0) / 2 = 81,
    # noise 9 of a gap of 40 = 0.225 normalised; each starting repeat lies 9 / 40 = 0.225 from its median
    report = _report(load_task("toy_count"), "mini", 2, 1, [[33.0, 51.0]], [[2.0, 2.0]], {}, 1.0, save=True)
    assert not report.ok and report.quality is not None
    assert report.quality.noise == pytest.approx(0.225)
    assert report.quality.spread == pytest.approx(0.225)
    assert report.quality.margin == pytest.approx(1 - 9 / 40)  # worst reference 1.0, best start 0.225
    assert any(p.startswith("noise 0.225 is above the bar 0.1") for p in report.problems), report.problems
    assert not report.saved and "the stored calibration is kept" in report.storage
    assert stored.read_text() == before
    forced = _report(load_task("toy_count"), "mini", 2, 1, [[33.0, 51.0]], [[2.0, 2.0]], {}, 1.0, save=True,
                     force=True)
    assert forced.saved and json.loads(stored.read_text())["noise"] == pytest.approx(9.0)


def test_other_load_is_named_as_the_likely_cause(cache: Path) -> None:
    report = _report(load_task("toy_count"), "mini", 2, 1, [[33.0, 51.0]], [[2.0, 2.0]], {}, 1.0, save=False,
                     other_load=1.6)
    assert report.quality is not None and report.quality.other_load_cores == 1.6
    assert any("other processes kept 1.6 of" in p and "re-run when the machine is idle" in p
               for p in report.problems), report.problems


def test_a_noisier_passing_check_keeps_the_better_stored_one(cache: Path) -> None:
    stored = good_stored()  # noise 0.14 of a gap of 40: 0.0035 normalised
    before = stored.read_text()
    # 41 and 43 around 42: noise sqrt((1 + 1) / 2) = 1 of 40 = 0.025: passes, but is noisier
    report = _report(load_task("toy_count"), "mini", 2, 1, [[41.0, 43.0]], [[2.0, 2.0]], {}, 1.0, save=True)
    assert report.ok and not report.saved and "less noisy" in report.storage
    assert stored.read_text() == before


def test_a_check_that_disagrees_with_the_stored_one_is_not_good_enough(cache: Path) -> None:
    task = load_task("toy_count")
    moved = make_calibration("toy_count", task.spec.version, "mini", [50.0], [2.0], "none", 1.0)
    path = save_calibration(moved)
    # the toy task really scores 42 and 2: normalised with (50, 2), 42 -> (42 - 50) / (2 - 50) = 0.167
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "check", "toy_count", "--repeats", "2",
                           "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["ok"] is False and report["saved"] is False
    assert report["quality"]["starting_vs_stored"] == pytest.approx(8 / 48)
    assert any("disagrees with the stored calibration" in p for p in report["problems"])
    assert json.loads(path.read_text())["starting"] == 50.0  # kept
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "check", "toy_count", "--repeats", "2",
                           "--force"], capture_output=True, text=True, timeout=300)
    assert "calibration: stored (--force)" in proc.stdout, proc.stdout
    assert json.loads(path.read_text())["starting"] == 42.0


def test_a_version_bump_refuses_the_old_calibration(cache: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    good_stored()
    assert load_calibration("toy_count", "mini", version="1") is not None
    bumped = tmp_path / "tasks" / "toy_count"
    shutil.copytree(TOY / "toy_count", bumped)
    spec = bumped / "task.yaml"
    spec.write_text(spec.read_text().replace('version: "1"', 'version: "2"'))
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(bumped.parent))
    task = load_task("toy_count")
    assert task.spec.version == "2"
    assert load_calibration("toy_count", "mini", version="2") is None
    assert calibration_path("toy_count", "mini", "2") != calibration_path("toy_count", "mini", "1")
    message = missing_message("toy_count", "mini", "2")
    assert message == ("toy_count (mini) is version 2; this machine's calibration is of version 1, "
                       "which does not normalise it: run `rdbench check toy_count`")


def test_load_meter_sees_other_processes() -> None:
    # a process this one does not wait for while measuring is "other load": about one core busy
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 3: pass"])
    try:
        time.sleep(0.3)
        meter = LoadMeter()
        time.sleep(1.5)
        other = meter.other_cores()
    finally:
        busy.kill()
        busy.wait()
    assert other is not None and other >= 0.5
