"""extrapolate_intent's ask variant (the `ask` scale): the researcher's `ask` service answers from the
hidden intent only, the question count reaches the real scorer through a signed receipt and costs
what the instructions say, receipts cannot be forged, back-dated or replayed from another instance or
submission, the count cannot be reset, the red-team attacks on it are caught, and without the
variant nothing changes. Ends with a scripted agent asking one question in the real sandbox."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from rdbench.scoring.redteam import load_attacks, run_redteam
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import intent_ask
from tests.harness.test_e2e import bash, call
from tests.tasks.modules import load_module
from tests.tasks.scoring import fresh_instances, instance_label, instance_workspace, score_root
from tests.tasks.scripted import run_script

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "extrapolate_intent"
ASK = {"ask": True, "ask_questions": 5, "ask_cost": 0.1, "scale": "ask"}  # the ask scale's params
ASKING = load_module(TASK / "protected" / "asking.py")
OPTIONS = load_module(TASK / "protected" / "checks.py").DIMS


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Instance 3 (report_test) in the ask variant and in mini (the same instance), and instance 1 in the
    ask variant."""
    cache = tmp_path_factory.mktemp("cache")
    ask3, ask1 = fresh_instances(TASK, cache, [3, 1], scale="ask")
    [mini3] = fresh_instances(TASK, cache, [3], scale="mini")
    return {"ask3": ask3, "ask1": ask1, "mini3": mini3}


def service(root: Path) -> Any:
    """A freshly loaded service module (as after a restart of the harness's module cache)."""
    return load_module(root / "protected" / "ask_service.py")


def ask(root: Path, state: dict[str, Any], params: dict[str, Any] | None = None, **request: Any) -> dict[str, Any]:
    reply: dict[str, Any] = service(root).handle(request, root / "protected", params or ASK, state)
    return reply


def test_the_service_answers_from_the_intent_only(roots: dict[str, Path]) -> None:
    root = roots["ask3"]
    label = instance_label(root)
    want, at_stake = label["intent"], label["at_stake"]
    setup = json.loads((root / "protected" / "ask.json").read_text())
    assert sorted(setup["answers"]) == sorted(at_stake)  # the service holds no other answer
    state: dict[str, Any] = {}
    for dim in at_stake:
        out = ask(root, state, argv=[dim])["output"]
        said = intent_ask.in_plain_words(dim, want[dim])
        other = next(o for o in OPTIONS[dim] if o != want[dim])
        assert out.startswith(said) and intent_ask.in_plain_words(dim, other) not in out, (dim, out)
        assert setup["key"] not in out
    assert len(state["questions"]) == len(at_stake)
    # free text, matched by keywords (report_test: log naming, judged metric, when the test split is read)
    state = {}
    assert ask(root, state, question="Which metric do you want reported?")["output"].startswith(
        intent_ask.in_plain_words("judged_metric", want["judged_metric"]))
    assert ask(root, state, question="What is your favourite colour?")["output"].startswith("I don't know")
    assert ask(root, state, question="config and keep?")["output"].startswith("One thing at a time")
    assert ask(root, state, question="Should I keep every checkpoint?")["output"].startswith(
        "That doesn't matter for this request")  # keep_last is not at stake here: nothing of it is said
    assert ask(root, state, question="Which folder?")["output"].startswith("That doesn't matter")
    refused = ask(root, state, argv=["log_naming"])
    assert refused["exit_code"] == 1 and "not counted" in refused["output"]  # past the 5 questions
    assert len(state["questions"]) == 5 and "5 question(s) asked" in ask(root, state, status=True)["output"]


def test_the_count_cannot_be_reset_or_dodged(roots: dict[str, Path], tmp_path: Path) -> None:
    root = roots["ask3"]
    key = json.loads((root / "protected" / "ask.json").read_text())["key"]
    state: dict[str, Any] = {}
    ask(root, state, argv=["log_naming"])
    ask(root, state, question="when do you look at the test split?")
    digest = ASKING.project_digest(instance_workspace(root, tmp_path))
    first = ask(root, state, submit=digest)["output"].split("receipt: ")[1]
    assert ASKING.verify(key, first) == (2, digest)
    # a question after the submission is refused and not counted; a restarted service (a fresh module,
    # the run's state kept by the harness) and a second submission sign the same count
    late = ask(root, state, argv=["judged_metric"])
    assert late["exit_code"] == 1 and "closed" in late["output"]
    assert ask(root, state, submit=digest)["output"].split("receipt: ")[1] == first
    assert ASKING.verify(key, ask(root, state, submit="0" * 32)["output"].split("receipt: ")[1])[0] == 2
    assert "2 question(s) asked" in ask(root, state, argv=["status"])["output"]  # the command, not a question
    assert ask(root, state, submit="not-a-digest")["exit_code"] == 2


def test_the_helper_digests_the_project_as_the_scorer_does(roots: dict[str, Path], tmp_path: Path) -> None:
    ws = instance_workspace(roots["ask3"], tmp_path)
    for rel in ("runs/base/log.jsonl", "out/x/results.json", "sub/__pycache__/a.pyc", "ask_receipt.txt"):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("ignored")
    helper = load_module(ws / "submit_project.py")
    before = ASKING.project_digest(ws)
    assert helper.project_digest(str(ws)) == before
    (ws / "sub" / "extra.py").write_text("x = 1\n")
    assert helper.project_digest(str(ws)) == ASKING.project_digest(ws) != before  # a project file counts


def receipt_for(root: Path, ws: Path, questions: int, *, key_of: Path | None = None) -> None:
    """Writes the receipt the service of ``key_of`` (default: ``root``) signs for ``ws`` after ``questions``."""
    key = json.loads(((key_of or root) / "protected" / "ask.json").read_text())["key"]
    (ws / "ask_receipt.txt").write_text(ASKING.sign(key, questions, ASKING.project_digest(ws)) + "\n")


def test_the_count_reaches_the_scorer_and_costs(roots: dict[str, Path], tmp_path: Path) -> None:
    root = roots["ask3"]
    perfect = score_root(TASK, root, instance_workspace(root, tmp_path), seed=1, scale="ask")
    assert perfect["value"] == pytest.approx(1.0) and perfect["details"]["questions"] == 0, perfect
    ws = instance_workspace(root, tmp_path)
    state: dict[str, Any] = {}
    ask(root, state, argv=["log_naming"])
    ask(root, state, argv=["test_once"])
    reply = ask(root, state, submit=ASKING.project_digest(ws))["output"]
    (ws / "ask_receipt.txt").write_text(reply.split("receipt: ")[1] + "\n")
    two = score_root(TASK, root, ws, seed=1, scale="ask")
    assert two["value"] == pytest.approx(0.8), two
    assert two["details"]["questions"] == 2 and two["details"]["value_before_questions"] == pytest.approx(1.0)
    assert "2 question(s) asked: -0.20 (0.1 each" in two["message"]
    # the value never goes below 0: the untouched project (nothing works) after 2 questions
    start = instance_workspace(root, tmp_path, reference=False)
    receipt_for(root, start, 2)
    assert score_root(TASK, root, start, seed=1, scale="ask")["value"] == 0.0
    (ws / "ask_receipt.txt").unlink()
    missing = score_root(TASK, root, ws, seed=1, scale="ask")
    assert missing["value"] == 0.0 and "no ask_receipt.txt" in missing["message"]


def test_receipts_cannot_be_forged_backdated_or_replayed(roots: dict[str, Path], tmp_path: Path) -> None:
    root = roots["ask3"]
    ws = instance_workspace(root, tmp_path)
    receipt_for(root, ws, 3)
    genuine = (ws / "ask_receipt.txt").read_text()
    (ws / "ask_receipt.txt").write_text(genuine.replace("ask:3:", "ask:0:"))  # back-dated
    back = score_root(TASK, root, ws, seed=2, scale="ask")
    assert back["kind"] == "invalid" and "signature invalid" in back["message"], back
    receipt_for(root, ws, 0, key_of=roots["ask1"])  # another instance's service, same project
    other = score_root(TASK, root, ws, seed=2, scale="ask")
    assert other["kind"] == "invalid" and "signature invalid" in other["message"], other
    start = instance_workspace(root, tmp_path, reference=False)
    receipt_for(root, start, 0)  # another submission's receipt (the starting project, before asking)
    early = (start / "ask_receipt.txt").read_text()
    ws = instance_workspace(root, tmp_path)
    (ws / "ask_receipt.txt").write_text(early)
    replayed = score_root(TASK, root, ws, seed=2, scale="ask")
    assert replayed["kind"] == "invalid" and "not the one its ask receipt signed" in replayed["message"], replayed
    (ws / "ask_receipt.txt").write_text("ask:0:deadbeef\n")
    assert "malformed" in score_root(TASK, root, ws, seed=2, scale="ask")["message"]


def test_the_red_team_attacks_on_asking_are_caught() -> None:
    task = load_task(TASK)
    names = [a.name for a in load_attacks(task) if a.spec.scales == ["ask"]]
    assert len(names) >= 3
    results = asyncio.run(run_redteam(task, scale="ask", names=names))
    assert {r.attack for r in results} == set(names)
    assert all(r.caught for r in results), [(r.attack, r.got, r.message) for r in results]


def test_without_the_ask_variant_nothing_changes(roots: dict[str, Path], tmp_path: Path) -> None:
    ask3, mini3 = roots["ask3"], roots["mini3"]
    assert instance_label(ask3) == instance_label(mini3)  # the same instance, the same hidden label

    def files(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}

    extra = {"workspace": {"submit_project.py"}, "reference": {"ask_receipt.txt"}, "protected": {"ask.json"}}
    for sub, added in extra.items():
        a, m = files(ask3 / sub), files(mini3 / sub)
        assert set(a) - set(m) == added and {p: a[p] for p in m} == m, sub
    told, told_mini = (ask3 / "instructions.md").read_text(), (mini3 / "instructions.md").read_text()
    assert told.startswith(told_mini) and "Asking the researcher" in told[len(told_mini):]
    assert "ask " not in told_mini and "receipt" not in told_mini
    # the service says asking is not part of this variant, and counts nothing
    state: dict[str, Any] = {}
    reply = ask(mini3, state, {"scale": "mini"}, argv=["log_naming"])
    assert reply["exit_code"] == 2 and "not part of this variant" in reply["output"] and state == {}
    # the scorer ignores receipts (and their absence): the same value and details as before
    ws = instance_workspace(mini3, tmp_path)
    (ws / "ask_receipt.txt").write_text("ask:9:" + "0" * 32 + ":" + "0" * 32 + "\n")
    result = score_root(TASK, mini3, ws, seed=1)
    assert result["value"] == pytest.approx(1.0) and "questions" not in result["details"], result
    metrics = load_module(TASK / "metrics.py").metrics
    assert "questions_asked" not in metrics([result])
    assert metrics([{"value": 0.9, "details": {**result["details"], "questions": 1}}])["questions_asked"] == 1.0


def test_a_scripted_agent_asks_once_then_implements_the_answer(tmp_path: Path) -> None:
    """End to end through Inspect, the sandbox, the real service and the real scorer (instance 3 of
    the ask scale: report_test): one question about the log naming, the answer implemented (the
    reference), the project submitted; deleting the receipt and submitting again, or asking through
    `hostcall` after the submission, changes nothing. The value: perfect minus one question."""
    from rdbench.task.assets import materialize

    root = materialize(load_task(TASK), "ask", seed=3).root
    reference = [p for p in sorted((root / "reference").rglob("*")) if p.is_file() and p.name != "ask_receipt.txt"]
    writes = []
    for path in reference:
        rel = path.relative_to(root / "reference")
        writes.append(f"echo {base64.b64encode(path.read_bytes()).decode()} | base64 -d > {rel}")
    script = [bash("ask --question 'How should the new keys be named?'"),
              bash(" && ".join(writes) + " && python submit_project.py"),
              bash("rm ask_receipt.txt && python submit_project.py && hostcall ask test_once; ask status"),
              call("score")]
    run = run_script(str(TASK), script, tmp_path, scale="ask", instances=1, seed=3)
    want = instance_label(root)["intent"]["log_naming"]
    assert intent_ask.in_plain_words("log_naming", want) in run.outputs[0], run.outputs
    assert "receipt: ask:1:" in run.outputs[1], run.outputs
    assert "Questions closed" in run.outputs[2] and "receipt: ask:1:" in run.outputs[2], run.outputs
    assert "1 question(s) asked" in run.outputs[2], run.outputs
    record = run.sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["raw_score"] == pytest.approx(0.9), run.score_log
    assert record["service_usage"]["ask"] >= 4
