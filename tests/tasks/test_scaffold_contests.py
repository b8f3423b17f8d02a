"""scaffold_contests: real scorer on the starting and reference scaffolds, budgets and hidden data."""

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from rdbench.task.loader import load_task

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "scaffold_contests"
PY = sys.executable


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _score(ws: Path, seed: int, **extra: int) -> dict:  # type: ignore[type-arg]
    """Run score() in a fresh subprocess, as the scoring sandbox would."""
    params = {"n_problems": 40, "queries": 8, "scaffold_timeout": 80, "seed": seed, **extra}
    code = textwrap.dedent(f"""
        import importlib.util, json, math, pathlib
        spec = importlib.util.spec_from_file_location("score", {str(TASK / "protected" / "score.py")!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        r = m.score(pathlib.Path({str(ws)!r}), pathlib.Path({str(TASK / "protected")!r}), {params!r})
        print(json.dumps(r))
    """)
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


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
    replies = [svc.handle({"problem": "d1"}, TASK / "protected", params, state) for _ in range(3)]
    assert [r["exit_code"] for r in replies] == [0, 0, 1]
    assert "refused" in replies[2]["output"]
    assert svc.handle({"problem": "h1"}, TASK / "protected", params, state)["exit_code"] == 2


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
    assert r["value"] != r["value"]  # NaN: refused


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
              bash("codemodel --problem h0; echo EXIT=$?"), ModelOutput.from_content(MODEL, "done")]
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
