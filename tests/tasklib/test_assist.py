"""Shared assist generator: clean scripts run, refactors preserve behaviour, bugs move the metric."""

import random
from pathlib import Path

import pytest

from rdbench.tasklib.assist import baselines, faults, runner, scripts


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDBENCH_ASSIST_CACHE", str(tmp_path / "cache"))


def test_clean_script_deterministic_and_refactors_preserve() -> None:
    src = scripts.render(scripts.draw_config(random.Random(3)))
    spread = runner.clean_spread(src)
    assert len(spread) == 3 and all(0.0 < m < 1.2 for m in spread)
    # Fresh namespace, same seed: identical metric (the runner is not fooled by its cache here).
    assert runner.run_script(src + "\n# rerun\n", 0) == spread[0]
    for refactor in faults.REFACTORS:
        new, lines = faults.apply(src, refactor)
        assert new != src and lines
        assert not runner.validate(src, new).kept, refactor.kind


def test_bugs_change_behaviour_and_labels_point_at_edits() -> None:
    src = scripts.render(scripts.draw_config(random.Random(3)))
    kept = 0
    for bug in faults.BUGS:
        mutant, lines = faults.apply(src, bug)
        assert mutant != src
        old, new = src.splitlines(), mutant.splitlines()
        if bug.delete is None:
            assert all(old[n - 1] != new[n - 1] for n in lines), bug.kind
        check = runner.validate(src, mutant)
        kept += check.kept
        if check.kept:
            lo, hi = min(check.clean), max(check.clean)
            assert all(m is None or not lo <= m <= hi for m in check.mutant)
    assert kept >= 6  # most bug types are detectable on this script; weak ones are rejected


def test_crashing_mutant_rejected() -> None:
    src = scripts.render(scripts.draw_config(random.Random(0)))
    check = runner.validate(src, src.replace("opt.step()", "opt.stepp()"))
    assert not check.kept and check.reason == "mutant crashed"


def test_lint_baseline_finds_pattern_bugs_and_passes_clean() -> None:
    src = scripts.render(scripts.draw_config(random.Random(0)))
    assert baselines.lint_find_bug(src)["buggy"] is False
    for kind in ("softmax_wrong_dim", "missing_zero_grad", "step_before_backward"):
        mutant, lines = faults.apply(src, faults.bug(kind))
        answer = baselines.lint_find_bug(mutant)
        assert answer["type"] == kind and answer["lines"][0] in lines
