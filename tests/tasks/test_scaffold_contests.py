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
    params = {"n_problems": 20, "queries": 8, "scaffold_timeout": 80, "seed": seed, **extra}
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
    start = [_score(start_ws, s)["value"] for s in (11, 12)]
    ref = [_score(ref_ws, s)["value"] for s in (11, 12)]
    assert sum(ref) / 2 >= sum(start) / 2 + 0.2, (start, ref)


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
