"""learn_preferences family: validated sessions via the materialiser, the generator refusing sessions
that break its rules, the researcher's corrections (at most two a turn, never repeated, explicit or a
pointer to a file that follows the preference), receipts that cannot be forged, edited or reordered
(through the real scoring sandbox), the anchors, the two plain-code baselines and the metrics."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import baselines, preferences
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "learn_preferences"
SERVICE = _module(TASK / "protected" / "researcher_service.py")
PREFS = _module(TASK / "protected" / "prefs.py")
GENERATE = _module(TASK / "generate.py")
PARAMS: dict[str, Any] = {"turns": 10, "scale": "mini", "seed": 3}


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fresh_instances(TASK, tmp_path_factory.mktemp("cache"), range(4))


def _session(root: Path) -> dict[str, Any]:
    session: dict[str, Any] = json.loads((root / "protected" / "session.json").read_text())
    return session


def _runs(root: Path) -> dict[str, Any]:
    runs = {}
    for path in sorted((root / "workspace" / "runs").iterdir()):
        record = json.loads((path / "metrics.json").read_text())
        seeds = [s["val_loss"] for s in record["seeds"]]
        mean = sum(seeds) / 3
        runs[path.name] = {"model": record["model"], "width": record["width"], "lr": record["lr"], "seeds": seeds,
                           "mean": mean, "std": (sum((x - mean) ** 2 for x in seeds) / 2) ** 0.5,
                           "minutes": record["train_minutes"], "curve": record["curve"]}
    return runs


def _score(root: Path, tmp: Path, answer: dict[str, Any] | None = None, reference: bool = False) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / ("reference" if reference else "workspace"), ws)
    if answer is not None:
        (ws / "answer.json").write_text(json.dumps(answer))
    return score_root(TASK, root, ws, **PARAMS)


def _drive(root: Path, solver: baselines.PreferenceMemory) -> tuple[dict[str, Any], list[str]]:
    """Runs a whole session of ``solver`` through the real service; returns answer.json and the replies."""
    session, runs, state = _session(root), _runs(root), {}
    turns, replies = [], []
    for k, request in enumerate(session["turns"], start=1):
        files = solver.answer(request, runs, k)
        reply = SERVICE.handle({"submit": True, "files": files}, root / "protected", PARAMS, state)["output"]
        replies.append(reply)
        solver.hear(reply)
        turns.append({"receipt": reply.split("receipt: ")[1].strip(), "files": files})
    return {"turns": turns}, replies


def test_sessions_are_validated(instances: list[Path]) -> None:
    for root in instances:
        session = _session(root)
        profile, pointers = session["profile"], session["pointers"]
        assert len(profile) == 6 and len(session["turns"]) == 10
        ws = root / "workspace"
        runs = {n: {k: r[k] for k in ("mean", "std", "minutes")} for n, r in _runs(root).items()}
        for dim, mode in session["modes"].items():
            if mode == "pointer":  # the file pointed to follows the preference, read with the scorer's checks
                item = next(p for p in session["past"] if pointers[dim] in p["paths"])
                files = {path: (ws / path).read_text() for path in item["paths"]}
                result = PREFS.evaluate(item["request"], files, {"runs": runs, "files": []}, set())
                assert result["follows"][dim] == profile[dim], (dim, pointers[dim])
            if dim in session["inferable"]:  # every past file it applies to follows it
                for item in session["past"]:
                    files = {path: (ws / path).read_text() for path in item["paths"]}
                    follows = PREFS.evaluate(item["request"], files, {"runs": runs, "files": []}, set())["follows"]
                    assert follows.get(dim, profile[dim]) == profile[dim], (dim, item["paths"])
        perfect = json.loads((root / "reference" / "answer.json").read_text())["turns"]
        judged = PREFS.replay([t["files"] for t in perfect], session["turns"], profile, session["modes"], pointers,
                              {"runs": runs, "files": session["data"]["files"]})
        assert all(j["value"] == 1.0 and not j["corrections"] for j in judged)
        for dim in profile:
            assert sum(dim in j["follows"] for j in judged) >= 3


def test_generation_refuses_a_repository_that_breaks_its_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    runs = preferences.runs_data(rng)
    profile = {"loss_units": "bits", "config_format": "yaml"}
    _files, pointers, problems, _ = GENERATE.repository(random.Random(1), runs, profile, {"loss_units"}, PREFS)
    assert not problems and pointers["loss_units"] and pointers["config_format"]
    real = preferences.examples
    # past files that ignore the inferable set: the inferable preference is no longer followed by all
    monkeypatch.setattr(preferences, "examples", lambda r, ru, p, inf, d: real(r, ru, p, set(), d))
    _, _, problems, _ = GENERATE.repository(random.Random(1), runs, profile, {"loss_units"}, PREFS)
    assert any("inferable loss_units is not followed" in p for p in problems), problems
    # a writer whose tables do not read back as written
    monkeypatch.setattr(preferences, "examples", real)
    render = preferences.render
    monkeypatch.setattr(preferences, "render", lambda req, style, r, t: render(req, {**style, "loss_units": "nats"}, r, t))
    _, _, problems, _ = GENERATE.repository(random.Random(1), runs, profile, {"loss_units"}, PREFS)
    assert any("reads as loss_units=nats, written as bits" in p for p in problems), problems


def test_the_researcher_corrects_each_preference_once(instances: list[Path], tmp_path: Path) -> None:
    root = instances[0]
    session = _session(root)
    state: dict[str, Any] = {}
    assert SERVICE.handle({"request": True}, root / "protected", PARAMS, state)["output"].startswith("Request 1 of 10")
    assert SERVICE.handle({"submit": True, "files": "x"}, root / "protected", PARAMS, state)["exit_code"] == 2
    answer, replies = _drive(root, baselines.PreferenceMemory(learn=False))
    # a reply: "Thanks.", the corrections, a blank line, the next request, the receipt
    given = [reply.split("\n\n")[0].splitlines()[1:] for reply in replies]
    said = [line for lines in given for line in lines if not line.startswith("Hmm")]
    assert said and all(len(lines) <= 2 for lines in given)
    assert len(said) == len(set(said))  # nothing is said twice
    explicit = {PREFS.DIMS[d]["say"][session["profile"][d]] for d in session["profile"]}
    for line in said:
        if line.startswith("Have a look at how "):
            assert line.split("how ")[1].split(" does it")[0] in session["pointers"].values(), line
        else:
            assert line in explicit, line
    # the stateless defaults keep violating what was corrected: repeats, counted, never said again
    replayed = _score(root, tmp_path, answer)
    assert replayed["details"]["repeated_violations"] > 0
    state = {"turn": 10}
    assert SERVICE.handle({"submit": True, "files": {"a.md": "x"}}, root / "protected", PARAMS, state)["exit_code"] == 1


def test_receipts_cannot_be_forged_edited_or_reordered(instances: list[Path], tmp_path: Path) -> None:
    root = instances[1]
    reference = json.loads((root / "reference" / "answer.json").read_text())["turns"]
    two = _score(root, tmp_path, {"turns": reference[:2]})
    assert two["kind"] == "scored" and two["value"] == pytest.approx(3 / 55)  # turns 1 and 2 of weights 1..10
    edited = json.loads(json.dumps(reference[0]))
    path = sorted(edited["files"])[0]
    edited["files"][path] = edited["files"][path].replace("0", "1", 1)
    assert "digest mismatch" in _score(root, tmp_path, {"turns": [edited]})["message"]
    assert "must be in order" in _score(root, tmp_path, {"turns": [reference[1], reference[0]]})["message"]
    forged = {"receipt": reference[0]["receipt"][:-4] + "abcd", "files": reference[0]["files"]}
    assert "signature invalid" in _score(root, tmp_path, {"turns": [forged]})["message"]


def test_anchors_baselines_and_metrics(instances: list[Path], tmp_path: Path) -> None:
    metrics = _module(TASK / "metrics.py").metrics
    ref = [_score(r, tmp_path, reference=True) for r in instances]
    assert all(r["value"] == pytest.approx(1.0) for r in ref)
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["value"] == 0.0 for s in start)
    stateless = [_score(r, tmp_path, _drive(r, baselines.PreferenceMemory(learn=False))[0]) for r in instances]
    memory = [_score(r, tmp_path, _drive(r, baselines.PreferenceMemory(learn=True))[0]) for r in instances]
    mean = {name: sum(x["value"] for x in xs) / len(xs) for name, xs in (("stateless", stateless), ("memory", memory))}
    assert 0.3 < mean["stateless"] < mean["memory"] < 1.0, mean
    m_ref, m_stateless, m_memory = metrics(ref), metrics(stateless), metrics(memory)
    assert m_ref["repeated_violations_per_session"] == 0 and m_ref["compliance_turns_8_10"] == 1.0
    assert m_stateless["repeated_violations_per_session"] > m_memory["repeated_violations_per_session"]
    assert m_memory["compliance_turns_8_10"] > m_memory["compliance_turns_1_3"]


def test_a_session_through_the_sandbox(tmp_path: Path) -> None:
    """End to end: a scripted agent asks for each request, writes the reference's files for it and sends
    them with the workspace's submit.py to the real researcher service; the signed session scores 1."""
    import base64

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    task = load_task(TASK)
    root = materialize(task, "mini", seed=0).root
    turns = json.loads((root / "reference" / "answer.json").read_text())["turns"]
    script = [bash("ls /opt/rdbench/protected 2>&1 | head -1; researcher --request")]
    for turn in turns:
        writes = []
        for path, text in turn["files"].items():
            data = base64.b64encode(text.encode()).decode()
            writes.append(f"mkdir -p $(dirname {path}) && echo {data} | base64 -d > {path}")
        main = next(p for p in sorted(turn["files"]) if not (p.endswith(".json") and p[:-5] in turn["files"]))
        script.append(bash(" && ".join(writes) + f" && python submit.py {main} | tail -3"))
    script += [call("score"), ModelOutput.from_content(MODEL, "done")]
    [log] = inspect_eval(make_task(task, instances=1, seed=0), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "No such file" in outputs[0] and "Request 1 of 10" in outputs[0], outputs[0]
    assert "receipt: 10:" in outputs[10] and "That was everything" in outputs[10], outputs[10]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["raw_score"] == pytest.approx(1.0)
