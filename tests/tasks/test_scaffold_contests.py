"""scaffold_contests: real scorer on the starting and reference scaffolds, budgets and hidden data."""

import json
import math
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rdbench.task.loader import load_task
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import as_dict, sandbox_score

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "scaffold_contests"
PY = sys.executable




def _score(ws: Path, seed: int, **extra: int) -> dict[str, Any]:
    """Through the real scoring sandbox (40 problems)."""
    params = {"n_problems": 40, "queries": 8, "scaffold_timeout": 80, **extra}
    return as_dict(sandbox_score("scaffold_contests", ws, seed=seed, **params))


def _workspace(tmp: Path, reference: bool) -> Path:
    ws = tmp / ("ref" if reference else "start")
    shutil.copytree(TASK / "workspace", ws)
    if reference:
        shutil.copytree(TASK / "reference", ws, dirs_exist_ok=True)
    _module(TASK / "prepare.py", "prepare_sc").prepare(tmp / "prep", {"n_dev": 10})
    shutil.copytree(tmp / "prep" / "workspace", ws, dirs_exist_ok=True)
    return ws


def test_spec_loads() -> None:
    task = load_task(TASK)
    assert task.spec.services[0].name == "codemodel"
    assert task.spec.scoring.direction == "higher"


@pytest.mark.slow
def test_reference_beats_start(tmp_path: Path) -> None:
    start_ws, ref_ws = _workspace(tmp_path / "a", False), _workspace(tmp_path / "b", True)
    # 300 problems: the solve rate's standard error is ~0.03, the expected gap ~0.35
    start = _score(start_ws, 11, n_problems=300)
    ref = _score(ref_ws, 11, n_problems=300)
    assert ref["value"] >= start["value"] + 0.2, (start, ref)
    assert ref["details"]["not_served"] == 0 and not ref["details"]["crashed"], ref


def test_scorer_refuses_over_budget(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, False)
    (ws / "scaffold.py").write_text(textwrap.dedent("""
        import json, sys, codemodel
        from pathlib import Path
        p = json.loads(Path(sys.argv[1]).read_text())[0]
        got = [codemodel.sample(p["id"]) for _ in range(12)]
        assert all(g is not None for g in got[:3]) and all(g is None for g in got[3:]), got
        (Path(sys.argv[2]) / "ok").write_text("x")
    """))
    r = _score(ws, 5, queries=3)
    assert not r["details"]["crashed"], r["message"]
    assert r["details"]["refused"] == 9
    assert r["value"] == 0.0


def test_service_refuses_over_budget() -> None:
    svc = _module(TASK / "protected" / "codemodel_service.py", "cm_service")
    state: dict = {}  # type: ignore[type-arg]
    params = {"queries": 2, "n_dev": 10, "seed": 0}
    replies = [svc.handle({"problem": "d1"}, TASK / "protected", params, state, None) for _ in range(3)]
    assert [r["exit_code"] for r in replies] == [0, 0, 1]
    assert "refused" in replies[2]["output"]
    assert svc.handle({"problem": "h1"}, TASK / "protected", params, state, None)["exit_code"] == 2


def test_service_asks_the_language_model_at_full_scale() -> None:
    """At full scale the dev service prompts the bound model with the statement, the examples and
    the agent's hint, and returns the program in the model's code block."""
    svc = _module(TASK / "protected" / "codemodel_service.py", "cm_service_llm")
    prompts: list[tuple[str, str, dict]] = []  # type: ignore[type-arg]

    def generate(role: str, prompt: str, **config: object) -> str:
        prompts.append((role, prompt, config))
        return "Sure:\n```python\nprint(42)\n```\nDone."

    params = {"queries": 8, "n_dev": 10, "seed": 0, "code_model": "llm", "temperature": 1.0,
              "max_tokens": 256}
    reply = svc.handle({"problem": "d2", "hint": "mind empty input"}, TASK / "protected", params, {}, generate)
    assert reply == {"output": "print(42)\n", "exit_code": 0}
    role, prompt, config = prompts[0]
    dev = {p["id"]: p for p in _generator().make_set(svc.DEV_SEED, 10, "d", kinds=_generator().DEV_KINDS)}
    assert role == "codemodel" and dev["d2"]["statement"] in prompt and "mind empty input" in prompt
    assert dev["d2"]["examples"][0]["output"] in prompt and '"hidden"' not in prompt
    assert config == {"temperature": 1.0, "max_tokens": 256}
    assert svc.handle({"problem": "d2"}, TASK / "protected", params, {}, None)["exit_code"] == 1


def test_no_hidden_data_in_workspace(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, True)
    dev = json.loads((ws / "dev_problems.json").read_text())
    assert dev and all(set(p) == {"id", "statement", "examples"} for p in dev)
    text = "".join(f.read_text() for f in ws.rglob("*") if f.is_file())
    assert '"hidden"' not in text and "contests_gen" not in text


def test_symlinked_scaffold_refused(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, False)
    outside = tmp_path / "elsewhere.py"
    outside.write_text((ws / "scaffold.py").read_text())
    (ws / "scaffold.py").unlink()
    (ws / "scaffold.py").symlink_to(outside)
    r = _score(ws, 3)
    assert r["kind"] == "invalid" and math.isnan(r["value"])
    assert "link" in r["message"], r  # refused because it is a link


def _generator() -> ModuleType:
    return _module(TASK / "protected" / "contests_gen.py", "contests_gen_check")


def test_pools_correct_programs_pass_and_wrong_ones_are_caught() -> None:
    """Every correct pool program passes its problem's examples and hidden tests; every wrong one
    fails the hidden tests of almost every problem it belongs to (else it would not be wrong)."""
    gen = _generator()
    problems = gen.make_set(2024, 160, "v")
    runs, meta = [], []
    for p in problems:
        inputs = [c["input"] for c in p["examples"] + p["hidden"]]
        for kind in ("correct", "wrong"):
            for i, program in enumerate(p[kind]):
                runs.append([program, inputs])
                meta.append((p, kind, i))
    proc = subprocess.run([PY, "-c", gen.RUNNER], input=json.dumps({"runs": runs, "timeout": 0.25}),
                          capture_output=True, text=True, timeout=300, check=True)
    outs = json.loads(proc.stdout.strip().splitlines()[-1])
    caught: dict[tuple[str, int], list[bool]] = {}
    for (p, kind, i), got in zip(meta, outs, strict=True):
        expected = [c["output"] for c in p["examples"] + p["hidden"]]
        if kind == "correct":
            assert got == expected, (p["kind"], i)
        else:
            caught.setdefault((p["kind"], i), []).append(got[2:] != expected[2:])
    assert {k for k, _ in caught} == {t.__name__[3:] for t in gen.TEMPLATES}
    for key, flags in caught.items():
        assert sum(flags) / len(flags) >= 0.9, (key, sum(flags), len(flags))


def test_dev_problems_cover_only_some_kinds() -> None:
    gen = _generator()
    dev = {p["kind"] for p in gen.make_set(12345, 200, "d", kinds=gen.DEV_KINDS)}
    hidden = {p["kind"] for p in gen.make_set(7, 200, "h")}
    assert len(dev) == gen.DEV_KINDS and dev < hidden


def test_answers_not_served_by_the_code_model_count_as_unsolved(tmp_path: Path) -> None:
    """A scaffold may only submit the code model's samples verbatim: the same samples with a comment
    appended (behaviourally identical, ~40% of them correct) all count as unsolved."""
    ws = _workspace(tmp_path, False)
    (ws / "scaffold.py").write_text(textwrap.dedent("""
        import json, sys, codemodel
        from pathlib import Path
        for p in json.loads(Path(sys.argv[1]).read_text()):
            program = codemodel.sample(p["id"])
            (Path(sys.argv[2]) / (p["id"] + ".py")).write_text(program + "# edited\\n")
    """))
    edited = _score(ws, 4)
    assert edited["value"] == 0.0 and edited["details"]["not_served"] == 40, edited
    assert "not programs the code model returned" in edited["message"]
    (ws / "scaffold.py").write_text((TASK / "workspace" / "scaffold.py").read_text())
    verbatim = _score(ws, 4)  # same seed, same samples: the verbatim ones do get credit
    assert verbatim["value"] > 0.1 and verbatim["details"]["not_served"] == 0, verbatim


def test_pools_and_hidden_problems_unreachable_from_the_sandbox(tmp_path: Path) -> None:
    """Through the real sandbox: the agent finds no pool, generator or hidden test anywhere, the
    scorer is hidden, and the code model service answers for dev problems only."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, tool_outputs

    probe = ("cat /opt/rdbench/protected/contests_gen.py 2>&1 | head -3; ls /home/agent/score.py 2>&1; "
             "grep -rl CORRECT_WEIGHT /opt /home /tmp /etc /var 2>/dev/null | head -3; "
             "find / -path /proc -prune -o -name 'contests_gen*' -print 2>/dev/null | head -3; echo PROBE_DONE")
    script = [bash(probe), bash("codemodel --problem d0; echo EXIT=$?"),
              bash("codemodel --problem h0; echo EXIT=$?"),
              bash("codemodel --problem d1 2>/dev/null | python3 -c 'import ast, sys; ast.parse(sys.stdin.read()); "
                   "print(\"PARSES\")'; codemodel --problem d1 2>&1 >/dev/null"),
              ModelOutput.from_content(MODEL, "done")]
    [log] = inspect_eval(make_task("scaffold_contests", budget="3m"),
                         model=get_model(MODEL, custom_outputs=script), log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    outputs = tool_outputs(log.samples[0])  # type: ignore[index]
    assert "PROBE_DONE" in outputs[0]
    assert "No such file" in outputs[0]
    assert "CORRECT_WEIGHT" not in outputs[0] and "contests_gen" not in outputs[0].replace(
        "/opt/rdbench/protected/contests_gen.py: No such file", "")
    assert "int(t)" in outputs[1] and "EXIT=0" in outputs[1]  # a sampled program for a dev problem
    assert "unknown problem 'h0'" in outputs[2] and "EXIT=0" not in outputs[2]
    # stdout is the program alone (it parses); the queries left go to stderr
    assert "PARSES" in outputs[3] and "codemodel queries left)" in outputs[3]


def _count_div_model(needs: str | None = None):  # type: ignore[no-untyped-def]
    """A scripted code model that writes a correct program for "divisible by k" problems only (when
    ``needs`` is in the prompt, if given) and a wrong one otherwise; it reads stdin the way language
    models often do (``sys.stdin.buffer``) and ends with ``sys.exit(0)``."""
    import re

    from inspect_ai.model import ModelOutput, get_model

    def respond(messages, tools, choice, config):  # type: ignore[no-untyped-def]
        text = messages[-1].text
        found = re.search(r"Print how many are divisible by (\d+)", text)
        if found and (needs is None or needs in text):
            program = ("import sys\na = [int(t) for t in sys.stdin.buffer.read().split()]\n"
                       f"print(sum(1 for v in a if v % {found.group(1)} == 0))\nsys.exit(0)\n")
        else:
            program = "print(0)\n"
        return ModelOutput.from_content("mockllm/coder", f"Here is a program:\n```python\n{program}```\n")

    return get_model("mockllm/coder", custom_outputs=respond, memoize=False)


def _full_scale_scores(scaffolds: dict[str, str], model, seed: int):  # type: ignore[no-untyped-def]
    """Score each scaffold source through the real scoring sandbox at full scale."""
    import asyncio

    from rdbench.scoring.check import reference_workspace
    from rdbench.scoring.models import ModelGateway
    from rdbench.scoring.runner import score_workspace
    from rdbench.task.assets import materialize
    from rdbench.task.environment import ensure_environment

    task = load_task(TASK)
    mat = materialize(task, "full")
    env = ensure_environment(task.spec.environment)
    results = {}
    for name, source in scaffolds.items():
        work = Path(tempfile.mkdtemp(prefix="sc-full-"))
        ws = reference_workspace(mat, work) if source == "reference" else work / "ws"
        if source != "reference":
            shutil.copytree(mat.workspace, ws)
            if source != "start":
                (ws / "scaffold.py").write_text(source)
        gateway = ModelGateway({"codemodel": model})
        results[name] = asyncio.run(score_workspace(mat, ws, env, seed=seed, models=gateway))
        shutil.rmtree(work, ignore_errors=True)
    return results


HINTING = """
import json, sys
from pathlib import Path
import codemodel
for p in json.loads(Path(sys.argv[1]).read_text()):
    program = codemodel.sample(p["id"], hint="use the modulo operator")
    if program is not None:
        (Path(sys.argv[2]) / (p["id"] + ".py")).write_text(program)
"""


@pytest.mark.slow
def test_full_scale_with_a_language_model_code_model() -> None:
    """Full scale through the real scoring sandbox: the code model is a bound Inspect model reached
    through the harness; answers are judged with a fresh interpreter per test; the scaffold's hint
    reaches the model's prompt; the harness tallies the generations."""
    seed = 7
    hidden = _generator().make_set(seed, 100, "h")
    n_div = sum(p["kind"] == "count_div" for p in hidden)
    assert 5 <= n_div <= 30
    plain = _full_scale_scores({"start": "start", "reference": "reference"}, _count_div_model(), seed)
    assert plain["start"].value == pytest.approx(n_div / 100), plain["start"]
    assert plain["reference"].value == pytest.approx(n_div / 100), plain["reference"]
    usage = plain["start"].details["task_models"]["codemodel"]
    assert usage["calls"] == 100 and usage["model"] == "mockllm/coder"
    assert plain["reference"].details["task_models"]["codemodel"]["calls"] == 800
    assert plain["start"].details["code_model"] == "llm" and plain["start"].details["not_served"] == 0
    hinted = _full_scale_scores({"start": "start", "hinting": HINTING},
                                _count_div_model(needs="use the modulo operator"), seed)
    assert hinted["start"].value == 0.0
    assert hinted["hinting"].value == pytest.approx(n_div / 100), hinted["hinting"]
