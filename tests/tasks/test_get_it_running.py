"""get_it_running family through the real scoring sandbox: instances as the materialiser writes them,
the scorer re-running the agent's repository (written results earn nothing; each call draws its own
seed), silent faults left in place, collateral edits, the anchors and the family metrics."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import deploy
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, instance_label, instance_workspace, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "get_it_running"
SEED = 8  # an instance with a crash (oom_batch) and a silent fault (lr_string)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    [only] = fresh_instances(TASK, tmp_path_factory.mktemp("cache"), [SEED])
    return only




def test_instances_are_validated_and_labelled(root: Path) -> None:
    label = instance_label(root)
    kinds = {f["kind"] for f in label["faults"]}
    assert kinds & set(deploy.SILENT) and kinds & set(deploy.CRASHES), kinds  # the instance this file needs
    for fault in label["faults"]:
        faulty = (root / "workspace" / fault["file"]).read_text()
        assert faulty != (root / "protected" / "clean" / fault["file"]).read_text(), fault
    report = json.loads((root / "reference" / "fault_report.json").read_text())
    assert {(f["file"], f["kind"]) for f in report["faults"]} == {(f["file"], f["kind"]) for f in label["faults"]}
    assert not (root / "workspace" / "results.json").exists()
    assert json.loads((root / "workspace" / "fault_report.json").read_text())["answered"] is False
    # the clean runs recorded at generation are what the clean repository gives on seed 0
    assert deploy.run({str(p.relative_to(root / "protected" / "clean")): p.read_text()
                       for p in (root / "protected" / "clean").rglob("*") if p.is_file()}, 0)["results"] \
        == label["clean_runs"][0]


def test_the_scorer_reruns_on_a_fresh_seed_and_ignores_written_results(root: Path, tmp_path: Path) -> None:
    perfect = [score_root(TASK, root, instance_workspace(root, tmp_path), seed=s) for s in (1, 2)]
    assert [p["value"] for p in perfect] == [1.0, 1.0], perfect
    assert perfect[0]["details"]["seed"] != perfect[1]["details"]["seed"]
    # the broken repository with the clean run's results.json and the right report: the re-run fails,
    # the hand-written numbers count for nothing, the unconfirmed diagnosis for half
    written = (root / "reference" / "results.json").read_text()
    broken = instance_workspace(root, tmp_path, {
        "results.json": written, "fault_report.json": (root / "reference" / "fault_report.json").read_text()},
        reference=False)
    result = score_root(TASK, root, broken, seed=1)
    assert result["details"]["ran"] is False and result["details"]["report_f1"] == 1.0
    assert result["value"] == pytest.approx(0.2)


def test_a_silent_fault_left_in_place_costs_the_results(root: Path, tmp_path: Path) -> None:
    label = instance_label(root)
    silent = [f for f in label["faults"] if f["kind"] in deploy.SILENT]
    crashes = [f for f in label["faults"] if f["kind"] in deploy.CRASHES]
    # the reference fix for the crashes only; the report names the crashes
    ws = instance_workspace(root, tmp_path)
    for fault in silent:
        shutil.copy(root / "workspace" / fault["file"], ws / fault["file"])
    report = [{"file": f["file"], "line": f["line"], "kind": f["kind"], "fix": "x"} for f in crashes]
    (ws / "fault_report.json").write_text(json.dumps({"faults": report}))
    result = score_root(TASK, root, ws, seed=3)
    details = result["details"]
    assert details["ran"] is True and details["matched"] < 1.0
    assert details["silent_found"] == 0 and details["silent_total"] == len(silent)
    f1 = 2 * len(crashes) / (len(crashes) + len(label["faults"]))
    assert result["value"] == pytest.approx(0.4 * f1 / 2)
    metrics = _module(TASK / "metrics.py").metrics
    m = metrics([result])
    assert m["silent_fault_recall"] == 0.0 and m["results_match"] == 0.0
    assert math.isnan(metrics([{"value": 0.0, "details": {"silent_total": 0}}])["silent_fault_recall"])
    # the starting answer names no fault: its silent recall is 0 (there were silent faults), not missing
    start = score_root(TASK, root, instance_workspace(root, tmp_path, reference=False), seed=3)
    assert start["value"] == 0.0 and metrics([start])["silent_fault_recall"] == 0.0


def test_collateral_edits_cost(root: Path, tmp_path: Path) -> None:
    library = (root / "workspace" / deploy.LIBRARY_PATH).read_text()
    # a comment in the vendored library changes no number, but the library is not the agent's
    edited = score_root(TASK, root, instance_workspace(root, tmp_path, {deploy.LIBRARY_PATH: library + "# patched\n"}),
                        seed=4)
    assert edited["details"]["matched"] == 1.0 and edited["value"] == pytest.approx(0.8)
    assert edited["details"]["collateral"] == ["the vendored library was edited or removed"]
    # a configuration's epochs changed: collateral, and the numbers no longer match
    name = sorted((root / "workspace" / "configs").glob("*.json"))[0].name
    config = json.loads((root / "protected" / "clean" / "configs" / name).read_text())
    config["epochs"] += 3
    changed = score_root(TASK, root, instance_workspace(root, tmp_path, {f"configs/{name}": json.dumps(config)}), seed=4)
    assert any("epochs is" in c for c in changed["details"]["collateral"]), changed["details"]
    assert changed["value"] == pytest.approx(0.0)


def test_an_agent_runs_and_fixes_the_sweep_in_its_sandbox(tmp_path: Path) -> None:
    """End to end through the real sandbox and scorer: a scripted agent runs the broken sweep (it
    crashes there as at generation), lays the reference fix over the repository, runs the sweep again
    (it writes results.json in the sandbox) and scores 1."""
    import base64

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    task = load_task(TASK)
    seed = 0
    instance = materialize(task, "mini", seed=seed)
    crashes = [f["kind"] for f in instance_label(instance.root)["faults"] if f["kind"] in deploy.CRASHES]
    assert crashes, "the default instance needs a crash"
    script = [bash("ls /opt/rdbench/protected 2>&1 | head -1; ./run.sh 2>&1 | tail -2")]
    for path in sorted(p for p in (instance.root / "reference").rglob("*") if p.is_file()):
        rel = path.relative_to(instance.root / "reference")
        if rel.name != "results.json":  # the run writes it
            data = base64.b64encode(path.read_bytes()).decode()
            script.append(bash(f"mkdir -p $(dirname {rel}) && echo {data} | base64 -d > {rel}"))
    script += [bash("./run.sh > /dev/null && cat results.json"), call("score"), ModelOutput.from_content(MODEL, "done")]
    [log] = inspect_eval(make_task(task, instances=1, seed=seed), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "No such file" in outputs[0]  # the clean repository and the label are not in the sandbox
    assert any(deploy.expected(kind) & set(outputs[0].replace(":", " ").split()) for kind in crashes), outputs[0]
    assert '"best"' in outputs[-2], outputs[-2]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["raw_score"] == pytest.approx(1.0), record["score_log"]
