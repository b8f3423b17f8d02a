"""merge_experts: the expert sets, the rules that bite (time cap, architecture), hidden sets out of reach."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from rdbench.paths import package_root
from rdbench.task.assets import Materialized
from rdbench.task.loader import load_task
from tests.tasks.scoring import as_dict, prepared, sandbox_score

TASK = package_root() / "tasks" / "merge_experts"
SKILLS = ["finish", "who", "fill", "fact"]


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return prepared("merge_experts")[0]


def _workspace(mat: Materialized, dest: Path, merge: str | None = None, reference: bool = False) -> Path:
    shutil.copytree(mat.workspace, dest)
    if reference:
        shutil.copytree(mat.reference, dest, dirs_exist_ok=True)
    if merge is not None:
        (dest / "merge.py").write_text(merge)
    return dest


def _score(ws: Path, seed: int, **overrides: Any) -> dict[str, Any]:
    return as_dict(sandbox_score("merge_experts", ws, seed=seed, **overrides))


def test_expert_sets_are_distinct_and_experts_learned(mat: Materialized) -> None:
    sets = sorted((mat.protected / "sets").iterdir())
    assert len(sets) == load_task(TASK).spec.scale("mini").params["sets"] >= 2
    bases = [torch.load(s / "base.pt", weights_only=True)["model"]["wte.weight"] for s in
             [*sets, mat.workspace / "experts"]]
    for i in range(len(bases)):
        for j in range(i):
            assert not torch.allclose(bases[i], bases[j])  # every set has its own base
    worlds = {json.loads((s / "world.json").read_text())["prefs_seed"] for s in sets}
    assert len(worlds) == len(sets)
    for s in [*sets, mat.workspace / "experts"]:
        losses = json.loads((s / "losses.json").read_text())
        for skill in SKILLS:  # each expert is far better than the base at its skill
            assert losses[skill]["base"] - losses[skill]["expert"] > 0.5, (s, skill, losses[skill])
    assert not (mat.workspace / "sets").exists()  # the hidden sets stay in protected/


ONE_EXPERT = "import shutil, sys\nshutil.copy(sys.argv[1] + '/who.pt', sys.argv[2])\n"


@pytest.mark.slow
def test_reference_beats_start_and_one_expert(mat: Materialized, tmp_path: Path) -> None:
    start = _score(_workspace(mat, tmp_path / "s"), 3, n_eval=150)
    ref = _score(_workspace(mat, tmp_path / "r", reference=True), 3, n_eval=150)
    one = _score(_workspace(mat, tmp_path / "o", ONE_EXPERT), 3, n_eval=150)
    assert start["kind"] == ref["kind"] == one["kind"] == "scored", (start, ref, one)
    assert len(ref["details"]["per_set"]) == 2  # every call merges every hidden set
    assert ref["value"] > start["value"] + 0.2, (start["value"], ref["value"])
    # one expert keeps its own skill and loses the others: clearly below the reference
    assert one["details"]["kept"]["who"] == pytest.approx(1.0, abs=0.05)
    assert one["value"] < ref["value"] - 0.2, (one["value"], ref["value"])
    assert max(ref["details"]["merge_seconds"]) < load_task(TASK).spec.scale("mini").params["merge_timeout"]


TRAIN_PAST_CAP = """import sys, time
sys.path.insert(0, '.')
import lm, torch
model = lm.load_model(sys.argv[1] + '/base.pt')
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
while True:  # keeps fine-tuning: the cap must stop it
    loss = model(torch.zeros(8, 16, dtype=torch.long)).sum()
    opt.zero_grad(); loss.backward(); opt.step()
"""

WIDER = """import sys, torch
ck = torch.load(sys.argv[1] + '/base.pt', weights_only=True)
ck['config']['n_embd'] *= 2
ck['model'] = {k: torch.cat([v, v], dim=-1) for k, v in ck['model'].items()}
torch.save(ck, sys.argv[2])
"""

DAEMON = """import os, subprocess, sys
# the merge is left to a detached process that writes merged.pt after merge.py has exited
subprocess.Popen([sys.executable, '-c', 'import shutil, sys, time; time.sleep(3); '
                  'shutil.copy(sys.argv[1] + "/fact.pt", sys.argv[2])', sys.argv[1], sys.argv[2]],
                 start_new_session=True)
"""


def test_rules_bite(mat: Materialized, tmp_path: Path) -> None:
    slow = _score(_workspace(mat, tmp_path / "cap", TRAIN_PAST_CAP), 1, merge_timeout=4)
    assert slow["kind"] == "invalid" and "did not finish within the 4 s cap on hidden set 1" in slow["message"], slow
    assert slow["details"]["scorer_work"]["untrusted_seconds"] < 30
    wide = _score(_workspace(mat, tmp_path / "wide", WIDER), 1)
    assert wide["kind"] == "invalid" and "architecture" in wide["message"], wide
    daemon = _score(_workspace(mat, tmp_path / "daemon", DAEMON), 1)
    assert daemon["kind"] == "invalid" and "merged.pt is missing" in daemon["message"], daemon


PROBE = """import glob, os, sys
hits, control = [], 0
for folder, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if not (folder == '/' and d in ('proc', 'sys', 'dev', 'usr'))]
    for name in files:
        path = os.path.join(folder, name)
        if name in ('world.json', 'losses.json', 'skills.py') or '/sets/set1/' in path:
            hits.append(path)
        if path.startswith(sys.argv[1]) and name == 'base.pt':  # the set it was given
            control += 1
for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):
    try:
        text = open(path, 'rb').read().decode(errors='ignore')
    except OSError:
        continue
    if 'seed' in text or 'set1' in text:
        hits.append(path)
print(f'PROBE control={control} hits={[h for h in hits if not h.startswith(os.getcwd())][:3]}', file=sys.stderr)
sys.exit(3)
"""


def test_hidden_sets_and_worlds_unreachable_from_merge(mat: Materialized, tmp_path: Path) -> None:
    result = _score(_workspace(mat, tmp_path / "probe", PROBE), 2)
    assert result["kind"] == "invalid" and "PROBE control=1 " in result["message"], result
    assert "hits=[]" in result["message"], result


@pytest.mark.slow
def test_mock_agent_end_to_end(tmp_path: Path) -> None:
    """A scripted agent in the real sandbox: it runs the starting merge on the development set and scores it
    (evaluate.py's own numbers are covered by the scorer's: the same code path, checked above)."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    script = [
        bash("python merge.py experts /tmp/m.pt && python evaluate.py --merged /tmp/m.pt 2>&1 | tail -1; "
             "ls /opt/rdbench/protected 2>&1 | head -1"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    [log] = inspect_eval(make_task(load_task(TASK), budget="10m"), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    evaluated = tool_outputs(sample)[0]
    assert "score (mean recovered):" in evaluated and "No such file" in evaluated, evaluated
    entry = sample.scores["rdbench"].metadata["rdbench"]["score_log"][0]  # type: ignore[index]
    assert entry["kind"] == "scored" and "mean share of each expert's gain kept" in entry["message"], entry
