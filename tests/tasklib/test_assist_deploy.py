"""get_it_running's repositories (rdbench.tasklib.assist.deploy): every fault kind of the catalogue
shows its symptom alone on one sweep and the reference fix restores the clean results; the
retry-and-regex baseline fixes crashes and misses silent faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rdbench.tasklib.assist import baselines, deploy
from tests.tasks.modules import load_module

GENERATE = load_module(Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "get_it_running" / "generate.py")
SWEEP = deploy.Sweep((2, 16, 64), lr=0.1, batch_size=64, epochs=8)


@pytest.fixture(scope="module")
def clean() -> tuple[dict[str, str], list[dict[str, Any]], str]:
    files = deploy.clean_repo(SWEEP)
    runs = GENERATE._runs(files, GENERATE.SEEDS)
    assert all(r["ok"] for r in runs), runs[0]["stderr"]
    winner = max(SWEEP.configs(), key=lambda name: sum(r["results"]["best"] == name for r in runs))
    return files, runs, winner


def test_every_fault_kind_shows_its_symptom_alone_and_the_reference_fix_restores(
        clean: tuple[dict[str, str], list[dict[str, Any]], str]) -> None:
    files, runs, winner = clean
    assert len(deploy.KINDS) == 12 and set(deploy.SILENT) < set(deploy.KINDS)
    for kind in deploy.KINDS:
        faulty = dict(files)
        fault = deploy.inject(faulty, kind, winner if kind in deploy.SILENT else "w2")
        assert faulty != files and fault.file in faulty, kind
        assert GENERATE.symptom(kind, runs, faulty) is None, kind
        if kind in deploy.CRASHES:  # the recorded line is where the fault is (or the gap it left)
            assert 1 <= fault.line <= len(faulty[fault.file].splitlines()) + 1, fault
        reference = deploy.fixed(faulty, [fault], files)
        assert GENERATE.reference_problem(reference, runs) is None, kind


def test_validation_rejects_faults_without_their_symptom(
        clean: tuple[dict[str, str], list[dict[str, Any]], str]) -> None:
    files, runs, winner = clean
    # the clean repository, claimed to carry a fault: no crash, no move
    assert "ended fine" in str(GENERATE.symptom("wrong_path", runs, files))
    assert "within the clean spread" in str(GENERATE.symptom("lr_string", runs, files))
    # a crash of another class than the kind's
    device = dict(files)
    deploy.inject(device, "device_mismatch", "w2")
    assert "ended RuntimeError" in str(GENERATE.symptom("missing_env_var", runs, device))
    # a silent kind whose repository crashes is no silent fault
    assert "crashed" in str(GENERATE.symptom("zero_epochs", runs, device))
    # a reference fix that does not restore the clean numbers, a fault set with no effect
    slow = dict(files)
    deploy.inject(slow, "lr_string", winner)
    assert "does not reproduce" in str(GENERATE.reference_problem(slow, runs))
    assert "no visible effect" in str(GENERATE.together_problem(files, runs))
    assert GENERATE.together_problem(slow, runs) is None
    # moved(): a run within the clean spread is not moved; one with the winner's accuracy off is
    same = {"ok": True, "results": runs[0]["results"]}
    assert not GENERATE.moved(runs, same)
    off = {"ok": True, "results": {**runs[0]["results"],
                                   "all": {**runs[0]["results"]["all"], "w2": runs[0]["results"]["all"]["w2"] - 0.2}}}
    assert GENERATE.moved(runs, off)


def test_the_retry_fixer_fixes_crashes_and_misses_silent_faults(
        clean: tuple[dict[str, str], list[dict[str, Any]], str]) -> None:
    files, runs, winner = clean
    crashing = dict(files)
    for kind, target in (("working_dir", winner), ("oom_batch", "w16"), ("missing_prepared_file", winner)):
        deploy.inject(crashing, kind, target)
    fixed, report = baselines.retry_fixer(crashing)
    assert {(r["file"], r["kind"]) for r in report} == {
        ("run.sh", "working_dir"), ("configs/w16.json", "oom_batch"), ("run.sh", "missing_prepared_file")}
    assert deploy.run(fixed, 0)["results"] == runs[0]["results"]  # the batch size restored from the others
    silent = dict(files)
    deploy.inject(silent, "eval_on_train", winner)
    assert baselines.retry_fixer(silent) == (silent, [])
