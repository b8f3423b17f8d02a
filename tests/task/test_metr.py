"""Reading METR family folders (no code of the family runs here): discovery, manifest, sidecar."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbench.task.errors import TaskFormatError
from rdbench.task.loader import discover, load_task, resolve
from rdbench.task.metr import FamilyError, is_metr_family, load_family

EXAMPLES = Path(__file__).parents[2] / "examples" / "metr"


def family(tmp_path: Path, name: str = "fam", body: str = "class TaskFamily:\n    pass\n") -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / f"{name}.py").write_text(body)
    return root


def test_discovered_beside_rdbench_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(EXAMPLES))
    found = discover()
    assert is_metr_family(found["metr_sum"]) and is_metr_family(found["metr_guess"])
    assert "optimize_kernel" in found and "metr_sum" not in discover(metr=False)
    assert resolve("metr_guess") == (EXAMPLES / "metr_guess").resolve()
    with pytest.raises(TaskFormatError, match=r"is a METR Task Standard family.*inspect eval rdbench/<family>"):
        load_task("metr_sum")


def test_manifest_and_sidecar_are_read(tmp_path: Path) -> None:
    guess = load_family(EXAMPLES / "metr_guess")
    assert guess.version == "1.0"
    assert guess.manifest.task("hidden").scoring.visible_to_agent is False
    assert guess.manifest.task("visible").resources.cpus == 1
    assert guess.sidecar.direction == "higher" and guess.sidecar.time_budget == 600
    anchor = guess.sidecar.anchor("hidden")
    assert anchor is not None and (anchor.starting, anchor.reference) == (-2.7, 0.0)
    assert guess.needs_install and not load_family(EXAMPLES / "metr_sum").needs_install
    root = family(tmp_path)
    (root / "requirements.txt").write_text("numpy==2.1.0  # arrays\n# a comment\n"
                                           "git+https://github.com/METR/task-protected-scoring\n")
    assert load_family(root).requirements() == ["numpy==2.1.0"]  # rdbench provides METR's library
    (tmp_path / "fam.rdbench.yaml").write_text("direction: lower\nstarting: 3\nreference: 1\n")
    beside = load_family(root)
    assert beside.sidecar.direction == "lower" and beside.sidecar_path == tmp_path / "fam.rdbench.yaml"


def test_rebench_families_get_the_published_anchors(tmp_path: Path) -> None:
    rebench = load_family(family(tmp_path, "ai_rd_triton_cumsum"))
    assert rebench.sidecar.direction == "lower" and rebench.sidecar.anchor("main") is not None
    assert "RE-Bench" in rebench.sidecar.source


@pytest.mark.parametrize(("files", "expected"), [
    ({"manifest.yaml": "tasks: {main: {resources: {cpus: -1}}}\n"},
     r"METR family fam: reading manifest.yaml: field 'tasks.main.resources.cpus'.*Fix: give a valid value"),
    ({"manifest.yaml": "tasks: [\n"}, r"reading manifest.yaml: it is not valid YAML"),
    ({"rdbench.yaml": "direction: sideways\n"}, r"reading the sidecar .*field 'direction'"),
    ({"build_steps.json": '[{"type": "file"}]'}, r"build_steps.json: a file step lacks source or destination"),
])
def test_malformed_files_name_the_family_step_and_fix(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    root = family(tmp_path)
    for name, text in files.items():
        (root / name).write_text(text)
    with pytest.raises(FamilyError, match=expected):
        load_family(root)


def test_syntax_error_and_missing_class(tmp_path: Path) -> None:
    with pytest.raises(FamilyError, match=r"fam.py has a syntax error at line 1"):
        load_family(family(tmp_path, body="class TaskFamily(\n"))
    with pytest.raises(FamilyError, match=r"defines no TaskFamily class"):
        load_family(family(tmp_path, "other", body="x = 1\n"))
