"""``rdbench run`` warns before a task this machine has no calibration of, or calibrates it first."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbench.cli.run import _calibrations
from rdbench.scoring.calibration import load_calibration

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"


def test_run_warns_or_calibrates_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    monkeypatch.setenv("RDBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _calibrations(["toy_count"], "mini", {}, calibrate=False, gpus=None)
    err = capsys.readouterr().err
    assert ("warning: toy_count (mini) has no calibration on this machine: run `rdbench check toy_count` "
            "(or add --calibrate)") in err
    assert load_calibration("toy_count", "mini", version="1") is None
    _calibrations(["toy_count"], "mini", {}, calibrate=True, gpus=None)
    calibration = load_calibration("toy_count", "mini", version="1")
    assert calibration is not None and (calibration.starting, calibration.reference) == (42.0, 2.0)
    assert "calibrating it first" in capsys.readouterr().err
    _calibrations(["toy_count"], "mini", {}, calibrate=False, gpus=None)  # calibrated now: silent
    assert "warning" not in capsys.readouterr().err
