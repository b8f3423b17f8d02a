"""finetune_budget: the worlds and their flawed pools, the rules that bite, the hidden suite out of reach."""

from __future__ import annotations

import base64
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from rdbench.paths import package_root
from rdbench.task.assets import Materialized
from rdbench.task.loader import load_task
from tests.harness.test_e2e import bash, call
from tests.tasks.scoring import as_dict, prepared, sandbox_score
from tests.tasks.scripted import run_script

TASK = package_root() / "tasks" / "finetune_budget"
POOL_SKILLS = ["who", "agree", "reverse", "copy"]
HELD_OUT = ["first", "plural"]


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return prepared("finetune_budget")[0]


def _workspace(mat: Materialized, dest: Path, files: dict[str, str] | None = None, reference: bool = False) -> Path:
    shutil.copytree(mat.workspace, dest)
    if reference:
        shutil.copytree(mat.reference, dest, dirs_exist_ok=True)
    for name, text in (files or {}).items():
        (dest / name).write_text(text)
    return dest


def _score(ws: Path, seed: int, **overrides: Any) -> dict[str, Any]:
    return as_dict(sandbox_score("finetune_budget", ws, seed=seed, **overrides))


def _rows(path: Path) -> list[tuple[str, str]]:
    return [(r["prompt"], r["answer"]) for r in map(json.loads, path.read_text().splitlines())]


def test_worlds_are_distinct_and_pools_flawed_as_described(mat: Materialized) -> None:
    worlds = sorted((mat.protected / "worlds").iterdir())
    assert len(worlds) == load_task(TASK).spec.scale("mini").params["worlds"] >= 2
    folders = [*worlds, mat.workspace / "world"]
    bases = [torch.load(w / "base.pt", weights_only=True)["model"]["wte.weight"] for w in folders]
    for i in range(len(bases)):
        for j in range(i):
            assert not torch.allclose(bases[i], bases[j])  # every world has its own base
    stats = json.loads((mat.protected / "prepare_stats.json").read_text())
    for name, info in stats.items():
        # the base can do the held-out skills to some degree: there is something to keep
        assert min(info["base_accuracy"][s] for s in HELD_OUT) > 0.3, (name, info)
    for world in folders:
        pool = world / "pool"
        everything = [r for f in pool.glob("*.jsonl") for r in _rows(f)]
        keywords = {p.split()[0] for p, _ in everything}
        assert keywords == set(POOL_SKILLS), keywords  # no held-out skill has data in the pool
        scraped = Counter(_rows(pool / "scraped.jsonl"))
        assert len(scraped) <= 40 and max(scraped.values()) > 10  # duplicate-heavy
        assert all(" ? " not in p and not a.endswith(" .") for p, a in _rows(pool / "forum.jsonl"))
        assert all(len(a.split()) > 1 for _, a in _rows(pool / "verbose.jsonl"))  # agree answers are one word
        assert len((pool / "text.txt").read_text().splitlines()) > 1000
    assert not (mat.workspace / "worlds").exists()  # the hidden worlds stay in protected/


def test_crowd_answers_are_often_wrong(mat: Materialized) -> None:
    """A `who` answer is right only when it is a noun phrase of its own sentence: half of crowd's are not."""
    rows = [(p, a) for p, a in _rows(mat.workspace / "world" / "pool" / "crowd.jsonl") if p.startswith("who")]
    inside = sum(a.removesuffix(" .") in p for p, a in rows) / len(rows)
    assert 0.3 < inside < 0.8, inside
    clean = [(p, a) for p, a in _rows(mat.workspace / "world" / "pool" / "qa_mix.jsonl") if p.startswith("who")]
    assert all(a.removesuffix(" .") in p for p, a in clean)


SLEEPER = "#!/bin/bash\nsleep 60\n"
WIDER = """#!/bin/bash
python -c "
import sys, torch
ck = torch.load(sys.argv[1], weights_only=True)
ck['config']['n_embd'] *= 2
ck['model'] = {k: torch.cat([v, v], dim=-1) for k, v in ck['model'].items()}
torch.save(ck, sys.argv[2])" "$1" "$3"
"""
DAEMON = """#!/bin/bash
# the output is left to a detached process that writes it after finetune.sh has exited
setsid nohup bash -c 'sleep 3; cp "$0" "$1"' "$1" "$3" > /dev/null 2>&1 < /dev/null &
"""


def test_rules_bite(mat: Materialized, tmp_path: Path) -> None:
    slow = _score(_workspace(mat, tmp_path / "cap", {"finetune.sh": SLEEPER}), 1, run_timeout=3)
    assert slow["kind"] == "invalid" and "within the time cap of 3 s" in slow["message"], slow
    assert slow["details"]["scorer_work"]["untrusted_seconds"] < 30
    wide = _score(_workspace(mat, tmp_path / "wide", {"finetune.sh": WIDER}), 1)
    assert wide["kind"] == "invalid" and "keep the base's architecture" in wide["message"], wide
    daemon = _score(_workspace(mat, tmp_path / "daemon", {"finetune.sh": DAEMON}), 1)
    assert daemon["kind"] == "invalid" and "out/model.pt is missing" in daemon["message"], daemon
    # the base itself, returned unchanged: valid, and its score is the base's own
    same = _score(_workspace(mat, tmp_path / "same", {"finetune.sh": '#!/bin/bash\ncp "$1" "$3"\n'}), 2, n_eval=100)
    assert same["kind"] == "scored" and same["value"] == pytest.approx(same["details"]["base_score"], abs=1e-3), same


def test_a_model_from_another_base_is_refused(mat: Materialized, tmp_path: Path) -> None:
    """With the code cap lifted, weights shipped in code arrive; the scorer still refuses a model that is
    not a fine-tune of the base the call gave (here: the development world's base)."""
    blob = base64.b64encode((mat.workspace / "world" / "base.pt").read_bytes()).decode()
    files = {"shipped.py": f"import base64, sys\nopen(sys.argv[1], 'wb').write(base64.b64decode('{blob}'))\n",
             "finetune.sh": '#!/bin/bash\ncd "$(dirname "$0")" && python shipped.py "$3"\n'}
    ws = _workspace(mat, tmp_path / "ship", files)
    capped = _score(ws, 1)
    assert capped["kind"] == "invalid" and "more than 65,536 bytes" in capped["message"], capped
    lifted = _score(ws, 1, code_bytes=4_000_000)
    assert lifted["kind"] == "invalid" and "not a fine-tune of the base it was given" in lifted["message"], lifted


PROBE = """#!/bin/bash
python - <<'PY'
import glob, os, sys
hits, control = [], 0
for folder, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if not (folder == '/' and d in ('proc', 'sys', 'dev', 'usr'))]
    for name in files:
        path = os.path.join(folder, name)
        if name in ('world.json', 'prepare_stats.json', 'skills.py', 'corpus.py', 'score.py') or '/worlds/' in path:
            hits.append(path)
        if path.endswith('input/pool/crowd.jsonl'):  # the pool it was given
            control += 1
for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):
    try:
        text = open(path, 'rb').read().decode(errors='ignore')
    except OSError:
        continue
    if 'seed' in text or 'worlds' in text:
        hits.append(path)
print(f'PROBE control={control} hits={hits[:3]}', file=sys.stderr)
sys.exit(3)
PY
"""


def test_hidden_suite_and_worlds_unreachable_from_finetune(mat: Materialized, tmp_path: Path) -> None:
    result = _score(_workspace(mat, tmp_path / "probe", {"finetune.sh": PROBE}), 2)
    assert result["kind"] == "invalid" and "PROBE control=1 " in result["message"], result
    assert "hits=[]" in result["message"], result


@pytest.mark.slow
def test_reference_beats_start_and_keeps_held_out_skills(mat: Materialized, tmp_path: Path) -> None:
    start = _score(_workspace(mat, tmp_path / "s"), 5, n_eval=150)
    ref = _score(_workspace(mat, tmp_path / "r", reference=True), 5, n_eval=150)
    assert start["kind"] == ref["kind"] == "scored", (start, ref)
    assert ref["value"] > start["value"] + 0.3, (start["value"], ref["value"])
    base = ref["details"]["base_accuracy"]
    for skill in HELD_OUT:  # the start forgets what the base could do; the reference keeps most of it
        assert start["details"]["accuracy"][skill] < 0.5 * base[skill], (skill, start["details"])
        assert ref["details"]["accuracy"][skill] > 0.5 * base[skill], (skill, ref["details"])
    # and it learns the pool's skills
    learned = sum(ref["details"]["accuracy"][s] - base[s] for s in POOL_SKILLS)
    assert learned > 0.2, ref["details"]


@pytest.mark.slow
def test_mock_agent_end_to_end(tmp_path: Path) -> None:
    """A scripted agent in the real sandbox: it looks at the pool, writes a finetune.sh that returns the base
    unchanged, and scores it (the base's own score comes back)."""
    script = [
        bash("wc -l world/pool/*.jsonl | tail -1; ls /opt/rdbench/protected 2>&1 | head -1; "
             "printf '#!/bin/bash\\ncp \"$1\" \"$3\"\\n' > finetune.sh; cat finetune.sh"),
        call("score"),
    ]
    run = run_script("finetune_budget", script, tmp_path, budget="10m")
    looked = run.outputs[0]
    assert "total" in looked and "No such file" in looked and 'cp "$1" "$3"' in looked, looked
    entry = next(e for e in run.score_log if e["source"] == "agent")
    assert entry["kind"] == "scored" and "geometric mean of exact-match accuracies" in entry["message"], entry
    assert entry["value"] == pytest.approx(entry["details"]["base_score"], abs=1e-3), entry
