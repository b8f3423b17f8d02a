from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rdbench.task.errors import TaskFormatError, TaskNotFoundError
from rdbench.task.loader import discover, load_task
from rdbench.task.spec import format_duration, parse_duration

TOY = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count"


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    target = tmp_path / "toy_count"
    shutil.copytree(TOY, target)
    return target


def edit_yaml(folder: Path, change: dict[str, object]) -> None:
    path = folder / "task.yaml"
    data = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(data))


def test_loads_valid_task_and_fills_instructions(toy: Path) -> None:
    task = load_task(toy)
    assert task.name == "toy_count"
    assert task.spec.scale("mini").time_budget == 600
    text = task.instructions("mini")
    assert "Budget: 10m on 1 CPU (mini scale)" in text
    assert "Budget: 30m" in task.instructions("mini", budget_s=1800)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"scoring.direction": "sideways"}, "field 'scoring.direction'"),
        ({"scoring.colour": "red"}, "unknown field 'scoring.colour'"),
        ({"version": None}, "missing field 'version'"),
        ({"scales.mini.time_budget": "soon"}, "scales.mini.time_budget"),
        ({"scales": {"full": {"time_budget": "1h"}}}, "'mini'"),
        ({"name": "other_name"}, "the folder is 'toy_count'"),
    ],
)
def test_bad_spec_names_file_field_and_fix(toy: Path, change: dict[str, object], needle: str) -> None:
    edit_yaml(toy, change)
    with pytest.raises(TaskFormatError) as info:
        load_task(toy)
    message = str(info.value)
    assert str(toy / "task.yaml") in message
    assert needle in message
    assert "Fix:" in message


def test_missing_files_and_bad_scorer(toy: Path) -> None:
    (toy / "instructions.md").write_text("Use {undefined_param} here")
    with pytest.raises(TaskFormatError, match=r"placeholder \{undefined_param\}.*scales.mini.params"):
        load_task(toy)
    shutil.copy(TOY / "instructions.md", toy / "instructions.md")
    (toy / "protected" / "score.py").write_text("def scored(a, b, c):\n    pass\n")
    with pytest.raises(TaskFormatError, match=r"score.py: does not define score\(\)"):
        load_task(toy)
    (toy / "protected" / "score.py").write_text("def score(a, b):\n    pass\n")
    with pytest.raises(TaskFormatError, match="takes 2 arguments"):
        load_task(toy)
    (toy / "protected" / "score.py").unlink()
    with pytest.raises(TaskFormatError, match=r"score\.py: is missing"):
        load_task(toy)
    shutil.rmtree(toy / "workspace")
    with pytest.raises(TaskFormatError, match=r"workspace: folder is missing"):
        load_task(toy)


def test_yaml_syntax_error(toy: Path) -> None:
    (toy / "task.yaml").write_text("name: [unclosed\n")
    with pytest.raises(TaskFormatError, match=r"is not valid YAML"):
        load_task(toy)


def test_search_path_and_unknown_task(toy_tasks_path: Path) -> None:
    assert "toy_count" in discover()
    assert load_task("toy_count").root == (toy_tasks_path / "toy_count").resolve()
    with pytest.raises(TaskNotFoundError, match=r"no task named 'nope'.*toy_count"):
        load_task("nope")


def test_durations() -> None:
    assert parse_duration("2h") == 7200
    assert parse_duration("1h30m") == 5400
    assert parse_duration("45s") == 45
    assert parse_duration(90) == 90
    assert format_duration(5400) == "1h30m"
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("two hours")
