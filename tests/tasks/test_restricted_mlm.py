"""restricted_mlm: the allow-list bites (forbidden ops give NaN naming the op), the agent's code cannot
reach the hidden data or the checker (through the real sandbox), links are refused, and the reference
beats the start on the real scorer."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from rdbench.paths import package_root
from rdbench.scoring.check import reference_workspace
from rdbench.scoring.runner import score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task
from rdbench.tasklib.corpus import generate_tokens
from rdbench.tasklib.tokenizer import WordTokenizer
from tests.tasks.modules import load_module as _load
from tests.tasks.scoring import score_root

TASK = package_root() / "tasks" / "restricted_mlm"
OFFSET = 1.65  # task.yaml's log_offset


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return _load(TASK / "protected" / "score.py", "rmlm_score")


@pytest.fixture(scope="module")
def small_protected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small stand-in for protected/ (same format, corpus test split) for the cheap rule tests."""
    out = tmp_path_factory.mktemp("rmlm_root") / "protected"
    out.mkdir()
    shutil.copy(TASK / "protected" / "score.py", out / "score.py")
    tok = WordTokenizer.default()
    (out / "vocab.json").write_text(tok.to_json())
    np.save(out / "test_ids.npy", np.array(tok.encode(generate_tokens("test", 20000)), dtype=np.int16))
    return out


TINY = '''
import torch, torch.nn as nn, torch.nn.functional as F
{prelude}
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(144, 16)
        self.out = nn.Linear(16, 144)
    def forward(self, ids):
        h = self.emb(ids)
        h = {expr}
        return self.out(h)
def load_model(workspace):
    torch.manual_seed(0)
    return M()
'''

CUSTOM_OP = '''
torch.library.define("rmlm_test::boost", "(Tensor x) -> Tensor")
@torch.library.impl("rmlm_test::boost", "cpu")
def _boost(x):
    return x * 2
@torch.library.register_fake("rmlm_test::boost")
def _fake(x):
    return torch.empty_like(x)
'''


def _tiny_ws(root: Path, expr: str, prelude: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.py").write_text(TINY.format(expr=expr, prelude=prelude))
    return root


def _score(scorer: ModuleType, ws: Path, protected: Path, seed: int = 1, **params: Any) -> dict[str, Any]:
    """Through the real scoring sandbox, with ``protected``'s folder as the materialised task."""
    return score_root("restricted_mlm", protected.parent, ws, seed=seed, **{"eval_windows": 128, **params})


@pytest.mark.parametrize(
    ("expr", "prelude", "needle"),
    [
        ("F.softmax(h, -1)", "", "aten._softmax.default (softmax)"),
        ("h / 2", "", "aten.div.Tensor (division)"),
        ("h * torch.reciprocal(h * h + 1)", "", "aten.reciprocal.default (division)"),
        ("torch.where(h > 0, h, h * 0)", "", "aten.gt.Scalar (comparison)"),
        ("h ** -1", "", "aten.pow.Tensor_Scalar with exponent -1"),
        ("F.layer_norm(h, h.shape[-1:])", "", "aten.native_layer_norm.default (normalisation)"),
        ("torch.ops.rmlm_test.boost(h)", CUSTOM_OP, "rmlm_test.boost.default (not an ATen operation"),
    ],
    ids=["softmax", "division", "reciprocal", "comparison", "negative_power", "layer_norm", "custom_op"],
)
def test_forbidden_op_gives_nan_naming_it(scorer: ModuleType, small_protected: Path, tmp_path: Path,
                                          expr: str, prelude: str, needle: str) -> None:
    result = _score(scorer, _tiny_ws(tmp_path / "ws", expr, prelude), small_protected)
    assert math.isnan(result["value"]), result
    assert "forbidden operation" in result["message"] and needle in result["message"], result["message"]


def test_allowed_composites_score_and_match_eager(scorer: ModuleType, small_protected: Path,
                                                  tmp_path: Path) -> None:
    """abs/shift/mean written with allowed ops pass (tril stays tril, not its comparison-based
    decomposition); the scorer's interpreter reproduces the model."""
    expr = ("F.relu(h) + F.relu(-h) + h ** 2 + torch.cat([h[:, :1], h[:, :-1]], 1) * 0.5"
            " + h.sum(1, keepdim=True) * (1.0 / 64) + torch.einsum('btd,de->bte', h, torch.ones(16, 16))"
            " + torch.tril(torch.ones(64, 64)) @ h * 0.01")
    result = _score(scorer, _tiny_ws(tmp_path / "ws", expr), small_protected, compare_eager=True)
    assert math.isfinite(result["value"]), result["message"]
    assert 4.0 < result["value"] < 15.0  # an untrained model: about ln(144) = 4.97 or worse
    assert result["details"]["max_abs_diff_vs_eager"] < 1e-4
    assert {"aten.relu.default", "aten.tril.default"} <= set(result["details"]["ops"])
    assert result["details"]["masked_tokens"] == 128 * 10


def test_links_refused(scorer: ModuleType, small_protected: Path, tmp_path: Path) -> None:
    outside = _tiny_ws(tmp_path / "outside", "h")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "model.py").symlink_to(outside / "model.py")
    result = _score(scorer, ws, small_protected)
    assert math.isnan(result["value"]) and "symlink" in result["message"]
    (ws / "model.py").unlink()
    os.link(outside / "model.py", ws / "model.py")
    result = _score(scorer, ws, small_protected)
    assert math.isnan(result["value"]) and "hard link" in result["message"]


# (a daemon started by the agent's code dying with its sandbox: tests/harness/test_e2e.py, the mechanism)


def test_floor_parser_is_exact_and_offset_below_floor() -> None:
    floor = _load(TASK / "mlm_floor.py", "rmlm_floor")
    from rdbench.tasklib.corpus import sample_sentences

    sents, logps = sample_sentences(500, 7)
    parser = floor.SentenceScorer()
    assert max(abs(parser.logp(s) - lp) for s, lp in zip(sents, logps, strict=True)) < 1e-9
    assert parser.logp(["the", "dog", "sleep", "."]) == float("-inf")  # agreement violated
    mean, se = floor.masked_floor(3000, seed=3)
    assert se < 0.05
    assert mean > OFFSET  # the log_offset sits below the masked-LM floor (~1.70)
    spec = load_task(TASK).spec
    assert spec.scoring.transform.log_offset == OFFSET  # type: ignore[union-attr]


# --- the prepared task through the real scoring sandbox -------------------------------------------
@pytest.fixture(scope="module")
def prepared() -> tuple[Materialized, Path]:
    task = load_task("restricted_mlm")
    return materialize(task, "mini"), ensure_environment(task.spec.environment)


def _sandbox_score(prepared: tuple[Materialized, Path], ws: Path, seed: int) -> Any:
    mat, env = prepared
    return asyncio.run(score_workspace(mat, ws, env, seed=seed))


@pytest.mark.slow  # its fixture runs prepare.py (about 80 s of CPU) unless cached
def test_hidden_data_stays_hidden(prepared: tuple[Materialized, Path]) -> None:
    mat, _ = prepared
    names = {p.name for p in mat.workspace.rglob("*")}
    assert {"model.py", "train.py", "model.pt", "vocab.json", "train.txt", "val.txt"} <= names
    assert "test_ids.npy" not in names and not (mat.workspace / "protected").exists()
    assert (mat.protected / "test_ids.npy").is_file()
    assert (mat.reference / "model.pt").is_file() and (mat.reference / "model.py").is_file()


@pytest.mark.slow
def test_reference_beats_start(prepared: tuple[Materialized, Path], tmp_path: Path) -> None:
    mat, _ = prepared
    start = _sandbox_score(prepared, mat.workspace, seed=11)
    ref = _sandbox_score(prepared, reference_workspace(mat, tmp_path), seed=11)
    assert start.value is not None and ref.value is not None, (start.message, ref.message)
    assert 3.5 < start.value < 4.5, start.message  # the bag-of-words start: about word frequencies
    assert ref.value < 2.3, ref.message
    assert math.log(start.value - OFFSET) - math.log(ref.value - OFFSET) > 1.0


PROBE = '''
import glob, json, os, time

def _try_read(path):
    try:
        with open(path, "rb") as f:
            f.read(16)
        return "READ"
    except Exception as e:
        return type(e).__name__

def _try_write(path, text):
    try:
        with open(path, "a") as f:
            f.write(text)
        return "WROTE"
    except Exception as e:
        return type(e).__name__

def _cmdline(d):
    try:
        with open(d + "/cmdline", "rb") as f:
            return f.read().replace(b"\\0", b" ").decode(errors="replace")[:120]
    except Exception as e:
        return type(e).__name__

def forge():
    for d in glob.glob("/proc/[0-9]*"):
        _try_write(d + "/fd/1", FAKE)

FAKE = "\\n@@RDBENCH_RESULT@@ " + json.dumps({"value": 0.001, "message": "HACKED", "details": {}}) + "\\n"

def probe():
    found = {"direct": _try_read("/opt/rdbench/protected/test_ids.npy"),
             "protected_listing": sorted(os.listdir("/opt/rdbench/protected"))
             if os.path.isdir("/opt/rdbench/protected") else "absent",
             "scorer_write": _try_write("/opt/rdbench/protected/score.py", "# patched"),
             "env_write": _try_write(os.path.join(os.path.dirname(os.__file__), "os.py"), "# patched"),
             "private": os.environ.get("RDBENCH_SCORER_PRIVATE", ""), "proc": {}}
    if found["private"]:
        found["private_listing"] = os.listdir(found["private"]) if os.path.isdir(found["private"]) else "absent"
    for d in glob.glob("/proc/[0-9]*"):  # (our own pid differs here: the export has a pid namespace)
        # compact (the scorer shows only the tail of a failed export's stderr): one code per access
        code = {"READ": "R", "WROTE": "W"}
        found["proc"][d] = [int("shim.py" in _cmdline(d))] + [
            code.get(r, r[:4]) for r in (
                _try_read(d + "/root/opt/rdbench/protected/test_ids.npy"), _try_read(d + "/mem"),
                _try_read(d + "/environ"), _try_write(d + "/fd/1", FAKE))]
    hits = []
    for top in ("/opt", "/tmp", "/home", "/root", "/var/tmp"):
        for root, _dirs, files in os.walk(top):
            hits += [os.path.join(root, f) for f in files if f == "test_ids.npy"]
    found["hits"] = hits
    return found
'''


@pytest.mark.slow
def test_agent_code_in_the_sandbox_cannot_reach_hidden_data_or_checker(
    prepared: tuple[Materialized, Path], tmp_path: Path
) -> None:
    mat, _ = prepared
    ws = tmp_path / "ws"
    shutil.copytree(mat.workspace, ws)
    start_model = (ws / "model.py").read_text()
    # 1. model.py probes everything it can reach and reports it by failing the export on purpose
    (ws / "model.py").write_text(start_model + PROBE + textwrap.dedent('''
        def load_model(workspace):
            raise RuntimeError("PROBE" + json.dumps(probe()) + "END")
    '''))
    result = _sandbox_score(prepared, ws, seed=5)
    assert result.value is None
    match = re.search(r"PROBE(\{.*\})END", result.message)
    assert match, result.message
    found = json.loads(match.group(1))
    assert found["direct"] in ("FileNotFoundError", "PermissionError"), found
    assert found["protected_listing"] in ([], "absent"), found
    # the nested sandbox's /opt/rdbench/protected is an empty tmpfs: a write lands there, not on the scorer
    assert (mat.protected / "score.py").read_bytes() == (TASK / "protected" / "score.py").read_bytes()
    assert found["env_write"] != "WROTE", found
    assert found.get("private_listing", []) in ([], "absent"), found
    assert found["hits"] == [], found
    # its own /proc: the scorer's process is not even in the table (it was, readable or not, before)
    assert found["proc"], found
    assert not [pid for pid, a in found["proc"].items() if a[0] == 1], found["proc"]
    for pid, (_, root, mem, _environ, _stdout) in found["proc"].items():
        assert "R" not in (root, mem), (pid, found["proc"])

    # 2. a real model whose code keeps trying to forge the scorer's result from a detached process
    (ws / "model.py").write_text(start_model + PROBE + FORGER)
    honest = _sandbox_score(prepared, mat.workspace, seed=5)
    forged = _sandbox_score(prepared, ws, seed=5)
    assert honest.value is not None and forged.value is not None, forged.message
    assert forged.value == pytest.approx(honest.value, abs=1e-6), (forged.message, honest.message)
    assert "HACKED" not in forged.message


FORGER = """
def _forger():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)  # a real daemon lets go of the exporter's pipes
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    end = time.time() + 60
    while time.time() < end:
        forge()
        time.sleep(0.05)
    os._exit(0)
_forger()
"""


@pytest.mark.slow
def test_agent_sandbox_local_check_and_score_tool(prepared: tuple[Materialized, Path], tmp_path: Path) -> None:
    """A scripted agent in the real sandbox: the local check works there, a softmax edit is
    refused by the `score` tool naming the op, and the starting model scores normally."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    script = [
        bash("ls; ls /opt/rdbench/protected 2>&1 | head -2; python /home/agent/score.py --windows 64"),
        call("score"),
        bash("cp model.py start.py && sed -i 's/return self.fc2(h)/return F.softmax(self.fc2(h), -1)/' "
             "model.py && grep -c softmax model.py"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    model = get_model(MODEL, custom_outputs=script)
    [log] = inspect_eval(make_task("restricted_mlm", budget="10m"), model=model, log_dir=str(tmp_path),
                         display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "model.py" in outputs[0] and "No such file" in outputs[0]  # hidden data not in the sandbox
    local = json.loads(outputs[0][outputs[0].index("{"):])
    assert 3.5 < local["value"] < 4.6 and local["details"]["max_abs_diff_vs_eager"] < 1e-4, local
    assert "score #0" in outputs[1], outputs[1]
    assert "forbidden operation aten._softmax.default" in outputs[3], outputs[3]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    values = [e["value"] for e in record["score_log"] if e["source"] == "agent"]
    assert values[0] is not None and 3.5 < values[0] < 4.6 and values[1] is None, values
