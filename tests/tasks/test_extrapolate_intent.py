"""extrapolate_intent through the real scoring sandbox: instances as the materialiser writes them, the
scorer re-running the agent's project on fresh seeds (outputs replayed from another call earn
nothing), the protected files, the hidden intent out of the runs' reach, and the family metrics."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest

from rdbench.tasklib.assist import baselines, intent
from tests.tasks.modules import load_module
from tests.tasks.scoring import fresh_instances, instance_label, instance_workspace, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "extrapolate_intent"
SEED = 3  # a report_test instance (log naming, judged metric, when the test split is read)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    [only] = fresh_instances(TASK, tmp_path_factory.mktemp("cache"), [SEED])
    return only




def test_the_instance_plants_and_records_its_clues(root: Path) -> None:
    label = instance_label(root)
    assert label["kind"] == "report_test" and set(label["clues"]) == set(label["at_stake"])
    files = {str(p.relative_to(root / "workspace")): p.read_text() for p in (root / "workspace").rglob("*")
             if p.is_file()}
    assert {d: {o} for d, o in label["intent"].items()} == intent.clues(files)
    assert "also report how the final model does on the test split" in (root / "instructions.md").read_text()
    # nothing of the intent or the reference is in the workspace
    assert not (root / "workspace" / "label.json").exists() and "oracle" not in json.dumps(sorted(files))


def test_the_scorer_reruns_on_fresh_seeds_and_ignores_replayed_outputs(root: Path, tmp_path: Path) -> None:
    perfect = [score_root(TASK, root, instance_workspace(root, tmp_path), seed=s) for s in (1, 2)]
    assert [p["value"] for p in perfect] == [1.0, 1.0], perfect
    assert perfect[0]["details"]["seed"] != perfect[1]["details"]["seed"]
    assert score_root(TASK, root, instance_workspace(root, tmp_path, reference=False), seed=1)["value"] == 0.0
    # outputs recorded from the reference on call 1's runs, replayed by a train.py that copies them:
    # they pass call 1 (positive control: the replay is faithful) and fail call 2 (a fresh seed)
    checks = load_module(root / "protected" / "checks.py")
    label = instance_label(root)
    seed = random.Random(1).randrange(10, 10**6)
    reference = {str(p.relative_to(root / "workspace")): p.read_text() for p in (root / "workspace").rglob("*")
                 if p.is_file()}
    reference["train.py"] = (root / "reference" / "train.py").read_text()
    recorded = intent.run_local(reference, checks.plan(label["kind"], label["intent"], label["base_config"], seed))
    replay = ("import json, os, sys\ncfg = json.load(open(sys.argv[2]))\nout = RECORDED[os.path.basename(cfg['out_dir'])]\n"
              "os.makedirs(cfg['out_dir'], exist_ok=True)\n"
              "open(os.path.join(cfg['out_dir'], 'log.jsonl'), 'w').write(''.join(json.dumps(r) + '\\n' for r in out['log']))\n"
              "json.dump(out['results'], open(os.path.join(cfg['out_dir'], 'results.json'), 'w'))\n")
    canned = {"train.py": f"RECORDED = {json.dumps(recorded)!r}\nRECORDED = __import__('json').loads(RECORDED)\n"
              + replay}
    same = score_root(TASK, root, instance_workspace(root, tmp_path, canned), seed=1)
    fresh = score_root(TASK, root, instance_workspace(root, tmp_path, canned), seed=2)
    assert same["details"]["explicit"] is True, same
    assert fresh["details"]["explicit"] is False and fresh["value"] == 0.0, fresh


def test_protected_files_and_regressions(root: Path, tmp_path: Path) -> None:
    logger = (root / "workspace" / "logger.py").read_text()
    edited = score_root(TASK, root, instance_workspace(root, tmp_path, {"logger.py": logger + "# tidied\n"}), seed=3)
    assert edited["kind"] == "invalid" and "logger.py is protected" in edited["message"]
    # the reference, but the training loss logged differently: the feature works, a logged number moved
    train = (root / "reference" / "train.py").read_text()
    moved = train.replace("total / len(x_train)", "total / (len(x_train) - 1)")
    assert moved != train
    result = score_root(TASK, root, instance_workspace(root, tmp_path, {"train.py": moved}), seed=3)
    details = result["details"]
    assert details["explicit"] and details["tests_pass"] and not details["off_unchanged"], details
    assert result["value"] == pytest.approx(0.8)


def test_the_textbook_baseline_and_the_metrics(root: Path, tmp_path: Path) -> None:
    files = {str(p.relative_to(root / "workspace")): p.read_text() for p in (root / "workspace").rglob("*")
             if p.is_file()}
    textbook = baselines.textbook_intent(files, instance_label(root)["kind"])
    result = score_root(TASK, root, instance_workspace(root, tmp_path, {"train.py": textbook["train.py"]}, reference=False),
                        seed=4)
    assert result["details"]["explicit"] and 0.4 <= result["value"] < 1.0, result
    metrics = load_module(TASK / "metrics.py").metrics
    m = metrics([result])
    assert m["explicit_rate"] == 1.0 and m["implied_rate"] < 1.0
    assert math.isnan(m["implied_keep_last"])  # not at stake in this instance: missing, not zero


def test_the_hidden_intent_is_out_of_the_runs_reach(root: Path, tmp_path: Path) -> None:
    """The red-team attack that runs the reference only where it finds hidden files gains nothing,
    and does gain when a label is where it looks (positive control: the attack works)."""
    build = load_module(TASK / "redteam" / "intent_from_protected" / "build.py").build
    ws = instance_workspace(root, tmp_path, reference=False)
    build(ws, root)
    assert score_root(TASK, root, ws, seed=5)["value"] == 0.0
    shutil.copy(root / "protected" / "label.json", ws / "label.json")
    assert score_root(TASK, root, ws, seed=5)["value"] == 1.0
