"""train_under_cap: the scorer runs train.py itself on a hidden lexical world under a memory cap and a
time cap; going over either is invalid and says which; only code reaches the run, so weights trained
elsewhere come in only inside the code and do worse on the call's world; hidden data is out of reach."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rdbench.paths import package_root
from rdbench.sandbox.limits import cgroup_mode
from rdbench.scoring.runner import score_workspace
from rdbench.task.assets import Materialized, materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task
from rdbench.tasklib.gpt import GPT, GPTConfig
from tests.harness.test_e2e import bash, call
from tests.tasks.scoring import as_dict, score_materialized
from tests.tasks.scripted import run_script

TASK = package_root() / "tasks" / "train_under_cap"

pytestmark = pytest.mark.skipif(cgroup_mode() == "none", reason="no writable cgroup hierarchy: no memory cap")


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return materialize(load_task("train_under_cap"), "mini")


def _workspace(tmp: Path, name: str, files: dict[str, str | bytes]) -> Path:
    ws = tmp / name
    ws.mkdir()
    for rel, content in files.items():
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return ws


def _score(mat: Materialized, ws: Path, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    return as_dict(score_materialized(mat, ws, seed=seed, **overrides))


def _score_roomy(mat: Materialized, ws: Path, seed: int) -> dict[str, Any]:
    """Score with a 600 s time cap on train.py (and room for it in the scoring call)."""
    env = ensure_environment(mat.task.spec.environment)
    return as_dict(asyncio.run(score_workspace(mat, ws, env, seed=seed, overrides={"run_timeout": 600},
                                               timeout=900)))


def test_spec_and_instructions_render() -> None:
    task = load_task("train_under_cap")
    assert task.spec.scoring.direction == "lower" and "mlrb" in task.spec.tags
    text = (TASK / "instructions.md").read_text()
    for scale in ("mini", "full"):
        s = task.spec.scale(scale)
        rendered = text.format(**s.params, scale=scale, time_budget="2h", cpus=s.cpus, memory_gb=s.memory_gb,
                               gpus=s.gpus)
        assert f"memory cap of\n   {s.params['memory_mb']} MB" in rendered or f"{s.params['memory_mb']} MB" in rendered
        assert "disqualifies the run" in rendered


def test_hidden_worlds_are_other_worlds(mat: Materialized) -> None:
    """The scorer's variants are lexical worlds the agent never sees; the test text stays in protected/."""
    params = mat.task.spec.scale("mini").params
    variants = sorted((mat.protected / "variants").iterdir())
    assert [v.name for v in variants] == [f"world{w}" for w in params["worlds"]]
    visible = (mat.workspace / "data" / "train.txt").read_text().splitlines()[:200]
    for variant in variants:
        assert (variant / "test_ids.npy").exists()
        hidden = (variant / "train.txt").read_text().splitlines()[:200]
        assert len(set(visible) & set(hidden)) < 40  # short sentences recur by chance only
    assert not {"test_ids.npy", "variants"} & {p.name for p in mat.workspace.rglob("*")}


CAP_MB = load_task("train_under_cap").spec.scale("mini").params["memory_mb"]
CAPPED = {
    # one process over the cap
    "memory": (f"import numpy as np\nhog = np.ones({2 * CAP_MB} * 2**20 // 8)\nprint(hog.sum())\n",
               f"over the memory cap of {CAP_MB} MB"),
    # two processes, each at 60% of the cap: only a cap on the whole tree catches it
    "forked memory": (f"import os, time\nimport numpy as np\nchild = os.fork()\n"
                      f"block = np.ones({int(0.6 * CAP_MB)} * 2**20 // 8)\ntime.sleep(5)\n"
                      "if child:\n    os.waitpid(child, 0)\n", "over the memory cap"),
    "time": ("import time\ntime.sleep(60)\n", "within the time cap of 5 s"),
    # a detached daemon meant to go on "training" and write the model later: it dies with the run
    "daemon": ("import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               "        time.sleep(2)\n        open('out/model.pt', 'w').write('late')\n    os._exit(0)\nsys.exit(0)\n",
               "out/model.pt is missing"),
}


@pytest.mark.parametrize("case", sorted(CAPPED))
def test_the_caps_bite_and_the_harness_carries_on(case: str, mat: Materialized, tmp_path: Path) -> None:
    """Over the memory cap (alone or split over a forked child) or the time cap: killed and invalid with
    the reason; a daemon meant to keep training past the run dies with it (test_from_the_sandbox shows
    the next call in the same run scoring normally after a capped one)."""
    code, needle = CAPPED[case]
    ws = _workspace(tmp_path, "ws", {"train.py": code, "gpt.py": (mat.workspace / "gpt.py").read_text()})
    result = _score(mat, ws, run_timeout=5 if case == "time" else 100)
    assert result["kind"] == "invalid" and needle in result["message"], result
    if case == "forked memory":
        # the parent alone stayed under the cap: the tree did not
        assert result["details"]["peak_memory_mb"] is None or result["details"]["peak_memory_mb"] <= CAP_MB + 1


def _tiny_model_on(world_train: Path, steps: int = 300) -> bytes:
    """A small GPT trained on one world's text (as an earlier scoring call could have)."""
    itos = json.loads((world_train.parent.parent.parent / "vocab.json").read_text())["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    data = np.array([stoi[w] for w in world_train.read_text().split()[:200_000]], dtype=np.int64)
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=144, block_size=32, n_layer=1, n_head=1, n_embd=32)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        ix = rng.integers(0, len(data) - 33, size=16)
        win = torch.from_numpy(data[ix[:, None] + np.arange(33)[None, :]])
        loss = F.cross_entropy(model(win[:, :-1]).reshape(-1, 144), win[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    state = {k: v.detach().half().clone() for k, v in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]
    buffer = io.BytesIO()
    torch.save({"config": cfg.to_dict(), "model": state}, buffer)
    return buffer.getvalue()


@pytest.mark.slow
def test_weights_from_another_call_do_worse_on_this_calls_world(mat: Materialized, tmp_path: Path) -> None:
    """Only code reaches the run, so weights can come in only inside it (here a small model trained on
    the first hidden world, carried in a .py file under the size limit). On a call that draws that
    world it scores one loss; on calls that draw the other worlds, clearly worse ones."""
    variants = sorted((mat.protected / "variants").iterdir())
    blob = base64.b64encode(_tiny_model_on(variants[0] / "train.txt")).decode()
    code = ("import base64\nfrom pathlib import Path\nfrom blob import BLOB\n"
            "Path('out').mkdir(exist_ok=True)\nPath('out/model.pt').write_bytes(base64.b64decode(BLOB))\n")
    ws = _workspace(tmp_path, "ws", {"train.py": code, "blob.py": f"BLOB = {blob!r}\n"})
    assert sum(p.stat().st_size for p in ws.iterdir()) < mat.task.spec.scale("mini").params["code_bytes"]
    same = _score(mat, ws, seed=0)
    other = _score(mat, ws, seed=1)
    assert same["kind"] == other["kind"] == "scored", (same, other)
    assert same["details"]["variant"] == variants[0].name and other["details"]["variant"] == variants[1].name
    # measured (2026-12-04, this model on 50k test tokens of each world): its own world 2.852, the other
    # two 2.886 and 2.891; a model trained on the second world likewise wins on its own world by 0.02-0.03
    assert other["value"] > same["value"] + 0.02, (same["value"], other["value"])
    # the same weights as a file next to train.py do not reach the run at all
    ws2 = _workspace(tmp_path, "ws2", {"train.py": "import shutil\nshutil.copy('weights.pt', 'out/model.pt')\n",
                                       "weights.pt": base64.b64decode(blob)})
    refused = _score(mat, ws2, seed=0)
    assert refused["kind"] == "invalid" and "No such file" in refused["message"], refused


def test_only_code_of_limited_size_is_taken(mat: Materialized, tmp_path: Path) -> None:
    big = _workspace(tmp_path, "big", {"train.py": "print(1)\n", "blob.py": "X = '" + "a" * 70_000 + "'\n"})
    result = _score(mat, big)
    assert result["kind"] == "invalid" and "more than 65,536 bytes" in result["message"], result
    linked = _workspace(tmp_path, "linked", {"real.py": "print(1)\n"})
    (linked / "train.py").symlink_to(linked / "real.py")
    result = _score(mat, linked)
    assert result["kind"] == "invalid" and "links are refused" in result["message"], result


@pytest.mark.slow
def test_reference_beats_start_on_hidden_worlds(mat: Materialized, tmp_path: Path) -> None:
    start_ws = _workspace(tmp_path, "start", {"train.py": (mat.workspace / "train.py").read_text(),
                                              "gpt.py": (mat.workspace / "gpt.py").read_text()})
    ref_ws = _workspace(tmp_path, "ref", {"train.py": (mat.reference / "train.py").read_text(),
                                          "gpt.py": (mat.workspace / "gpt.py").read_text()})
    # caps far above what either needs, so both run their full schedules whatever the machine's load (at
    # the real cap the reference paces itself by the wall clock: fewer steps on a busy machine)
    start, ref = _score_roomy(mat, start_ws, seed=2), _score_roomy(mat, ref_ws, seed=2)
    assert start["kind"] == ref["kind"] == "scored", (start, ref)
    assert math.log(ref["value"] - 2.2) < math.log(start["value"] - 2.2) - 0.2, (start["value"], ref["value"])
    assert start["details"]["peak_memory_mb"] is not None
    assert ref["details"]["peak_memory_mb"] < start["details"]["peak_memory_mb"], (start["details"], ref["details"])


@pytest.mark.slow
def test_from_the_sandbox(mat: Materialized, tmp_path: Path) -> None:
    """A scripted agent cannot find the hidden worlds; the real scorer runs its train.py under the caps."""
    script = [
        bash("ls; find / \\( -name test_ids.npy -o -name 'world10*' -o -name score.py \\) -not -path '/proc/*' "
             "2>/dev/null | head -5; ls /opt/rdbench/protected 2>&1; echo END"),
        bash("cp train.py start.py && printf 'import numpy as np\\nx = np.ones(3 * 2**30 // 8)\\nprint(x.sum())\\n' "
             "> train.py"),
        call("score"),
        bash("cp start.py train.py"),
        call("score"),
    ]
    run = run_script("train_under_cap", script, tmp_path, budget="15m")
    outputs = run.outputs
    listing = outputs[0].split("END")[0]
    assert "train.py" in listing and "test_ids.npy" not in listing and "world10" not in listing, outputs[0]
    assert "over the memory cap" in outputs[2]
    assert "hidden-test loss" in outputs[4] and "peak memory" in outputs[4]
    values = run.agent_values
    assert values[0] is None and values[1] is not None and 2.4 < values[1] < 3.2, run.score_log


GPU_HOG = """import os, sys, time
if "gpu-mib=300" not in sys.argv:  # a stand-in for a process holding 300 MiB of GPU memory
    os.execv(sys.executable, [sys.executable, "train.py", "gpu-mib=300"])
time.sleep(60)
"""


def test_over_the_gpu_memory_cap_is_invalid_and_says_so(mat: Materialized, tmp_path: Path) -> None:
    """The full scale's GPU cap (here on the mini scale, 100 MiB): the harness's watchdog, fed by a file
    that reports 300 MiB for train.py's process in its run's cgroup, kills the run; invalid, naming
    the cap, with the peak in the details."""
    from rdbench.sandbox.api import FileReader
    from tests.scoring.test_gpu_cap import feeder

    ws = _workspace(tmp_path, "ws", {"train.py": GPU_HOG})
    readings = tmp_path / "readings.json"
    env = ensure_environment(mat.task.spec.environment)
    with feeder(readings):
        result = as_dict(asyncio.run(score_workspace(mat, ws, env, seed=0, gpu_reader=FileReader(readings),
                                                     overrides={"gpu_memory_mb": 100})))
    assert result["kind"] == "invalid", result
    assert "over the GPU memory cap (peak 300 MiB > cap 100 MiB)" in result["message"], result
    assert result["details"]["peak_gpu_memory_mb"] == 300.0, result


def test_the_full_scale_caps_gpu_memory() -> None:
    spec = load_task("train_under_cap").spec
    assert spec.scale("full").params["gpu_memory_mb"] > 0
    assert "gpu_memory_mb" not in spec.scale("mini").params  # no GPU there: the peak is reported missing
