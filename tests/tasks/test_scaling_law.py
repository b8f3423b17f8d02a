"""scaling_law: the FLOP cap bites (refused, NaN), the real scorer ranks reference over start,
malformed answers are invalid, and the hidden data and sweep are out of the sandbox's reach."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "scaling_law"
PY = sys.executable




@pytest.fixture(scope="module")
def prepared() -> Materialized:
    """The task's real prepared folders (prepare.py runs once and is cached)."""
    return materialize(load_task(TASK), "mini")


@pytest.fixture(scope="module")
def config(prepared: Materialized) -> dict[str, Any]:
    return json.loads((prepared.protected / "config.json").read_text())  # type: ignore[no-any-return]


def _score(ws: Path, protected: Path, seed: int = 0) -> dict[str, Any]:
    """Through the real scoring sandbox, with ``protected``'s folder as the materialised task."""
    return score_root("scaling_law", protected.parent, ws, seed=seed)


def _workspace(tmp: Path, prepared: Materialized, reference: bool) -> Path:
    ws = tmp / ("ref" if reference else "start")
    shutil.copytree(prepared.workspace, ws)
    if reference:
        shutil.copytree(prepared.reference, ws, dirs_exist_ok=True)
    return ws


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def test_spec() -> None:
    spec = load_task(TASK).spec
    assert [s.name for s in spec.services] == ["experiment"]
    scoring = spec.scoring
    assert (scoring.direction, scoring.transform, scoring.aggregation, scoring.visible) == (
        "higher", "none", "final", False)
    for scale in ("mini", "full"):
        params = spec.scale(scale).params
        assert float(params["target_flops"]) >= 10 * float(params["max_experiment_flops"])


def test_flops_count_matches_the_model(prepared: Materialized, config: dict[str, Any]) -> None:
    """The service's FLOP count is gpt.train_flops on the real model's parameter count."""
    from rdbench.tasklib.gpt import GPT, train_flops

    exp = _module(prepared.protected / "experiment.py", "sl_exp_test")
    for width in (8, 24, 64, 256):
        model = GPT(exp.model_config(width, config))
        assert model.num_params() == exp.n_params(width, config)
        tokens = 7 * config["batch_size"] * config["block_size"]
        assert exp.flops(width, 7, config) == train_flops(model.cfg, model.num_params(), tokens)
    # the agent's copy is the protected one (it reads exactly what the service runs)
    assert (prepared.workspace / "experiment.py").read_bytes() == (prepared.protected / "experiment.py").read_bytes()


def test_over_budget_experiment_is_refused_with_nan(prepared: Materialized, config: dict[str, Any]) -> None:
    svc = _module(TASK / "protected" / "experiment_service.py", "sl_service_test")
    exp = svc._experiment_module(prepared.protected)
    cap = config["max_experiment_flops"]
    steps = int(cap // exp.flops(64, 1, config)) + 1  # one step over the cap
    state: dict[str, Any] = {}
    reply = svc.handle({"width": 64, "steps": steps}, prepared.protected, {}, state)
    assert reply["exit_code"] == 1 and "val_loss: nan" in reply["output"], reply
    assert "per-experiment cap" in reply["output"]
    assert state["flops_used"] == 0.0 and state["ledger"][-1]["refused"] is True
    assert _is_nan(state["ledger"][-1]["val_loss"])
    # within the cap but past the run's total: also refused, nothing charged
    state["flops_used"] = config["total_experiment_flops"] - 1e9
    reply = svc.handle({"width": 64, "steps": steps - 1}, prepared.protected, {}, state)
    assert reply["exit_code"] == 1 and "val_loss: nan" in reply["output"] and "total budget" in reply["output"]
    assert state["flops_used"] == config["total_experiment_flops"] - 1e9
    bad = svc.handle({"width": 60, "steps": 10}, prepared.protected, {}, {})
    assert bad["exit_code"] == 2 and "multiple of" in bad["output"]


def test_experiment_runs_and_is_charged(prepared: Materialized, config: dict[str, Any]) -> None:
    svc = _module(TASK / "protected" / "experiment_service.py", "sl_service_run")
    state: dict[str, Any] = {}
    reply = svc.handle({"width": "16", "steps": "20", "seed": "1"}, prepared.protected, {}, state)
    assert reply["exit_code"] == 0, reply
    loss = float(reply["output"].split("val_loss: ")[1].split()[0])
    assert 2.0 < loss < math.log(144) + 0.5  # 20 steps: well above the floor, near the unigram loss
    exp = svc._experiment_module(prepared.protected)
    assert state["flops_used"] == exp.flops(16, 20, config)
    ledger = svc.handle({"ledger": True}, prepared.protected, {}, state)["output"]
    assert "width 16 steps 20 seed 1" in ledger and f"{loss:.5f}" in ledger


def test_sweep_matches_the_task(prepared: Materialized, config: dict[str, Any]) -> None:
    sweep = json.loads((TASK / "protected" / "sweep_mini.json").read_text())
    prep = _module(TASK / "prepare.py", "sl_prepare_test")
    assert sweep["data_sha256"] == prep.data_hashes(prepared.protected / "data")
    cells = sweep["budgets"][f"{config['target_flops']:.4g}"]
    assert sorted(int(w) for w in cells) == sorted(config["answer_widths"])
    exp = _module(prepared.protected / "experiment.py", "sl_exp_sweep")
    for w, cell in cells.items():
        assert cell["steps"] == int(config["target_flops"] // exp.flops(int(w), 1, config))
        assert len(cell["losses"]) == 2 and cell["mean"] == pytest.approx(sum(cell["losses"]) / 2)
        assert config["entropy_floor"] < cell["mean"] < math.log(144)
    means = {int(w): c["mean"] for w, c in cells.items()}
    best = min(means, key=means.__getitem__)
    assert min(config["answer_widths"]) < best < max(config["answer_widths"])  # an interior optimum


@pytest.mark.slow
def test_reference_beats_start(tmp_path: Path, prepared: Materialized) -> None:
    start = _score(_workspace(tmp_path, prepared, False), prepared.protected, seed=1)
    ref = _score(_workspace(tmp_path, prepared, True), prepared.protected, seed=2)
    assert start["value"] == start["value"] and ref["value"] == ref["value"], (start, ref)
    assert ref["value"] >= start["value"] + 0.15, (start, ref)
    assert ref["value"] > 0.95 and ref["details"]["regret"] == 0.0, ref
    assert start["details"]["regret"] > 0.0


def test_malformed_or_over_budget_answers_are_invalid(tmp_path: Path, prepared: Materialized,
                                                      config: dict[str, Any]) -> None:
    ws = _workspace(tmp_path, prepared, False)
    answer = json.loads((ws / "answer.json").read_text())
    exp = _module(prepared.protected / "experiment.py", "sl_exp_bad")
    full = int(config["target_flops"] // exp.flops(answer["n_embd"], 1, config))
    assert answer["steps"] == full
    bad: list[Any] = [
        "not json",
        [1, 2],
        {**answer, "loss": None},
        {**answer, "loss": "NaN"},
        {**answer, "n_embd": True},
        {**answer, "n_embd": 40},  # a width the sweep does not have
        {**answer, "steps": full + 1},  # over the target budget
        {**answer, "steps": full // 2},  # wastes half the budget
    ]
    for item in bad:
        (ws / "answer.json").write_text(item if isinstance(item, str) else json.dumps(item))
        result = _score(ws, prepared.protected)
        assert _is_nan(result["value"]), (item, result)
    (ws / "answer.json").write_text(json.dumps({**answer, "loss": 2.5}))
    assert not _is_nan(_score(ws, prepared.protected)["value"])
    # links are refused: a symlink, and a hard link to a file outside the workspace
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(answer))
    (ws / "answer.json").unlink()
    (ws / "answer.json").symlink_to(outside)
    assert _is_nan(_score(ws, prepared.protected)["value"])
    (ws / "answer.json").unlink()
    os.link(outside, ws / "answer.json")
    assert _is_nan(_score(ws, prepared.protected)["value"])


@pytest.mark.slow
def test_from_the_sandbox_cap_bites_and_hidden_data_unreachable(tmp_path: Path, prepared: Materialized,
                                                                config: dict[str, Any]) -> None:
    """Through the real sandbox and host call: an over-cap experiment prints NaN and fails, a small one
    runs and is charged, the hidden data and sweep are nowhere in the sandbox, and the final answer
    is scored by the real scorer."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    probe = ("ls /opt/rdbench/protected 2>&1 | head -2; ls data 2>&1; "
             "find / -path /proc -prune -o \\( -name 'sweep_*.json' -o -name 'train.npy' \\) -print "
             "2>/dev/null | head -3; echo PROBE_DONE")
    ref_answer = (prepared.reference / "answer.json").read_text().strip()
    script = [
        bash(probe),
        bash("experiment --width 64 --steps 100000; echo EXIT=$?"),
        bash("experiment --width 8 --steps 12; echo EXIT=$?"),
        bash("experiment --ledger; python experiment.py --flops --width 8 --steps 12"),
        bash(f"echo '{ref_answer}' > answer.json && python check_answer.py"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    [log] = inspect_eval(make_task("scaling_law", budget="5m"), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "PROBE_DONE" in outputs[0] and "No such file" in outputs[0]
    assert "sweep_" not in outputs[0] and "train.npy" not in outputs[0]
    assert "val_loss: nan" in outputs[1] and "refused" in outputs[1] and "EXIT=0" not in outputs[1]
    assert "val_loss: " in outputs[2] and "EXIT=0" in outputs[2] and "nan" not in outputs[2]
    exp = _module(prepared.protected / "experiment.py", "sl_exp_e2e")
    cost = exp.flops(8, 12, config)
    assert f"compute used {cost:.4g}" in outputs[3]
    assert "refused" in outputs[3] and f"{cost:.4g} FLOPs (within" in outputs[3]
    assert "valid (format and budget)" in outputs[4]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    expected = _score(_workspace(tmp_path, prepared, True), prepared.protected)["value"]
    assert record["raw_score"] == pytest.approx(expected)
    assert record["score_log"][-1]["source"] == "final"


@pytest.mark.slow  # prepares the full scale's data (20M tokens: about 2 minutes of one core)
def test_full_scale_answers_score_against_the_generated_sweep(tmp_path: Path) -> None:
    """The full sweep (generated on a GPU) ships with the task, matches the full scale's data and
    settings, and full-scale answers score: the best width with an exact prediction gets 1, the start
    less, a width off the list is invalid."""
    task = load_task("scaling_law")
    mat = materialize(task, "full")
    sweep = json.loads((mat.protected / "sweep_full.json").read_text())
    cells = sweep["budgets"][f"{float(sweep['config']['target_flops']):.4g}"]
    means = {int(w): c["mean"] for w, c in cells.items()}
    assert sorted(means) == task.spec.scale("full").params["answer_widths"]
    best = min(means, key=lambda w: means[w])
    exp = _module(mat.protected / "experiment.py", "sl_exp_full")
    config = json.loads((mat.protected / "config.json").read_text())
    steps = int(config["target_flops"] // exp.flops(best, 1, config))
    ws = tmp_path / "ws"
    shutil.copytree(mat.workspace, ws)
    (ws / "answer.json").write_text(json.dumps({"n_embd": best, "steps": steps, "loss": means[best]}))
    perfect = score_root("scaling_law", mat.root, ws, scale="full")
    assert perfect["kind"] == "scored" and perfect["value"] == pytest.approx(1.0), perfect
    start = score_root("scaling_law", mat.root, mat.workspace, scale="full")
    assert start["kind"] == "scored" and 0 < start["value"] < perfect["value"] - 0.05, start
    (ws / "answer.json").write_text(json.dumps({"n_embd": 24, "steps": steps, "loss": 2.3}))
    off = score_root("scaling_law", mat.root, ws, scale="full")
    assert off["kind"] == "invalid" and "must be one of" in off["message"], off
