"""compress_model: only structural cuts load; the size comes from shapes and dtypes and the budget
bites; low rank and sharing are counted as they are; the reference beats the start; a scripted agent
runs end to end through the real sandbox and scorer."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rdbench_scorer as rs
import torch

from rdbench.paths import package_root
from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from tests.harness.test_e2e import bash, call
from tests.tasks.modules import load_module
from tests.tasks.scoring import as_dict, score_materialized
from tests.tasks.scripted import run_script

TASK = package_root() / "tasks" / "compress_model"
OFFSET = 2.2


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return materialize(load_task("compress_model"), "mini")


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return load_module(TASK / "protected" / "score.py", "compress_model_score", register=True)


def _params(mat: Materialized, seed: int = 0) -> dict[str, Any]:
    return {**mat.task.spec.scale("mini").params, "seed": seed, "scale": "mini"}


def _in_process(scorer: ModuleType, mat: Materialized, ckpt: Any, tmp: Path) -> dict[str, Any]:
    """The scorer's checks on a checkpoint, called directly (cheap; the sandboxed path is tested below)."""
    torch.save(ckpt, tmp / "model.pt")
    try:
        result: dict[str, Any] = scorer.score(tmp, mat.protected, _params(mat))
        return result
    except rs.Invalid as error:
        return {"kind": "invalid", "message": error.message}


def _load(path: Path) -> dict[str, Any]:
    ckpt: dict[str, Any] = torch.load(path, weights_only=True)
    return ckpt


def test_spec_and_instructions_render() -> None:
    task = load_task("compress_model")
    assert task.spec.scoring.direction == "lower" and "mlrb" in task.spec.tags
    text = (TASK / "instructions.md").read_text()
    for scale in ("mini", "full"):
        s = task.spec.scale(scale)
        rendered = text.format(**s.params, scale=scale, time_budget="2h", cpus=s.cpus, memory_gb=s.memory_gb,
                               gpus=s.gpus)
        assert "40% of its bytes" in rendered and "distillation" in rendered and "disqualifies the run" in rendered


def test_assets(mat: Materialized) -> None:
    task = json.loads((mat.workspace / "task.json").read_text())
    base = _load(mat.workspace / "base.pt")
    assert all(t.dtype == torch.float16 for t in base["model"].values())
    assert task["base_bytes"] == 2 * sum(t.numel() for t in base["model"].values())
    assert task["budget_bytes"] == int(0.4 * task["base_bytes"])
    assert len((mat.workspace / "data" / "calibration.txt").read_text().split()) < 5000
    assert not {"test_ids.npy", "base_config.json"} & {p.name for p in mat.workspace.rglob("*")}


def _base(mat: Materialized) -> dict[str, Any]:
    return _load(mat.workspace / "base.pt")


def _start(mat: Materialized) -> dict[str, Any]:
    return _load(mat.workspace / "model.pt")


def _int8(mat: Materialized) -> dict[str, Any]:
    base = _base(mat)
    base["model"] = {k: (v.float() * 20).round().to(torch.int8) for k, v in base["model"].items()}
    return base


def _sparse(mat: Materialized) -> dict[str, Any]:
    base = _base(mat)
    base["model"] = {k: v.to_sparse() if v.dim() == 2 else v for k, v in base["model"].items()}
    return base


def _grown(mat: Materialized) -> dict[str, Any]:
    start = _start(mat)
    layer = start["config"]["layers"][0]
    base_hidden = _base(mat)["config"]["layers"][0]["hidden"]
    layer["hidden"] = base_hidden + 8
    dim = start["config"]["dim"]
    start["model"]["layers.0.gate.weight"] = torch.zeros(base_hidden + 8, dim, dtype=torch.float16)
    start["model"]["layers.0.up.weight"] = torch.zeros(base_hidden + 8, dim, dtype=torch.float16)
    start["model"]["layers.0.down.weight"] = torch.zeros(dim, base_hidden + 8, dtype=torch.float16)
    return start


def _edited(fn: Callable[[dict[str, Any]], object]) -> Callable[[Materialized], dict[str, Any]]:
    def make(mat: Materialized) -> dict[str, Any]:
        ckpt = _start(mat)
        fn(ckpt)
        return ckpt
    return make


RULES: dict[str, tuple[Callable[[Materialized], dict[str, Any]], str]] = {
    "the given model (over budget)": (_base, "over the budget"),
    "the start in float32 (over budget)": (_edited(lambda c: c.update(model={k: v.float() for k, v in c["model"].items()})),
                                            "over the budget"),
    "int8 quantised": (_int8, "float16 or float32"),
    "bfloat16": (_edited(lambda c: c.update(model={k: v.bfloat16() for k, v in c["model"].items()})),
                 "float16 or float32"),
    "sparse": (_sparse, "not a plain dense tensor"),
    "extra tensor": (_edited(lambda c: c["model"].update({"stash": torch.zeros(4, dtype=torch.float16)})),
                     "extra ['stash']"),
    "missing tensor": (_edited(lambda c: c["model"].pop("norm.weight")), "missing ['norm.weight']"),
    "grown layer": (_grown, "more heads or MLP units"),
    "other width": (_edited(lambda c: c["config"].update(dim=64)), "dim must stay"),
    "shape that lies": (_edited(lambda c: c["model"].update({"layers.0.up.weight": c["model"]["layers.0.up.weight"][:-1]})),
                        "layers.0.up.weight: dtype/shape"),
    "non-finite": (_edited(lambda c: c["model"]["norm.weight"].fill_(math.nan)), "non-finite"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_only_cuts_within_the_budget_load(case: str, mat: Materialized, scorer: ModuleType, tmp_path: Path) -> None:
    make, needle = RULES[case]
    result = _in_process(scorer, mat, make(mat), tmp_path)
    assert result["kind"] == "invalid" and needle in result["message"], result


def test_low_rank_and_sharing_are_counted_as_they_are(mat: Materialized, scorer: ModuleType, tmp_path: Path) -> None:
    """The base with every attention projection at rank 4 and layers 2 and 3 sharing layer 1's weights:
    accepted, and its size is exactly the elements it holds."""
    base = _base(mat)
    config, state = base["config"], dict(base["model"])
    for i in (0, 1):
        config["layers"][i]["ranks"] = {"q": 4, "k": 4, "v": 4, "o": 4}
        for name in ("q", "k", "v", "o"):
            w = state.pop(f"layers.{i}.{name}.weight").float()
            u, s, vh = torch.linalg.svd(w, full_matrices=False)
            state[f"layers.{i}.{name}.A"] = vh[:4].half()
            state[f"layers.{i}.{name}.B"] = (u[:, :4] * s[:4]).half()
    for i in (2, 3):  # a sharing layer has its owner's shape, ranks included, and no tensors of its own
        config["layers"][i].update(share=1, ranks=dict(config["layers"][1]["ranks"]))
        state = {k: v for k, v in state.items() if not k.startswith(f"layers.{i}.")}
    result = _in_process(scorer, mat, {"config": config, "model": state}, tmp_path)
    assert result["kind"] == "scored", result
    assert result["details"]["bytes"] == 2 * sum(t.numel() for t in state.values())
    assert result["details"]["bytes"] <= result["details"]["budget_bytes"]


def _sandbox(mat: Materialized, model_pt: Path, seed: int, tmp: Path) -> dict[str, Any]:
    ws = tmp / f"ws-{seed}-{model_pt.parent.name}"
    ws.mkdir()
    (ws / "model.pt").write_bytes(model_pt.read_bytes())
    return as_dict(score_materialized(mat, ws, seed=seed))


@pytest.mark.slow
def test_reference_beats_start(mat: Materialized, tmp_path: Path) -> None:
    start = _sandbox(mat, mat.workspace / "model.pt", 1, tmp_path)
    ref = _sandbox(mat, mat.reference / "model.pt", 2, tmp_path)
    ref_again = _sandbox(mat, mat.reference / "model.pt", 3, tmp_path)
    assert start["kind"] == ref["kind"] == "scored", (start, ref)
    ts, tr = math.log(start["value"] - OFFSET), math.log(ref["value"] - OFFSET)
    assert tr < ts - 0.3, (start["value"], ref["value"])
    assert ref["details"]["bytes"] <= ref["details"]["budget_bytes"]
    # other windows each call, the same model scores about the same
    assert abs(math.log(ref_again["value"] - OFFSET) - tr) < 0.05 * (ts - tr), (ref["value"], ref_again["value"])


@pytest.mark.slow
def test_from_the_sandbox(mat: Materialized, tmp_path: Path) -> None:
    """A scripted agent cannot find the hidden test text; the real scorer refuses the given model (over
    budget) and a link, and scores the start."""
    script = [
        bash("ls; find / \\( -name test_ids.npy -o -name base_config.json \\) -not -path '/proc/*' 2>/dev/null "
             "| head -5; ls /opt/rdbench/protected 2>&1; echo END"),
        bash("python evaluate.py"),
        call("score"),
        bash("cp model.pt start.pt && cp base.pt model.pt"),
        call("score"),
        bash("rm model.pt && ln -s start.pt model.pt"),
        call("score"),
    ]
    run = run_script("compress_model", script, tmp_path, budget="15m")
    outputs = run.outputs
    listing = outputs[0].split("END")[0]
    assert "base.pt" in listing and "test_ids.npy" not in listing and "base_config.json" not in listing, outputs[0]
    assert "valid" in outputs[1] and "calibration loss" in outputs[1]
    assert "hidden-test loss" in outputs[2]
    assert "over the budget" in outputs[4]
    assert "links are refused" in outputs[6]
    values = run.agent_values
    assert len(values) == 3 and values[1:] == [None, None] and 3.0 < values[0] < 4.5, run.score_log
