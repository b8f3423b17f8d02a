"""pretrain_transfer: the scorer's checks bite (parameter cap, dtypes, smuggled heads, non-finite values),
the hidden tasks stay out of the agent's reach, the reference's cleaning finds the noise, the reference
beats the start on fresh downstream examples, and a scripted agent runs end to end through the real
sandbox and scorer."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.paths import package_root
from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from rdbench.tasklib import checkpoint, gpt, transfer
from rdbench.tasklib.tokenizer import WordTokenizer
from tests.harness.test_e2e import MODEL, bash, call, tool_outputs
from tests.tasks.scoring import as_dict, score_materialized

TASK = package_root() / "tasks" / "pretrain_transfer"
HIDDEN = ("transfer.py", "pairs.py", "corpus.py", "skills.py", "score.py", "prepare_stats.json")


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return materialize(load_task("pretrain_transfer"), "mini")


def test_spec_and_instructions_render() -> None:
    task = load_task("pretrain_transfer")
    assert task.spec.scoring.direction == "higher" and task.spec.scoring.hide_scorer
    assert "mlrb" in task.spec.tags
    text = (TASK / "instructions.md").read_text()
    for scale in ("mini", "full"):
        s = task.spec.scale(scale)
        rendered = text.format(**s.params, scale=scale, time_budget="2h", cpus=s.cpus, memory_gb=s.memory_gb,
                               gpus=s.gpus)
        assert "disqualifies the run" in rendered and f"at most {s.params['max_params']} parameters" in rendered
        for kind in ("grammaticality", "structural entailment", "subject number", "who did what"):
            assert kind in rendered


def test_assets(mat: Materialized) -> None:
    """The agent gets the raw corpus (one document per line); the tasks and the grammar stay in protected/."""
    lines = (mat.workspace / "data" / "corpus.txt").read_text().splitlines()
    words = sum(len(line.split()) for line in lines)
    params = mat.task.spec.scale("mini").params
    assert params["corpus_words"] <= words < params["corpus_words"] + 1000  # cut after the first document past it
    assert len(set(lines)) < 0.9 * len(lines)  # duplicates are part of the noise
    names = {p.name for p in mat.workspace.rglob("*")}
    assert not set(HIDDEN) & names, names
    assert {"transfer.py", "pairs.py", "corpus.py", "skills.py", "gpt.py", "checkpoint.py"} <= {
        p.name for p in mat.protected.iterdir()}


def _reference_module(mat: Materialized) -> Any:
    spec = importlib.util.spec_from_file_location("pt_reference_train", TASK / "reference" / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(mat.workspace))  # its `from gpt import ...`
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(mat.workspace))
        sys.modules.pop("gpt", None)
    return module


def test_the_reference_cleaning_finds_the_noise(mat: Materialized) -> None:
    """The reference's corpus-only heuristics drop every junk, duplicate and foreign document they
    should (ground truth from the generator) and upweight the restated documents."""
    params = mat.task.spec.scale("mini").params
    docs = transfer.noisy_documents(int(params["corpus_words"]), int(params["corpus_seed"]))
    kind = {" ".join(d.words): d.kind for d in docs}
    kept, _ = _reference_module(mat).clean([" ".join(d.words) for d in docs], WordTokenizer.default().stoi)
    counts = Counter(kind[" ".join(d)] for d in kept)  # weighted: a document counts as often as it is kept
    assert counts["junk"] == counts["foreign"] == 0, counts
    assert counts["restated"] > counts["plain"], counts
    distinct = Counter(kind[text] for text in {" ".join(d) for d in kept})
    assert distinct["duplicate"] <= 12, distinct  # each boilerplate document once at most
    assert distinct["plain"] > 0.95 * Counter(d.kind for d in docs)["plain"], distinct


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
    "over the parameter cap": (lambda mat: _fresh(8, 128, 4), "over the cap"),
    "too wide": (lambda mat: _fresh(1, 256, 4), "of width at most 128"),
    "float16": (_with(lambda c: c.update(model={k: v.half() for k, v in c["model"].items()})), "dtype/shape"),
    "smuggled head": (_with(lambda c: c["model"].update({"cls_head.weight": torch.zeros(2, 128)})),
                      "extra ['cls_head.weight']"),
    "bidirectional": (_with(lambda c: c["config"].update(causal=False)), "causal must be True"),
    "context too short": (_with(lambda c: c["config"].update(block_size=32)), "block_size must be in"),
    "non-finite": (_with(lambda c: c["model"]["blocks.1.attn.qkv.weight"].view(-1)[0].fill_(math.nan)),
                   "non-finite"),
    "untied head": (_with(lambda c: c["model"].update({"head.weight": c["model"]["head.weight"] + 1})), "tied"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_the_checks_refuse(case: str, mat: Materialized) -> None:
    make, needle = RULES[case]
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(needle)):
        checkpoint.check_gpt(make(mat), gpt, _bounds(mat))


def test_the_checks_accept_the_start_and_the_reference(mat: Materialized) -> None:
    """Positive controls for the cases above."""
    for path in (mat.workspace / "model.pt", mat.reference / "model.pt"):
        _, facts = checkpoint.check_gpt(torch.load(path, weights_only=True), gpt, _bounds(mat))
        assert 10_000 < facts["params"] <= _bounds(mat).max_params


def _score(mat: Materialized, model_pt: Path, seed: int, tmp: Path) -> dict[str, Any]:
    ws = tmp / f"ws-{seed}-{model_pt.parent.name}"
    ws.mkdir()
    (ws / "model.pt").write_bytes(model_pt.read_bytes())
    return as_dict(score_materialized(mat, ws, seed=seed))


@pytest.mark.slow
def test_reference_beats_start_on_fresh_examples(mat: Materialized, tmp_path: Path) -> None:
    start = _score(mat, mat.workspace / "model.pt", 1, tmp_path)
    ref = _score(mat, mat.reference / "model.pt", 2, tmp_path)
    assert start["kind"] == ref["kind"] == "scored", (start, ref)
    assert 0.6 < start["value"] < 0.75, start
    assert ref["value"] > start["value"] + 0.1, (start, ref)  # about 0.15 apart in two checks
    assert set(ref["details"]["accuracy"]) == set(transfer.TASKS)
    # pretraining shows most where the model's own predictions matter: grammaticality
    assert ref["details"]["accuracy"]["grammaticality"] > start["details"]["accuracy"]["grammaticality"] + 0.1


@pytest.mark.slow
def test_from_the_sandbox(mat: Materialized, tmp_path: Path) -> None:
    """A scripted agent: it cannot find the downstream tasks or the scorer, its tools work, and the real
    scorer accepts the start and refuses a link and an oversized model."""
    # networkx (in the task environment) has an unrelated algorithms/assortativity/pairs.py, the
    # Google Cloud SDK unrelated transfer.py files
    script = [
        bash("ls data; find / \\( -name transfer.py -o -name pairs.py -o -name corpus.py -o -name skills.py "
             "-o -name score.py -o -name prepare_stats.json \\) -not -path '/proc/*' "
             "-not -path '*/site-packages/networkx/*' -not -path '/usr/lib/google-cloud-sdk/*' 2>/dev/null | head -5; ls /opt/rdbench/protected 2>&1; echo END"),
        bash("python evaluate.py"),
        call("score"),
        bash("python train.py --layers 8 --width 128 --heads 4 --steps 1 --out model.pt > /dev/null; echo trained"),
        call("score"),
        bash("mv model.pt big.pt && ln -s big.pt model.pt"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    model = get_model(MODEL, custom_outputs=script)
    [log] = inspect_eval(make_task("pretrain_transfer", budget="15m"), model=model, log_dir=str(tmp_path),
                         display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    listing = outputs[0].split("END")[0]
    assert "corpus.txt" in listing
    for hidden in HIDDEN:
        assert hidden not in listing, outputs[0]
    assert "parameters; 2 layers of width 64" in outputs[1] and "next-word loss" in outputs[1]
    assert "mean accuracy" in outputs[2] and "who_did_what" in outputs[2]
    assert "over the cap" in outputs[4]
    assert "links are refused" in outputs[6]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    values = [e["value"] for e in record["score_log"] if e["source"] == "agent"]
    assert len(values) == 3 and values[1:] == [None, None] and 0.6 < values[0] < 0.75, record["score_log"]
