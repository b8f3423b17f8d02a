"""babylm_pairs: the scorer's checks bite (parameter cap, dtypes, extra modules, bidirectional models),
the hidden grammar stays out of the agent's reach, the reference beats the start on fresh pairs, and a
scripted agent runs end to end through the real sandbox and scorer."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from rdbench.paths import package_root
from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from rdbench.tasklib import checkpoint, gpt
from tests.harness.test_e2e import bash, call
from tests.tasks.scoring import as_dict, score_materialized
from tests.tasks.scripted import run_script

TASK = package_root() / "tasks" / "babylm_pairs"
HIDDEN = ("pairs.py", "corpus.py", "score.py", "prepare_stats.json")


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return materialize(load_task("babylm_pairs"), "mini")


def test_spec_and_instructions_render() -> None:
    task = load_task("babylm_pairs")
    assert task.spec.scoring.direction == "higher" and task.spec.scoring.hide_scorer
    assert "mlrb" in task.spec.tags
    text = (TASK / "instructions.md").read_text()
    for scale in ("mini", "full"):
        s = task.spec.scale(scale)
        rendered = text.format(**s.params, scale=scale, time_budget="2h", cpus=s.cpus, memory_gb=s.memory_gb,
                               gpus=s.gpus)
        assert "disqualifies the run" in rendered and f"at most {s.params['max_params']} parameters" in rendered


def test_assets(mat: Materialized) -> None:
    """The agent gets the corpus, dev text and example pairs; the grammar stays in protected/."""
    words = (mat.workspace / "data" / "train.txt").read_text().split()
    params = mat.task.spec.scale("mini").params
    # generated in chunks of 256 sentences: at most one chunk (a few thousand words) over
    assert params["train_words"] <= len(words) < params["train_words"] * 1.02
    names = {p.name for p in mat.workspace.rglob("*")}
    assert not set(HIDDEN) & names, names
    assert {"corpus.py", "pairs.py", "gpt.py", "checkpoint.py"} <= {p.name for p in mat.protected.iterdir()}
    examples = [json.loads(line) for line in (mat.workspace / "data" / "example_pairs.jsonl").read_text().splitlines()]
    assert {e["phenomenon"] for e in examples} == {
        "local_agreement", "across_relative_clause", "attractor", "inside_relative_clause", "conjoined_verbs",
        "determiner_noun", "missing_object", "lexical_preference"}


def _bounds(mat: Materialized) -> checkpoint.GPTBounds:
    p = mat.task.spec.scale("mini").params
    return checkpoint.GPTBounds(vocab_size=144, max_params=p["max_params"], min_block=p["min_block"],
                                max_block=p["max_block"], max_layers=p["max_layers"], max_width=p["max_width"])


def _start(mat: Materialized) -> dict[str, Any]:
    ckpt: dict[str, Any] = torch.load(mat.workspace / "model.pt", weights_only=True)
    return ckpt


def _fresh(layers: int, width: int, heads: int, block: int = 64) -> dict[str, Any]:
    cfg = gpt.GPTConfig(vocab_size=144, block_size=block, n_layer=layers, n_head=heads, n_embd=width)
    return {"config": cfg.to_dict(), "model": gpt.GPT(cfg).state_dict()}


def _with(edit: Callable[[dict[str, Any]], object]) -> Callable[[Materialized], dict[str, Any]]:
    def make(mat: Materialized) -> dict[str, Any]:
        ckpt = _start(mat)
        edit(ckpt)
        return ckpt
    return make


RULES: dict[str, tuple[Callable[[Materialized], dict[str, Any]], str]] = {
    "over the parameter cap": (lambda mat: _fresh(4, 256, 4), "over the cap"),
    "float16": (_with(lambda c: c.update(model={k: v.half() for k, v in c["model"].items()})), "dtype/shape"),
    "quantised": (_with(lambda c: c["model"].update({"ln_f.weight": torch.quantize_per_tensor(
        c["model"]["ln_f.weight"], 0.1, 0, torch.qint8)})), "not a plain dense tensor"),
    "extra module": (_with(lambda c: c["model"].update({"extra.weight": torch.zeros(2, 2)})), "extra ['extra.weight']"),
    "missing tensor": (_with(lambda c: c["model"].pop("ln_f.bias")), "missing ['ln_f.bias']"),
    "bidirectional": (_with(lambda c: c["config"].update(causal=False)), "causal must be True"),
    "context too short": (_with(lambda c: c["config"].update(block_size=16)), "block_size must be in"),
    "other vocabulary": (_with(lambda c: c["config"].update(vocab_size=200)), "vocab_size must be 144"),
    "unknown config key": (_with(lambda c: c["config"].update(rotary=True)), "config keys must be exactly"),
    "untied head": (_with(lambda c: c["model"].update({"head.weight": c["model"]["head.weight"] + 1})), "tied"),
    "non-finite": (_with(lambda c: c["model"]["wpe.weight"].view(-1)[0].fill_(math.inf)), "non-finite"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_the_checks_refuse(case: str, mat: Materialized) -> None:
    make, needle = RULES[case]
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(needle)):
        checkpoint.check_gpt(make(mat), gpt, _bounds(mat))


def test_the_checks_accept_the_start_and_count_every_parameter(mat: Materialized) -> None:
    """Positive control for the cases above; the count includes position embeddings, the head once."""
    model, facts = checkpoint.check_gpt(_start(mat), gpt, _bounds(mat))
    assert facts["params"] == sum(p.numel() for p in model.parameters())
    assert facts["params"] == sum(t.numel() for k, t in _start(mat)["model"].items() if k != "head.weight")


def _score(mat: Materialized, model_pt: Path, seed: int, tmp: Path) -> dict[str, Any]:
    ws = tmp / f"ws-{seed}-{model_pt.parent.name}"
    ws.mkdir()
    (ws / "model.pt").write_bytes(model_pt.read_bytes())
    return as_dict(score_materialized(mat, ws, seed=seed))


@pytest.mark.slow
def test_reference_beats_start_on_fresh_pairs(mat: Materialized, tmp_path: Path) -> None:
    start = _score(mat, mat.workspace / "model.pt", 1, tmp_path)
    ref = _score(mat, mat.reference / "model.pt", 2, tmp_path)
    ref_again = _score(mat, mat.reference / "model.pt", 3, tmp_path)
    assert start["kind"] == ref["kind"] == "scored", (start, ref)
    assert 0.5 < start["value"] < 0.75, start
    assert ref["value"] > start["value"] + 0.15, (start, ref)
    # below chance where agreement is not local: the small start model follows the nearest noun
    assert start["details"]["accuracy"]["attractor"] < 0.5, start["details"]
    # fresh pairs per call, yet a fixed model's score hardly moves
    assert abs(ref_again["value"] - ref["value"]) < 0.03, (ref, ref_again)
    assert set(ref["details"]["lexical"]) == {"lexical_preference"}


@pytest.mark.slow
def test_from_the_sandbox(mat: Materialized, tmp_path: Path) -> None:
    """A scripted agent: it cannot find the grammar or the scorer, its tools agree with the scorer's
    rules, and the real scorer accepts the start and refuses a link and an oversized model."""
    # networkx (in the task environment) has an unrelated algorithms/assortativity/pairs.py
    script = [
        bash("ls data; find / \\( -name pairs.py -o -name corpus.py -o -name score.py -o -name prepare_stats.json "
             "\\) -not -path '/proc/*' -not -path '*/site-packages/networkx/*' 2>/dev/null | head -5; ls /opt/rdbench/protected 2>&1; echo END"),
        bash("python evaluate.py"),
        call("score"),
        bash("python train.py --layers 4 --width 256 --heads 4 --steps 1 --out model.pt > /dev/null; echo trained"),
        call("score"),
        bash("mv model.pt big.pt && ln -s big.pt model.pt"),
        call("score"),
    ]
    run = run_script("babylm_pairs", script, tmp_path, budget="15m")
    outputs = run.outputs
    listing = outputs[0].split("END")[0]
    assert "train.txt" in listing and "example_pairs.jsonl" in listing
    for hidden in HIDDEN:
        assert hidden not in listing, outputs[0]
    assert "parameters, dev loss" in outputs[1] and "macro accuracy" in outputs[1]
    assert "macro accuracy" in outputs[2] and "attractor" in outputs[2]
    assert "over the cap" in outputs[4]
    assert "links are refused" in outputs[6]
    values = run.agent_values
    assert len(values) == 3 and values[1:] == [None, None] and 0.5 < values[0] < 0.75, run.score_log
