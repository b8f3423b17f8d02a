"""Task families in the METR Task Standard format: recognising one, its manifest and its sidecar.

A family is a folder ``<name>/`` holding ``<name>.py`` with a ``TaskFamily`` class, and optionally
``manifest.yaml`` (per task: ``resources`` and ``scoring.visible_to_agent``), ``requirements.txt``,
``build_steps.json`` (Vivaria's image build steps: file copies and shell commands), ``assets/`` and
anything else the family uses at ``/root``. rdbench runs it without Docker (``docs/metr-tasks.md``);
this module only reads the folder. Nothing here imports the family's code: its metadata
(``get_tasks``, instructions, permissions) is read by running it in a sandbox
(``rdbench.harness.metr``).

The standard has no reference solution, so normalisation needs a **sidecar**: ``rdbench.yaml`` in
the family folder or ``<name>.rdbench.yaml`` beside it, with the direction and, per task, the
starting and reference scores. RE-Bench's seven families come with METR's published figures
(:data:`REBENCH_PUBLISHED`) when they have no sidecar of their own.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shlex
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rdbench.task.spec import parse_duration

SIDECAR_NAME = "rdbench.yaml"
SIDECAR_SUFFIX = ".rdbench.yaml"
PROVIDED_PACKAGES = ("task-protected-scoring", "task_protected_scoring", "metr-task-standard",
                     "metr_task_standard")
"""Requirements rdbench provides itself (METR's helper libraries, installed from GitHub, which an
offline machine cannot reach): lines naming them are left out of the family's environment."""
_IGNORED = {"__pycache__", ".pytest_cache", ".git", ".mypy_cache", ".ruff_cache"}


class FamilyError(ValueError):
    """A METR family cannot be used: one message naming the family, the step and the fix."""

    def __init__(self, family: str, step: str, problem: str, fix: str) -> None:
        self.family = family
        self.step = step
        self.problem = problem
        self.fix = fix
        super().__init__(f"METR family {family}: {step}: {problem}. Fix: {fix}")


def is_metr_family(path: Path) -> bool:
    """Whether ``path`` is a METR Task Standard family folder (``<name>/<name>.py``, no task.yaml)."""
    return path.is_dir() and not (path / "task.yaml").exists() and (path / f"{path.name}.py").is_file()


class _Lenient(BaseModel):
    """Manifests carry many fields rdbench does not use (canaries, descriptions): they are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class GpuRequest(_Lenient):
    count_range: tuple[int, int] = (1, 1)
    model: str | None = None


class Resources(_Lenient):
    """A task's resources in ``manifest.yaml``."""

    cpus: float | None = Field(default=None, gt=0)
    memory_gb: float | None = Field(default=None, gt=0)
    storage_gb: float | None = Field(default=None, gt=0)
    gpu: GpuRequest | None = None


class ManifestScoring(_Lenient):
    visible_to_agent: bool = True
    score_on_usage_limits: bool = False


class ManifestTask(_Lenient):
    resources: Resources = Field(default_factory=Resources)
    scoring: ManifestScoring = Field(default_factory=ManifestScoring)
    meta: dict[str, Any] = Field(default_factory=dict)


class Manifest(_Lenient):
    """``manifest.yaml``: the family's version and, per task, resources and scoring visibility."""

    version: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    tasks: dict[str, ManifestTask] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return None if value is None else str(value)

    def task(self, name: str) -> ManifestTask:
        """The task's entry (defaults when the manifest does not list it)."""
        return self.tasks.get(name) or ManifestTask()


class Anchor(BaseModel):
    """A task's starting and reference scores (raw, as the family's scoring returns them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starting: float
    reference: float


class Sidecar(BaseModel):
    """What rdbench needs to know about a family that the standard does not say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Literal["lower", "higher"] = "higher"
    aggregation: Literal["best", "final"] = Field(
        default="final", description="how reports read the score log over time (the final score is "
        "always the family's own: aggregate_scores, or score(t, submission))")
    time_budget: float = Field(default=8 * 3600.0, description="default working time, e.g. '8h'")
    score_timeout: float = Field(default=900.0, gt=0, description="seconds one scoring step may take")
    step_timeout: float = Field(default=3600.0, gt=0, description="seconds start or teardown may take")
    install_timeout: float = Field(default=7200.0, gt=0, description="seconds install may take")
    python: str = Field(default="/usr/bin/python3", description="base interpreter of the family's venv")
    starting: float | None = Field(default=None, description="every task's starting score")
    reference: float | None = Field(default=None, description="every task's reference score")
    tasks: dict[str, Anchor] = Field(default_factory=dict, description="per task: starting, reference")
    source: str = Field(default="", description="where the starting and reference scores come from")

    @field_validator("time_budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> float:
        return parse_duration(value)

    def anchor(self, task: str) -> Anchor | None:
        """The task's starting and reference scores, or None."""
        if task in self.tasks:
            return self.tasks[task]
        if self.starting is not None and self.reference is not None:
            return Anchor(starting=self.starting, reference=self.reference)
        return None


_REBENCH_SOURCE = ("METR's published RE-Bench figures (github.com/METR/RE-Bench README, 2024-11; "
                   "measured on H100s)")
REBENCH_PUBLISHED: dict[str, dict[str, Any]] = {
    "ai_rd_fix_embedding": {"direction": "lower", "aggregation": "best", "starting": 2.2, "reference": 0.26},
    "ai_rd_nanogpt_chat_rl": {"direction": "higher", "aggregation": "best", "starting": 0.54, "reference": 0.85},
    "ai_rd_optimize_llm_foundry": {"direction": "lower", "aggregation": "best", "starting": 5.6,
                                   "reference": 4.54},
    "ai_rd_restricted_mlm": {"direction": "lower", "aggregation": "best", "starting": 1.81, "reference": 1.13},
    "ai_rd_rust_codecontests_inference": {"direction": "higher", "aggregation": "best", "starting": 0.0,
                                          "reference": 0.13},
    "ai_rd_small_scaling_law": {"direction": "higher", "aggregation": "final", "starting": 0.24,
                                "reference": 0.84},
    "ai_rd_triton_cumsum": {"direction": "lower", "aggregation": "best", "starting": 1.56, "reference": 0.47},
}
"""RE-Bench's starting and reference scores per environment, the same for its ``main`` and
``hidden_score`` tasks (``docs/metr-tasks.md``). The final scores of these families are the raw
scores of their ``score.py`` (already logs for the timed and loss tasks), normalised linearly."""


class BuildStep(BaseModel):
    """One step of ``build_steps.json`` (Vivaria's image build): a file copy or shell commands."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["file", "shell"]
    source: str | None = None
    destination: str | None = None
    commands: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class MetrFamily:
    """A METR family folder, read but not run."""

    name: str
    root: Path
    manifest: Manifest
    sidecar: Sidecar
    sidecar_path: Path | None
    build_steps: tuple[BuildStep, ...] = ()

    @property
    def module(self) -> Path:
        return self.root / f"{self.name}.py"

    @property
    def version(self) -> str:
        """The manifest's version, else a hash of the folder."""
        return self.manifest.version or self.content_key[:8]

    @cached_property
    def content_key(self) -> str:
        """A hash of the family folder (its sidecar and caches left out)."""
        digest = hashlib.sha256()
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            if any(part in _IGNORED for part in relative.parts) or path.name == SIDECAR_NAME:
                continue
            if path.is_symlink():
                digest.update(f"{relative}->{path.readlink()}".encode())
            elif path.is_file():
                digest.update(str(relative).encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:16]

    def requirements(self) -> list[str]:
        """``requirements.txt`` as pip arguments, without the packages rdbench provides."""
        path = self.root / "requirements.txt"
        if not path.is_file():
            return []
        args: list[str] = []
        for raw in path.read_text().splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if any(name in line.lower() for name in PROVIDED_PACKAGES):
                continue
            try:
                args += shlex.split(line)
            except ValueError as error:
                raise FamilyError(self.name, "requirements.txt", f"cannot read the line {raw!r} ({error})",
                                  "write one requirement per line, as pip takes them") from None
        return args

    @property
    def needs_install(self) -> bool:
        """Whether building the family's image runs anything (build steps or ``install()``)."""
        return bool(self.build_steps) or _defines(self.module, "install")


def _defines(module: Path, method: str) -> bool:
    try:
        tree = ast.parse(module.read_text())
    except (SyntaxError, OSError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "TaskFamily":
            return any(isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == method
                       for item in node.body)
    return False


def load_family(path: Path) -> MetrFamily:
    """Read a METR family folder (its code is not run here).

    Raises:
        FamilyError: The folder is no family (no ``<name>.py``, no ``TaskFamily`` class), or its
            manifest, build steps or sidecar are malformed; the message names the step and the fix.
    """
    root = path.resolve()
    name = root.name
    module = root / f"{name}.py"
    if not module.is_file():
        raise FamilyError(name, "loading the family", f"{module} is missing",
                          f"a METR family folder {name}/ holds {name}.py defining class TaskFamily")
    try:
        tree = ast.parse(module.read_text(), filename=str(module))
    except SyntaxError as error:
        raise FamilyError(name, "loading the family", f"{module.name} has a syntax error at line {error.lineno}",
                          "fix it") from None
    if not any(isinstance(node, ast.ClassDef) and node.name == "TaskFamily" for node in tree.body):
        raise FamilyError(name, "loading the family", f"{module.name} defines no TaskFamily class",
                          f"define `class TaskFamily` at the top level of {module.name} (the METR Task "
                          "Standard: get_tasks, get_instructions, ...)")
    if not name.isidentifier():
        raise FamilyError(name, "loading the family", "the folder name is not a Python module name",
                          "rename the folder and its .py file to letters, digits and underscores")
    manifest = _read_manifest(name, root / "manifest.yaml")
    sidecar, sidecar_path = _read_sidecar(name, root)
    return MetrFamily(name=name, root=root, manifest=manifest, sidecar=sidecar, sidecar_path=sidecar_path,
                      build_steps=_read_build_steps(name, root / "build_steps.json"))


def _read_manifest(name: str, path: Path) -> Manifest:
    if not path.is_file():
        return Manifest()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return Manifest.model_validate(raw)
    except yaml.YAMLError as error:
        raise FamilyError(name, "reading manifest.yaml", f"it is not valid YAML ({error})",
                          "correct the YAML syntax") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FamilyError(name, "reading manifest.yaml", f"field {where!r}: {first['msg']}",
                          "give a valid value (tasks.<task>.resources: cpus, memory_gb, storage_gb, "
                          "gpu: {count_range: [n, n], model})") from None


def _read_build_steps(name: str, path: Path) -> tuple[BuildStep, ...]:
    if not path.is_file():
        return ()
    try:
        raw = json.loads(path.read_text())
        steps = tuple(BuildStep.model_validate(step) for step in raw)
    except (json.JSONDecodeError, ValidationError, TypeError) as error:
        raise FamilyError(name, "reading build_steps.json", f"it is not a list of build steps ({error})",
                          'each step is {"type": "file", "source", "destination"} or '
                          '{"type": "shell", "commands": [...]}') from None
    for step in steps:
        if step.type == "file" and not (step.source and step.destination):
            raise FamilyError(name, "reading build_steps.json", "a file step lacks source or destination",
                              "give both")
    return steps


def sidecar_paths(root: Path) -> list[Path]:
    """Where a family's sidecar may be: in the folder, then beside it."""
    return [root / SIDECAR_NAME, root.parent / f"{root.name}{SIDECAR_SUFFIX}"]


def _read_sidecar(name: str, root: Path) -> tuple[Sidecar, Path | None]:
    for path in sidecar_paths(root):
        if not path.is_file():
            continue
        try:
            raw = yaml.safe_load(path.read_text()) or {}
            return Sidecar.model_validate(raw), path
        except yaml.YAMLError as error:
            raise FamilyError(name, f"reading the sidecar {path}", f"it is not valid YAML ({error})",
                              "correct the YAML syntax") from None
        except (ValidationError, ValueError) as error:
            problem = str(error).splitlines()[0]
            if isinstance(error, ValidationError):
                first = error.errors()[0]
                problem = f"field {'.'.join(str(p) for p in first['loc'])!r}: {first['msg']}"
            raise FamilyError(name, f"reading the sidecar {path}", problem,
                              "see docs/metr-tasks.md (direction, starting, reference, tasks)") from None
    if name in REBENCH_PUBLISHED:
        return Sidecar.model_validate({**REBENCH_PUBLISHED[name], "source": _REBENCH_SOURCE}), None
    return Sidecar(), None
