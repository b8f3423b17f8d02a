"""report_progress family: validated campaigns via the materialiser, the truth rules, the service's
no-read-ahead and signing rules, receipts that cannot be forged, edited or back-dated (through the real
scoring sandbox), the anchors (reference 1, start 0), the template baseline and the family metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import baselines, campaign
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "report_progress"
SERVICE = _module(TASK / "protected" / "progress_service.py")
GENERATE = _module(TASK / "generate.py")
PARAMS: dict[str, Any] = {"checkpoints": 4, "scale": "mini", "seed": 3}


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fresh_instances(TASK, tmp_path_factory.mktemp("cache"), range(4))


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _score(root: Path, tmp: Path, answer: dict[str, Any] | None = None, reference: bool = False) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / ("reference" if reference else "workspace"), ws)
    if answer is not None:
        (ws / "answer.json").write_text(json.dumps(answer))
    return score_root(TASK, root, ws, **PARAMS)


def _drive(root: Path, solver: Any) -> dict[str, Any]:
    """Drives ``solver(revealed_text, now) -> update`` through the real service; returns answer.json."""
    state: dict[str, Any] = {}
    revealed, updates = "", []
    for t in _json(root / "protected" / "label.json")["checkpoints"]:
        revealed += "\n" + SERVICE.handle({"advance": True}, root / "protected", PARAMS, state)["output"]
        reply = SERVICE.handle({"update": True, **solver(revealed, t)}, root / "protected", PARAMS, state)["output"]
        receipt, signed = reply.split("receipt: ")[1].split("\nsigned update (copy it with the receipt): ")
        updates.append({"receipt": receipt, "update": json.loads(signed)})
    return {"updates": updates}


def test_instances_are_validated_and_truth_follows_the_logs(instances: list[Path]) -> None:
    for root in instances:
        label = _json(root / "protected" / "label.json")
        truths = _json(root / "protected" / "truth.json")
        times = label["checkpoints"]
        assert times == sorted(times) and len(times) == 4 and times[-1] >= label["end"]
        final = truths[-1]
        assert final["events"] and final["best_run"] is not None  # every instance has something to report
        for run, state in final["states"].items():
            outcome = label["runs"][run]["outcome"]
            if outcome in ("crashed", "stalled", "finished_early"):
                assert state == outcome, (run, state, outcome)
            plan = label["runs"][run]["plan"]
            if plan["fault"] == "diverged" and outcome != "queued":
                assert state == "diverged"
        # the truth only ever uses what was revealed: the best metric is a number some line shows
        for truth in truths:
            if truth["best_metric"] is not None:
                assert f"{truth['best_metric']:.4f}" in truth["revealed_numbers"]


def test_validation_refuses_a_campaign_whose_planned_fault_did_not_happen() -> None:
    plans = [campaign.RunPlan("run-a", 0.01, 32, 4000, 100, 30.0),
             campaign.RunPlan("run-b", 0.01, 32, 4000, 100, 30.0, fault="crashed", fault_step=50)]
    record = campaign.record(plans, 2, 0)
    final = campaign.truth_at(record, record["end"] + 10)
    assert GENERATE.validate(record, plans, final) is None
    # the same record, claimed to come from a plan where run-a was to diverge: refused
    wrong = [campaign.RunPlan("run-a", 0.01, 32, 4000, 100, 30.0, fault="diverged", fault_step=20), plans[1]]
    assert "planned to end diverged" in str(GENERATE.validate(record, wrong, final))
    quiet = campaign.record(plans[:1], 1, 0)
    assert "no anomaly" in str(GENERATE.validate(quiet, plans[:1], campaign.truth_at(quiet, quiet["end"] + 1)))


def test_a_silent_run_is_stalled_only_after_five_intervals() -> None:
    plans = [campaign.RunPlan("run-a", 0.01, 32, 4000, 200, 20.0, fault="stalled", fault_step=101)]
    record = campaign.record(plans, 1, 0)
    last = record["runs"]["run-a"]["last_line"]
    interval = campaign.LOG_EVERY / 20.0
    assert campaign.truth_at(record, last + 4 * interval)["states"]["run-a"] == "running"
    later = campaign.truth_at(record, last + 6 * interval)
    assert later["states"]["run-a"] == "stalled" and later["actions"] == [["run-a", "stop"]]


def test_service_refuses_read_ahead_and_signs_once(instances: list[Path], tmp_path: Path) -> None:
    root = instances[0]
    protected, state = root / "protected", {}
    times = _json(protected / "label.json")["checkpoints"]
    assert SERVICE.handle({"update": True, "summary": "x"}, protected, PARAMS, state)["exit_code"] == 1
    first = SERVICE.handle({"advance": True}, protected, PARAMS, state)["output"]
    stamps = [float(line.split()[0][2:]) for line in first.splitlines() if line.startswith("t=")]
    assert stamps and max(stamps) <= times[0]  # nothing after the first checkpoint
    assert SERVICE.handle({"update": True, "summary": "x", "extra": 1}, protected, PARAMS, state)["exit_code"] == 2
    reply = SERVICE.handle({"update": True, "summary": "x"}, protected, PARAMS, state)
    assert reply["exit_code"] == 0 and reply["output"].startswith("receipt: 1:")
    assert SERVICE.handle({"update": True, "summary": "y"}, protected, PARAMS, state)["exit_code"] == 1
    for _ in range(3):
        SERVICE.handle({"advance": True}, protected, PARAMS, state)
    assert SERVICE.handle({"advance": True}, protected, PARAMS, state)["exit_code"] == 1  # the campaign is over


def test_receipts_cannot_be_forged_edited_or_back_dated(instances: list[Path], tmp_path: Path) -> None:
    root = instances[1]
    reference = _json(root / "reference" / "answer.json")["updates"]
    good = _score(root, tmp_path, {"updates": reference[:1]})
    assert good["kind"] == "scored" and good["value"] == pytest.approx(0.25)  # one of four checkpoints
    edited = json.loads(json.dumps(reference[0]))
    edited["update"]["best_run"] = "run-z"
    assert "digest mismatch" in _score(root, tmp_path, {"updates": [edited]})["message"]
    last = reference[-1]
    _k, _t, digest, mac = last["receipt"].split(":")
    moved = {"receipt": f"1:{reference[0]['receipt'].split(':')[1]}:{digest}:{mac}", "update": last["update"]}
    assert "signature invalid" in _score(root, tmp_path, {"updates": [moved]})["message"]
    assert "two updates" in _score(root, tmp_path, {"updates": [reference[0], reference[0]]})["message"]


def test_anchors_baseline_invented_numbers_and_metrics(instances: list[Path], tmp_path: Path) -> None:
    metrics = _module(TASK / "metrics.py").metrics
    ref = [_score(r, tmp_path, reference=True) for r in instances]
    assert all(r["value"] == pytest.approx(1.0) for r in ref), [r["value"] for r in ref]
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["value"] == 0.0 for s in start)
    m = metrics(ref)
    assert m["states_accuracy"] == pytest.approx(1.0) and m["event_recall"] == 1.0
    assert m["invented_numbers_per_update"] == 0.0 and metrics(start)["updates_made"] == 0.0
    base = [_score(r, tmp_path, _drive(r, baselines.template_progress)) for r in instances]
    mean = sum(b["value"] for b in base) / len(base)
    assert 0.2 < mean < 0.95, [b["value"] for b in base]
    assert metrics(base)["states_accuracy"] < 1.0
    # the same perfect updates with one number the logs never showed lose 0.1 at that checkpoint

    def perfect_but_invented(revealed: str, now: float) -> dict[str, Any]:
        k = [t for t in _json(instances[2] / "protected" / "label.json")["checkpoints"]].index(now)
        update: dict[str, Any] = _json(instances[2] / "reference" / "answer.json")["updates"][k]["update"]
        update["summary"] += "; throughput up 37.25 %"
        return update

    invented = _score(instances[2], tmp_path, _drive(instances[2], perfect_but_invented))
    assert invented["value"] == pytest.approx(0.9, abs=1e-6)
    assert all(j["invented"] == ["37.25"] for j in invented["details"]["judged"])


def test_an_agent_drives_the_service_through_the_sandbox(tmp_path: Path) -> None:
    """End to end: a scripted agent follows the campaign with the real ``progress`` command in its
    sandbox, fills each update with the template baseline and submits the signed updates; the final
    score is the one the same updates get outside the harness."""
    import base64
    import inspect

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    task = load_task(TASK)
    fill = ("import json, math, re, sys\nfrom typing import Any\n\n" + inspect.getsource(baselines.template_progress)
            + "\ntext = open('log.txt').read()\nnow = float(re.findall(r'clock is at t=(\\S+) min', text)[-1])\n"
            "print(json.dumps(template_progress(text, now)))\n")
    collect = ("import json\nupdates = []\nfor k in range(1, 5):\n    reply = open(f'r{k}.txt').read()\n"
               "    receipt, signed = reply.split('receipt: ')[1].split('\\nsigned update (copy it with the receipt): ')\n"
               "    updates.append({'receipt': receipt.strip(), 'update': json.loads(signed)})\n"
               "json.dump({'updates': updates}, open('answer.json', 'w'))\n")
    encoded = {name: base64.b64encode(text.encode()).decode() for name, text in (("fill.py", fill), ("collect.py", collect))}
    script = [
        bash("ls /opt/rdbench/protected 2>&1 | head -1; " + "; ".join(f"echo {data} | base64 -d > {name}"
                                                                      for name, data in encoded.items())),
        bash("for k in 1 2 3 4; do progress --advance >> log.txt && python fill.py > u.json && "
             "progress --update < u.json > r$k.txt; done; python collect.py && head -c 200 answer.json"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    [log] = inspect_eval(make_task(task, instances=1, seed=0), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "No such file" in outputs[0] and '"updates"' in outputs[1], outputs[:2]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    root = materialize(task, "mini", seed=0).root
    expected = _score(root, tmp_path, _drive(root, baselines.template_progress))
    assert record["raw_score"] == pytest.approx(expected["value"]) and 0 < expected["value"] < 1
