"""Materialised tasks: the folders a run actually uses, with prepared assets laid over them.

A task's ``prepare.py`` (optional) builds derived assets once per (task folder content, scale), and a
family's generator builds one instance per seed. Both write ``workspace/``, ``protected/`` and
``reference/`` subfolders that are laid over the task's own. Results are cached under
``<cache>/tasks/<name>/<hash>/``; a marker file marks a complete build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdbench._extras import MissingExtraError, extra_of, missing_message
from rdbench.errors import UserError
from rdbench.paths import cache_dir, package_root
from rdbench.progress import progress_bar
from rdbench.task.errors import TaskFormatError
from rdbench.task.loader import LoadedTask

MARKER = ".rdbench-complete"
_IGNORED = {"__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Materialized:
    """The folders of one run: starting workspace, protected data, reference overlay."""

    task: LoadedTask
    scale: str
    root: Path
    instance: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def protected(self) -> Path:
        return self.root / "protected"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def extra_instructions(self) -> str:
        path = self.root / "instructions.md"
        return path.read_text() if path.exists() else ""


def folder_hash(root: Path) -> str:
    """A content hash of a folder (paths and bytes), ignoring caches."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if any(part in _IGNORED for part in path.relative_to(root).parts) or not path.is_file():
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def tasklib_hash(task_root: Path) -> str:
    """A content hash of the parts of ``rdbench.tasklib`` a task folder can use.

    The top-level modules always count; a subpackage (e.g. ``tasklib.assist``) counts only when the
    task's Python files name it, so editing one family's generator does not rebuild the assets of
    every language-model task.
    """
    tasklib = package_root() / "tasklib"
    source = "\n".join(p.read_text(errors="replace") for p in sorted(task_root.rglob("*.py")))
    parts = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tasklib.glob("*.py"))]
    for sub in sorted(p for p in tasklib.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if re.search(rf"rdbench\.tasklib\.{sub.name}\b|from rdbench\.tasklib import [^\n]*\b{sub.name}\b",
                     source):
            parts.append(f"{sub.name}:{folder_hash(sub)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def materialize(
    task: LoadedTask,
    scale: str,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Materialized:
    """Build (or reuse) the folders for a run of ``task`` at ``scale``.

    Args:
        task: The loaded task.
        scale: Scale name.
        seed: Instance seed (families only; required for them).
        progress: Receives progress lines.
    """
    say = progress or (lambda message: print(message, file=sys.stderr))
    params = task.spec.scale(scale).params
    # prepare.py and generators may use rdbench.tasklib: what they can import is part of the key too
    key_src = json.dumps([folder_hash(task.root), tasklib_hash(task.root), scale, params, seed],
                         sort_keys=True, default=str)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    label = f"seed{seed}-{key}" if seed is not None else key
    root = cache_dir() / "tasks" / task.name / label
    if not (root / MARKER).exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        with open(root.parent / f"{label}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (root / MARKER).exists():
                _build(task, scale, seed, root, say)
    meta_path = root / "instance.json"
    metadata = json.loads(meta_path.read_text()) if meta_path.exists() else None
    return Materialized(
        task=task,
        scale=scale,
        root=root,
        instance=None if seed is None else f"{task.name}/{seed}",
        metadata=metadata,
    )


def _build(task: LoadedTask, scale: str, seed: int | None, root: Path, say: Callable[[str], None]) -> None:
    shutil.rmtree(root, ignore_errors=True)
    staging = root.with_name(root.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    for sub in ("workspace", "protected", "reference"):
        (staging / sub).mkdir(parents=True)
        source = task.root / sub
        if source.is_dir():
            _overlay(source, staging / sub)
    params = {**task.spec.scale(scale).params, "scale": scale}
    if task.prepare_script is not None:
        out = staging / ".prepared"
        with progress_bar(f"preparing assets of {task.name} ({scale}); this runs once and is cached", say=say):
            _call(task.prepare_script, "prepare", [str(out), params], task)
        _lay_over(out, staging)
    if task.spec.family is not None:
        if seed is None:
            raise UserError(f"{task.name} is a task family: give an instance seed")
        out = staging / ".instance"
        meta = _call(task.root / task.spec.family.generator, "generate", [seed, str(out), params], task)
        _lay_over(out, staging)
        if (out / "instructions.md").exists():
            shutil.copy2(out / "instructions.md", staging / "instructions.md")
        (staging / "instance.json").write_text(json.dumps({"seed": seed, **(meta or {})}, default=str))
    for tmp in (".prepared", ".instance"):
        shutil.rmtree(staging / tmp, ignore_errors=True)
    (staging / MARKER).write_text("")
    staging.rename(root)


def _lay_over(out: Path, staging: Path) -> None:
    for sub in ("workspace", "protected", "reference"):
        if (out / sub).is_dir():
            _overlay(out / sub, staging / sub)


def _overlay(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_IGNORED))


_CALL = """
import importlib.util, json, pathlib, sys
path, func, args_json, result_path = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("rdbench_task_script", path)
module = importlib.util.module_from_spec(spec)
sys.path.insert(0, str(pathlib.Path(path).parent))
args = json.loads(args_json)
if func == "prepare":
    args[0] = pathlib.Path(args[0])
else:
    args[1] = pathlib.Path(args[1])
try:
    spec.loader.exec_module(module)
    result = getattr(module, func)(*args)
except ModuleNotFoundError as error:
    if not error.name:
        raise
    # perhaps a package of an extra that is not installed: the parent says which extra, in one line
    import traceback
    traceback.print_exc()
    pathlib.Path(result_path).write_text(json.dumps({"missing_module": error.name}))
    sys.exit(MISSING_MODULE_EXIT)
pathlib.Path(result_path).write_text(json.dumps(result, default=str))
"""
# the exit code of _CALL when the script imports a package that is not installed
MISSING_MODULE_EXIT = 3


def _call(script: Path, func: str, args: list[Any], task: LoadedTask) -> Any:
    """Run a task script's function in a fresh host process (task code is trusted, not the agent's)."""
    result_path = script.parent / f".{func}-result-{id(args)}.json"
    tmp_result = Path(cache_dir()) / "tmp" / result_path.name
    tmp_result.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", f"MISSING_MODULE_EXIT = {MISSING_MODULE_EXIT}\n{_CALL}", str(script), func,
         json.dumps(args), str(tmp_result)],
        capture_output=True,
        text=True,
    )
    if proc.returncode == MISSING_MODULE_EXIT and tmp_result.exists():
        missing = str(json.loads(tmp_result.read_text())["missing_module"])
        tmp_result.unlink(missing_ok=True)
        extra = extra_of(missing)
        if extra is not None:
            role = "asset preparation" if func == "prepare" else "instance generator"
            needed_by = f"task {task.name}'s {role} ({script.name})"
            raise MissingExtraError(missing_message(extra, missing, needed_by), extra, missing)
    if proc.returncode != 0:
        raise TaskFormatError(
            script,
            f"{func}() failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}",
            f"fix {script.name}; run it by hand to debug",
        )
    try:
        return json.loads(tmp_result.read_text())
    finally:
        tmp_result.unlink(missing_ok=True)
