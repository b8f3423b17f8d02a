"""finetune_chat: the judge's rubric, its budget, hidden data from the sandbox, and the real scorer."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from rdbench.paths import package_root
from rdbench.task.assets import Materialized, materialize
from rdbench.task.loader import load_task
from tests.tasks.modules import load_module
from tests.tasks.scoring import as_dict, score_materialized

TASK = package_root() / "tasks" / "finetune_chat"
PY = sys.executable
FINISH = "finish : the old dog that sees the cats"
WHO = "who sees ? the old dog that sees the cats runs ."

def _module_registered(path: Path, name: str) -> ModuleType:
    return load_module(path, name, register=True)





@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, Any]:
    """The hidden judge with the grammar prepare.py writes (no model training needed)."""
    prep = _module_registered(TASK / "prepare.py", "fc_prepare_test")
    path = tmp_path_factory.mktemp("fc_grammar") / "grammar.json"
    path.write_text(json.dumps(prep.grammar_json()))
    mod = _module_registered(TASK / "protected" / "judge.py", "fc_judge_test")
    return mod, mod.Grammar.load(path)


@pytest.fixture(scope="module")
def prepared() -> Materialized:
    """The task's real prepared assets (built once and cached, as `rdbench check` uses them)."""
    return materialize(load_task(TASK), "mini")


def test_spec_budget_matches_params() -> None:
    task = load_task(TASK)
    [svc] = task.spec.services
    assert svc.name == "judge" and (TASK / "protected" / svc.module).is_file()
    for scale in ("mini", "full"):
        assert task.spec.scale(scale).params["judge_budget"] == svc.budget
    assert task.spec.scoring.direction == "higher" and task.spec.scoring.aggregation == "best"
    assert "disqualifies the run" in (TASK / "instructions.md").read_text()


def test_judge_rubric_orders_answers(judge: tuple[ModuleType, Any]) -> None:
    j, g = judge
    # finish: agreement with "dog" (not the attractor "cats"), a clean stop and brevity all count
    assert j.points(g, FINISH, "runs .") == 4
    assert j.points(g, FINISH, "sees the red fox that sleeps .") == 3  # grammatical but long
    assert j.points(g, FINISH, "runs . runs .") == 3  # does not stop
    assert j.points(g, FINISH, "run .") == 2  # agrees with the attractor
    assert j.points(g, FINISH, "the . dog") == 0
    assert j.points(g, FINISH, "") == 0
    # who: the right noun phrase, exactly, then stop
    assert j.points(g, WHO, "the old dog .") == 4
    assert j.points(g, WHO, "the dog .") == 3
    assert j.points(g, WHO, "the old dog . the old dog .") == 3
    assert j.points(g, WHO, "the cats .") == 1
    for prompt, a, b in [(FINISH, "runs .", "run ."), (WHO, "the cats .", "the old dog ."),
                         (FINISH, "runs .", "runs .")]:
        verdict, mirrored = j.compare(g, prompt, a, b), j.compare(g, prompt, b, a)
        assert {verdict, mirrored} in ({"A", "B"}, {"tie"}), (verdict, mirrored)
    assert j.compare(g, FINISH, "runs .", "run .") == "A"
    assert j.compare(g, WHO, "the cats .", "the old dog .") == "B"


def test_judge_checks_prompts(judge: tuple[ModuleType, Any]) -> None:
    j, g = judge
    assert j.check_prompt(g, FINISH) is None and j.check_prompt(g, WHO) is None
    assert j.check_prompt(g, "finish : the old dog runs .") is not None  # more than a subject
    assert j.check_prompt(g, "who sleeps ? the old dog runs .") is not None  # verb not in the sentence
    assert j.check_prompt(g, "who dog ? the old dog runs .") is not None
    assert j.check_prompt(g, "tell me a joke") is not None


def test_service_answers_and_rejects(prepared: Materialized) -> None:
    svc = _module_registered(prepared.protected / "judge_service.py", "fc_service_test")
    state: dict[str, Any] = {}

    def ask(**request: Any) -> dict[str, Any]:
        reply: dict[str, Any] = svc.handle(request, prepared.protected, {"judge_budget": 3000}, state)
        return reply

    assert ask(prompt=FINISH, a="runs .", b="run .") == {"output": "A", "exit_code": 0}
    assert ask(prompt=FINISH, a="run .", b="runs .")["output"] == "B"
    assert ask(prompt=WHO, a="the old dog .", b="the old dog .")["output"] == "tie"
    bad = ask(prompt="finish : the dog runs .", a="x", b="y")
    assert bad["exit_code"] == 2 and "bad prompt" in bad["output"]
    assert ask(prompt=FINISH, a=True, b="x")["exit_code"] == 2  # `judge --a` with no value
    assert state["answered"] == 3


def _score(prepared: Materialized, ws: Path, seed: int) -> dict[str, Any]:
    """Score through the real scoring sandbox."""
    return as_dict(score_materialized(prepared, ws, seed=seed))


def _workspace(prepared: Materialized, dest: Path, reference: bool = False) -> Path:
    shutil.copytree(prepared.workspace, dest)
    if reference:
        shutil.copytree(prepared.reference, dest, dirs_exist_ok=True)
    return dest


@pytest.mark.slow
def test_reference_beats_start(prepared: Materialized, tmp_path: Path) -> None:
    start_ws, ref_ws = _workspace(prepared, tmp_path / "s"), _workspace(prepared, tmp_path / "r", True)
    starts = [_score(prepared, start_ws, seed) for seed in (11, 12)]
    refs = [_score(prepared, ref_ws, seed) for seed in (11, 12)]
    n = starts[0]["details"]["n"]
    assert n == 2000
    # the base model against itself: identical samples, every pair a tie
    assert [s["value"] for s in starts] == [0.5, 0.5] and starts[0]["details"]["ties"] == n
    values = [r["value"] for r in refs]
    assert min(values) > 0.7, refs
    assert abs(values[0] - values[1]) < 0.03, values  # low noise across the fresh hidden prompts
    # each call draws its own prompts
    assert refs[0]["details"]["examples"] != refs[1]["details"]["examples"]
    used = json.loads((prepared.reference / "judge_queries.json").read_text())
    assert used["used"] <= used["budget"] == load_task(TASK).spec.services[0].budget


def test_scorer_refuses_bad_submissions(prepared: Materialized, tmp_path: Path) -> None:
    base = torch.load(prepared.workspace / "base.pt", weights_only=True)

    def submit(name: str, obj: Any) -> dict[str, Any]:
        ws = _workspace(prepared, tmp_path / name)
        torch.save(obj, ws / "model.pt")
        return _score(prepared, ws, 3)

    state = base["model"]
    wide = {k: torch.zeros(*(s + 1 for s in v.shape)) for k, v in state.items()}
    r = submit("shape", {"config": base["config"], "model": wide})
    assert math.isnan(r["value"]) and "shape" in r["message"]
    r = submit("missing", {"config": base["config"], "model": {k: v for k, v in state.items() if k != "ln_f.bias"}})
    assert math.isnan(r["value"]) and "keys differ" in r["message"]
    nan = {k: v.clone() for k, v in state.items()}
    nan["ln_f.weight"][0] = float("nan")
    assert math.isnan(submit("nan", {"config": base["config"], "model": nan})["value"])
    untied = {k: v.clone() for k, v in state.items()}
    untied["head.weight"] = untied["head.weight"] * 2
    r = submit("untied", {"config": base["config"], "model": untied})
    assert math.isnan(r["value"]) and "tied" in r["message"]
    r = submit("code", {"config": base["config"], "model": state, "x": _Payload()})
    assert math.isnan(r["value"]) and "weights" in r["message"]  # weights_only refuses pickled code

    ws = _workspace(prepared, tmp_path / "link")
    outside = tmp_path / "elsewhere.pt"
    shutil.copy(prepared.reference / "model.pt", outside)
    (ws / "model.pt").unlink()
    (ws / "model.pt").symlink_to(outside)
    r = _score(prepared, ws, 3)
    assert math.isnan(r["value"]) and "links are refused" in r["message"]


class _Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("pickled code ran",))


def test_through_the_sandbox_budget_and_hidden_data(
    prepared: Materialized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scripted agent in the real sandbox: the judge answers, refuses past its budget, and
    neither the judge nor the hidden prompts can be read."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    import rdbench.harness.task as harness_task
    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    task = load_task(TASK)
    # the same task with a judge budget of 3, so the harness's refusal is reached in a few calls (the
    # run's setup reloads the spec from the task folder: hand it this one)
    svc = task.spec.services[0].model_copy(update={"budget": 3})
    small = dataclasses.replace(task, spec=task.spec.model_copy(update={"services": [svc]}))
    monkeypatch.setattr(harness_task, "load_task", lambda root: small)
    hidden_line = (prepared.protected / "eval_prompts.txt").read_text().splitlines()[7]
    judge_source = (prepared.protected / "judge.py").read_text()
    pool_line = (prepared.workspace / "prompts.txt").read_text().splitlines()[7]
    script = [
        bash(f'for i in 1 2 3 4; do judge --prompt "{FINISH}" --a "runs ." --b "run ."; echo "EXIT=$?"; done 2>&1'),
        bash("ls /opt/rdbench/protected 2>&1; cat /opt/rdbench/protected/judge.py 2>&1 | head -3; ls /opt/rdbench"),
        # prompts.txt (the agent's pool) is the positive control: the searches do find files
        bash("find / \\( -name eval_prompts.txt -o -name grammar.json -o -name judge_service.py "
             "-o -name prompts.txt \\) 2>/dev/null; echo FIND-END"),
        bash("cat ~/.cache/rdbench/tasks/finetune_chat/*/protected/eval_prompts.txt "
             "/root/.cache/rdbench/tasks/finetune_chat/*/protected/eval_prompts.txt 2>&1 | head -3"),
        bash(f"grep -rlF -e '{hidden_line}' -e '{pool_line}' /home /tmp /root /run /opt/rdbench/services "
             "2>/dev/null; echo GREP-END"),
        bash("head -3 prompts.txt; grep -c . prompts.txt"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    model = get_model(MODEL, custom_outputs=script)
    [log] = inspect_eval(make_task(small, budget="10m"), model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    judged, listing, found, cached, grepped, pool = tool_outputs(sample)[:6]
    assert judged.split("\n")[0] == "A" and judged.count("EXIT=0") == 3, judged
    assert "budget exhausted" in judged and judged.rstrip().endswith("EXIT=3"), judged
    assert "No such file" in listing and judge_source.splitlines()[0] not in listing, listing
    assert found.split() == ["/home/agent/workspace/prompts.txt", "FIND-END"], found
    assert hidden_line not in cached, cached
    assert grepped.split() == ["/home/agent/workspace/prompts.txt", "GREP-END"], grepped
    assert int(pool.split()[-1]) == task.spec.scale("mini").params["pool_prompts"]
    assert hidden_line not in pool
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["service_usage"] == {"judge": 3}
    assert record["score_log"][0]["value"] == pytest.approx(0.5)  # the starting model against itself
