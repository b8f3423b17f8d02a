"""Loading and validating task folders from the suite, a path, or ``RDBENCH_TASKS_PATH``."""

from __future__ import annotations

import ast
import os
import string
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rdbench.paths import package_root
from rdbench.task.errors import TaskFormatError, TaskNotFoundError
from rdbench.task.metr import is_metr_family
from rdbench.task.spec import TaskSpec, format_duration

TASKS_PATH_VAR = "RDBENCH_TASKS_PATH"
REQUIRED_FILES = ("task.yaml", "instructions.md")
SCORER = Path("protected") / "score.py"


@dataclass(frozen=True)
class LoadedTask:
    """A validated task folder."""

    spec: TaskSpec
    root: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def protected_dir(self) -> Path:
        return self.root / "protected"

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"

    @property
    def scorer_path(self) -> Path:
        return self.root / SCORER

    @property
    def prepare_script(self) -> Path | None:
        path = self.root / "prepare.py"
        return path if path.exists() else None

    @property
    def is_family(self) -> bool:
        return self.spec.family is not None

    @cached_property
    def instructions_template(self) -> str:
        return (self.root / "instructions.md").read_text()

    def placeholders(self, scale: str) -> dict[str, Any]:
        """Values the instructions may use: the scale's params and its resources."""
        spec = self.spec.scale(scale)
        values: dict[str, Any] = dict(spec.params)
        values.update(
            scale=scale,
            time_budget=format_duration(spec.time_budget),
            cpus=spec.cpus,
            memory_gb=spec.memory_gb,
            gpus=spec.gpus,
        )
        return values

    def instructions(self, scale: str, budget_s: float | None = None) -> str:
        """The instructions for a scale, placeholders filled."""
        values = self.placeholders(scale)
        if budget_s is not None:
            values["time_budget"] = format_duration(budget_s)
        return self.instructions_template.format(**values)


def search_path() -> list[Path]:
    """Folders searched for tasks by name: ``RDBENCH_TASKS_PATH`` entries, then the suite."""
    extra = [Path(p) for p in os.environ.get(TASKS_PATH_VAR, "").split(os.pathsep) if p]
    return [*extra, package_root() / "tasks"]


def discover(metr: bool = True) -> dict[str, Path]:
    """All task folders on the search path, by folder name (earlier entries win): rdbench tasks and
    (unless ``metr`` is false) METR Task Standard families (``docs/metr-tasks.md``)."""
    found: dict[str, Path] = {}
    for base in search_path():
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.name in found:
                continue
            if (child / "task.yaml").is_file() or (metr and is_metr_family(child)):
                found[child.name] = child
    return found


def resolve(name_or_path: str | Path) -> Path:
    """The folder of a task (or METR family) given by name or path."""
    candidate = Path(name_or_path)
    if candidate.is_dir() and ((candidate / "task.yaml").exists() or is_metr_family(candidate)):
        return candidate.resolve()
    if isinstance(name_or_path, str) and os.sep not in name_or_path:
        found = discover()
        if name_or_path in found:
            return found[name_or_path].resolve()
        known = ", ".join(sorted(found)) or "(none)"
        raise TaskNotFoundError(
            f"no task named {name_or_path!r}; known tasks: {known}. "
            f"Give a path to a task folder, or add its parent folder to {TASKS_PATH_VAR}"
        )
    raise TaskNotFoundError(f"{candidate} is not a task folder (no task.yaml in it, and no "
                            f"{candidate.name}.py of a METR family)")


def load_task(name_or_path: str | Path) -> LoadedTask:
    """Load and validate a task by name (search path) or folder path.

    Raises:
        TaskNotFoundError: No such task.
        TaskFormatError: The folder is malformed; the message names file, field and fix.
    """
    root = resolve(name_or_path)
    if is_metr_family(root):
        raise TaskFormatError(
            root, "is a METR Task Standard family, not an rdbench task (no task.yaml)",
            "run it with `rdbench run`, `rdbench human` or `inspect eval rdbench/<family>`; `rdbench check`, "
            "`score` and `redteam` take rdbench tasks (a family is normalised by its sidecar, "
            "docs/metr-tasks.md)")
    spec = _read_spec(root)
    task = LoadedTask(spec=spec, root=root)
    _validate_folder(task)
    return task


def _read_spec(root: Path) -> TaskSpec:
    path = root / "task.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise TaskFormatError(path, f"is not valid YAML ({error})", "correct the YAML syntax") from None
    if not isinstance(raw, dict):
        raise TaskFormatError(path, "must be a mapping of fields", "see docs/task-format.md")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        kind = first["type"]
        if kind == "extra_forbidden":
            problem, fix = f"unknown field '{field}'", "remove it or check its spelling (docs/task-format.md)"
        elif kind == "missing":
            problem, fix = f"missing field '{field}'", "add it (docs/task-format.md lists every field)"
        else:
            problem = f"field '{field}': {first['msg']}"
            fix = "give a valid value (docs/task-format.md)"
        raise TaskFormatError(path, problem, fix) from None
    if spec.name != root.name:
        raise TaskFormatError(
            path, f"field 'name' is {spec.name!r} but the folder is {root.name!r}", "make them equal"
        )
    return spec


def _validate_folder(task: LoadedTask) -> None:
    root = task.root
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise TaskFormatError(root / name, "is missing", f"create {name} (docs/task-format.md)")
    folders = ["protected"] if task.is_family else ["workspace", "protected"]
    for folder in folders:
        if not (root / folder).is_dir():
            raise TaskFormatError(root / folder, "folder is missing", f"create {folder}/")
    if not task.is_family and not task.reference_dir.is_dir() and task.prepare_script is None:
        raise TaskFormatError(
            task.reference_dir, "folder is missing", "add the reference solution in reference/"
        )
    _validate_scorer(task.scorer_path)
    if task.is_family:
        assert task.spec.family is not None
        generator = root / task.spec.family.generator
        if not generator.is_file():
            raise TaskFormatError(generator, "is missing (family.generator)", "add the generator")
        _require_function(generator, "generate", 3)
    for service in task.spec.services:
        module = root / "protected" / service.module
        if not module.is_file():
            raise TaskFormatError(
                module, f"is missing (services.{service.name}.module)", "add it under protected/"
            )
        _require_function(module, "handle", 4, 5)
    _validate_placeholders(task)


def _validate_scorer(path: Path) -> None:
    if not path.is_file():
        raise TaskFormatError(path, "is missing", "add protected/score.py defining score()")
    _require_function(path, "score", 3)


def _require_function(path: Path, name: str, n_args: int, *alternatives: int) -> None:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as error:
        raise TaskFormatError(path, f"has a syntax error at line {error.lineno}", "fix it") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            if len(node.args.args) not in (n_args, *alternatives):
                allowed = " or ".join(str(n) for n in (n_args, *alternatives))
                raise TaskFormatError(
                    path, f"{name}() takes {len(node.args.args)} arguments", f"it must take {allowed}"
                )
            return
    raise TaskFormatError(path, f"does not define {name}()", f"define a top-level {name}() function")


def _validate_placeholders(task: LoadedTask) -> None:
    path = task.root / "instructions.md"
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(task.instructions_template) if f}
    except ValueError as error:
        raise TaskFormatError(path, f"has a malformed placeholder ({error})", "double literal braces") from None
    for scale in task.spec.scales:
        known = task.placeholders(scale)
        for field in fields:
            key = field.split(".")[0].split("[")[0]
            if key not in known:
                raise TaskFormatError(
                    path,
                    f"uses placeholder {{{field}}} which scale '{scale}' does not define",
                    f"add '{key}' to scales.{scale}.params in task.yaml, or write {{{{{field}}}}}",
                )
