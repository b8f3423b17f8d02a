"""fix_embedding: the real scorer on the starting, reference and original models; invalid submissions;
hidden data out of the agent's reach (through the real sandbox)."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.paths import package_root
from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from tests.harness.test_e2e import MODEL, bash, call, tool_outputs
from tests.tasks.modules import load_module
from tests.tasks.scoring import as_dict, score_materialized

TASK = package_root() / "tasks" / "fix_embedding"
OFFSET = 2.4  # the task's log_offset

def _module_registered(path: Path, name: str) -> ModuleType:
    return load_module(path, name, register=True)





@pytest.fixture(scope="module")
def mat() -> Materialized:
    """The prepared mini task (built once, cached like any run's)."""
    return materialize(load_task("fix_embedding"), "mini")


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return _module_registered(TASK / "protected" / "score.py", "fix_embedding_score")


def _score(model_pt: Path, mat: Materialized, seed: int, tmp: Path) -> dict[str, Any]:
    """Score one checkpoint as model.pt through the real scoring sandbox."""
    ws = tmp / f"ws-{seed}-{model_pt.stem}"
    ws.mkdir()
    (ws / "model.pt").write_bytes(model_pt.read_bytes())
    return as_dict(score_materialized(mat, ws, seed=seed))


def _t(y: float) -> float:
    return math.log(y - OFFSET)


def test_spec_and_instructions_render() -> None:
    task = load_task("fix_embedding")
    assert task.spec.scoring.direction == "lower" and task.spec.scoring.aggregation == "best"
    assert task.spec.scale("full").gpus == 1
    text = (TASK / "instructions.md").read_text()
    for scale in ("mini", "full"):
        s = task.spec.scale(scale)
        rendered = text.format(**s.params, scale=scale, time_budget="2h", cpus=s.cpus,
                               memory_gb=s.memory_gb, gpus=s.gpus)
        assert "disqualifies the run" in rendered and "`score`" in rendered
        assert str(s.params["width"]) in rendered


def test_assets_match_the_instructions(mat: Materialized) -> None:
    """corrupted.pt differs from the hidden original only by a permutation and scaling of wte's rows."""
    orig = torch.load(mat.protected / "original.pt", weights_only=True)
    bad = torch.load(mat.workspace / "corrupted.pt", weights_only=True)
    start = torch.load(mat.workspace / "model.pt", weights_only=True)
    assert bad["config"] == orig["config"] == start["config"]
    for k, t in orig["model"].items():
        assert torch.equal(start["model"][k], bad["model"][k])
        if k not in ("wte.weight", "head.weight"):
            assert torch.equal(bad["model"][k], t), k
    w, c = orig["model"]["wte.weight"], bad["model"]["wte.weight"]
    assert torch.equal(bad["model"]["head.weight"], c)  # tied
    assert not torch.allclose(w, c)
    # every corrupted row is a positive multiple of a distinct original row
    cos = torch.nn.functional.normalize(c, dim=1) @ torch.nn.functional.normalize(w, dim=1).T
    best = cos.argmax(dim=1)
    assert len(set(best.tolist())) == w.shape[0] and bool((cos.max(dim=1).values > 0.9999).all())
    ratio = c.norm(dim=1) / w[best].norm(dim=1)
    assert float(ratio.min()) >= math.exp(-1) - 1e-4 and float(ratio.max()) <= math.exp(1) + 1e-4
    assert int((best != torch.arange(w.shape[0])).sum()) > w.shape[0] // 2
    # the agent's text is little and not the hidden test stream
    train_words = (mat.workspace / "data" / "train.txt").read_text().split()
    assert len(train_words) < 10_000
    vocab = json.loads((mat.workspace / "vocab.json").read_text())["itos"]
    test = np.load(mat.protected / "test_ids.npy")
    probe = " ".join(vocab[int(i)] for i in test[1000:1040])
    for name in ("train.txt", "val.txt"):
        assert probe not in " ".join((mat.workspace / "data" / name).read_text().split())
    assert not {"test_ids.npy", "original.pt", "arch.json"} & {p.name for p in mat.workspace.rglob("*")}


@pytest.mark.slow
def test_reference_beats_start_and_original_is_close(mat: Materialized, tmp_path: Path) -> None:
    start = _score(mat.workspace / "model.pt", mat, 1, tmp_path)
    ref = _score(mat.reference / "model.pt", mat, 2, tmp_path)
    ref_again = _score(mat.reference / "model.pt", mat, 3, tmp_path)
    orig = _score(mat.protected / "original.pt", mat, 4, tmp_path)
    ys, yr, yo = start["value"], ref["value"], orig["value"]
    assert all(isinstance(v, float) and math.isfinite(v) for v in (ys, yr, yo)), (start, ref, orig)
    assert _t(yr) < _t(ys) - 3, (ys, yr)  # the reference is far better than the corrupted start
    # the uncorrupted model is about as good as the reference, or better: the scale is sane
    assert yo <= yr + 0.02, (yo, yr)
    assert 0.95 < (_t(yo) - _t(ys)) / (_t(yr) - _t(ys)) < 1.3
    # the hidden windows change between calls but the loss hardly moves (< 0.01 of the range)
    assert ref["details"]["offset"] != ref_again["details"]["offset"]
    assert abs(_t(ref_again["value"]) - _t(yr)) < 0.01 * (_t(ys) - _t(yr))


def _ckpt(mat: Materialized) -> dict[str, Any]:
    ckpt: dict[str, Any] = torch.load(mat.reference / "model.pt", weights_only=True)
    return ckpt


class _Evil:
    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (os.system, ("touch pwned_marker",))


def _edit(fn: Callable[[dict[str, Any]], object]) -> Callable[[Materialized, Path], None]:
    """A writer of the reference checkpoint after ``fn`` edited it in place."""
    def write(mat: Materialized, path: Path) -> None:
        ckpt = _ckpt(mat)
        fn(ckpt)
        torch.save(ckpt, path)
    return write


def _set(key: str, value: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[dict[str, Any]], None]:
    def fn(ckpt: dict[str, Any]) -> None:
        ckpt["model"][key] = value(ckpt["model"][key])
    return fn


def _nan_at(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = float("nan")
    return t


INVALID: dict[str, tuple[Callable[[Materialized, Path], None], str]] = {
    "smaller model": (lambda mat, p: p.write_bytes((mat.workspace / "small.pt").read_bytes()), "config differs"),
    "changed config": (_edit(lambda c: c["config"].update(n_layer=3)), "config differs"),
    "extra key": (_edit(lambda c: c["model"].update({"extra.bias": torch.zeros(3)})), "extra ['extra.bias']"),
    "missing key": (_edit(lambda c: c["model"].pop("ln_f.bias")), "missing ['ln_f.bias']"),
    "wrong shape": (_edit(_set("wpe.weight", lambda t: t[:32].clone())), "wpe.weight: dtype/shape"),
    "wrong dtype": (_edit(_set("ln_f.weight", lambda t: t.double())), "ln_f.weight: dtype/shape"),
    "nan": (_edit(_set("blocks.0.mlp.0.weight", _nan_at)), "non-finite"),
    "untied head": (_edit(_set("head.weight", lambda t: t + 0.01)), "tied"),
    "sparse tensor": (_edit(_set("wpe.weight", lambda t: t.to_sparse())), "not a plain dense tensor"),
    "not a tensor": (_edit(_set("ln_f.bias", lambda t: t.tolist())), "not a plain dense tensor"),
    "extra top-level key": (_edit(lambda c: c.update(note="hi")), "exactly the keys"),
    "bare state dict": (lambda mat, p: torch.save(_ckpt(mat)["model"], p), "exactly the keys"),
    "pickled code": (_edit(lambda c: c.update(note=_Evil())), "GLOBAL posix.system"),
    "not a checkpoint": (lambda mat, p: p.write_text("hello"), "cannot load"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_submissions_are_nan(case: str, mat: Materialized, tmp_path: Path) -> None:
    make, needle = INVALID[case]
    make(mat, tmp_path / "model.pt")
    result = as_dict(score_materialized(mat, tmp_path, seed=0))
    # "pickled code": refused by weights_only before anything is unpickled (the message names the global)
    assert result["kind"] == "invalid" and needle in result["message"], result


def test_reference_passes_the_checks(mat: Materialized, scorer: ModuleType) -> None:
    """The control for the cases above: the same checks accept a well-formed repair."""
    arch = json.loads((mat.protected / "arch.json").read_text())
    state, problem = scorer.check_checkpoint(_ckpt(mat), arch)
    assert problem is None and state is not None and set(state) == set(arch["tensors"])


def test_links_are_refused(mat: Materialized, scorer: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.pt"
    target.write_bytes((mat.reference / "model.pt").read_bytes())
    (tmp_path / "model.pt").symlink_to(target)
    result = as_dict(score_materialized(mat, tmp_path, seed=0))
    assert result["kind"] == "invalid" and "links are refused" in result["message"]
    (tmp_path / "model.pt").unlink()
    os.link(target, tmp_path / "model.pt")
    result = as_dict(score_materialized(mat, tmp_path, seed=0))
    assert result["kind"] == "invalid" and "hard link" in result["message"]
    (tmp_path / "model.pt").unlink()
    result = as_dict(score_materialized(mat, tmp_path, seed=0))
    assert result["kind"] == "invalid" and "model.pt is missing" in result["message"]


@pytest.mark.slow
def test_from_the_sandbox(mat: Materialized, tmp_path: Path) -> None:
    """An agent in the real sandbox cannot see the hidden data; the real scorer rejects and accepts."""
    stats = json.loads((mat.protected / "prepare_stats.json").read_text())
    script = [
        bash("ls; find / \\( -name test_ids.npy -o -name original.pt -o -name arch.json "
             "-o -name prepare_stats.json \\) 2>/dev/null | head -5; ls /opt/rdbench/protected 2>&1; echo END"),
        bash("python evaluate.py corrupted.pt data/val.txt"),
        bash("cp small.pt model.pt"),
        call("score"),
        bash("rm model.pt && ln -s corrupted.pt model.pt"),
        call("score"),
        bash("rm model.pt && cp corrupted.pt model.pt"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    model = get_model(MODEL, custom_outputs=script)
    [log] = inspect_eval(make_task("fix_embedding", budget="15m"), model=model, log_dir=str(tmp_path),
                         display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "corrupted.pt" in outputs[0] and "small.pt" in outputs[0]
    listing = outputs[0].split("END")[0]
    for hidden in ("test_ids.npy", "original.pt", "arch.json", "prepare_stats.json"):
        assert hidden not in listing, outputs[0]
    # the agent's evaluate.py runs in the agent's environment and agrees with prepare's numbers
    got = float(re.search(r"loss ([0-9.]+)", outputs[1]).group(1))  # type: ignore[union-attr]
    assert got == pytest.approx(stats["val_loss_corrupted"], abs=1e-3), outputs[1]
    assert "config differs" in outputs[3]
    assert "links are refused" in outputs[5]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    values = [e["value"] for e in record["score_log"] if e["source"] == "agent"]
    assert values[:2] == [None, None] and len(values) == 3, record["score_log"]
    assert 10 < values[2] < 30  # the corrupted model, scored by the real scorer in its sandbox
