"""rdbench/aide via real inspect eval on the toy task: the search tree and resuming a killed run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.agents.aide import Journal, aide_agent
from rdbench.harness.task import make_task
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"


def node(value: str, plan: str, command: str = "python -c 'import solution'") -> ModelOutput:
    files = {"solution.py": f"def answer():\n    return {value}\n"}
    return ModelOutput.for_tool_call(
        model=MODEL, tool_name="solution",
        tool_arguments={"plan": plan, "files": files, "command": command},
    )


@pytest.fixture(scope="module")
def toy() -> Iterator[None]:
    ensure_tiktoken_cache()
    # module-scoped: set through a MonkeyPatch context, so the variable is restored afterwards
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDBENCH_TASKS_PATH", str(TOY))
        report = asyncio.run(check_task(load_task("toy_count"), repeats=1))
        assert report.ok, report.problems
        yield


def run_aide(outputs: list[ModelOutput], log_dir: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    model = get_model(MODEL, custom_outputs=outputs)
    task = make_task("toy_count", budget=300, solver=aide_agent(**kwargs))  # type: ignore[arg-type]
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none")
    return log


def test_tree_draft_debug_improve_best_is_result(toy: None, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.json"
    outputs = [
        node("30", "draft a"),
        node("undefined_name", "draft b (buggy)"),
        node("40", "fix draft b"),
        node("41", "improve best"),
    ]
    log = run_aide(outputs, tmp_path, num_drafts=2, debug_prob=1.0, max_steps=4,
                   journal_path=str(journal_path))
    assert log.status == "success", log.error
    journal = Journal.model_validate_json(journal_path.read_text())
    assert [n.stage for n in journal.nodes] == ["draft", "draft", "debug", "improve"]
    assert journal.nodes[1].buggy and not journal.nodes[0].buggy
    assert journal.nodes[2].parent == 1
    best_before = journal.nodes[2]  # 40 is nearer 42 than 30 (lower is better)
    assert journal.nodes[3].parent == best_before.id
    best = journal.best()
    assert best is not None and best.id == 3, journal.nodes
    assert best.metric is not None and best.metric < best_before.metric  # type: ignore[operator]
    sample = log.samples[0]  # type: ignore[index]
    assert sample.store["aide:best"] == 3
    score = next(iter(sample.scores.values()))  # type: ignore[union-attr]
    # The run's raw score (best of its score log) is the best node's metric.
    assert float(score.answer) == pytest.approx(best.metric)  # type: ignore[arg-type]


def test_resume_after_crash_continues_from_saved_nodes(toy: None, tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.json"
    # Two answers, then the model runs out: the run crashes after saving two nodes.
    crashed = run_aide([node("30", "d1"), node("35", "d2")], tmp_path / "a",
                       num_drafts=3, max_steps=4, journal_path=str(journal_path))
    assert crashed.status == "error"
    saved = json.loads(journal_path.read_text())["nodes"]
    assert [n["plan"] for n in saved] == ["d1", "d2"]
    resume_and_check(journal_path, saved, tmp_path / "b")


def resume_and_check(journal_path: Path, saved: list[dict[str, object]], log_dir: Path) -> None:
    """Resume a run that saved nodes d1, d2: it needs only the remaining two steps (starting over
    would exhaust the scripted outputs) and keeps the saved nodes unchanged."""
    resumed = run_aide([node("39", "d3"), node("41", "improve")], log_dir,
                       num_drafts=3, debug_prob=0.0, max_steps=4, journal_path=str(journal_path))
    assert resumed.status == "success", resumed.error
    journal = Journal.model_validate_json(journal_path.read_text())
    assert [n.plan for n in journal.nodes] == ["d1", "d2", "d3", "improve"]
    assert [n.model_dump() for n in journal.nodes[:2]] == saved
    assert journal.nodes[3].stage == "improve" and journal.nodes[3].parent == 2


KILLED_RUN = """
import os, signal, sys
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model
from rdbench.agents.aide import aide_agent
from rdbench.harness.task import make_task
from tests.agents.test_aide import node

def outputs():
    yield node("30", "d1")
    yield node("35", "d2")
    os.kill(os.getpid(), signal.SIGKILL)  # the third model call: the whole process dies, no cleanup

task = make_task("toy_count", budget=300,
                 solver=aide_agent(num_drafts=3, max_steps=4, journal_path=sys.argv[1]))
inspect_eval(task, model=get_model("mockllm/model", custom_outputs=outputs()), log_dir=sys.argv[2],
             display="none")
"""


def test_resume_after_sigkill(toy: None, tmp_path: Path) -> None:
    """A run whose process is SIGKILLed mid-search resumes from the journal it saved."""
    import subprocess
    import sys

    journal_path = tmp_path / "journal.json"
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, str(journal_path), str(tmp_path / "a")],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert proc.returncode == -9, proc.stderr[-2000:]
    saved = json.loads(journal_path.read_text())["nodes"]
    assert [n["plan"] for n in saved] == ["d1", "d2"] and all(n["metric"] is not None for n in saved)
    resume_and_check(journal_path, saved, tmp_path / "b")
