"""A METR family's image: its environment, its folder after build steps and ``install()``, and what
``get_tasks`` / ``get_instructions`` / ``get_permissions`` say (cached per family content).

The image lives under ``<cache>/metr/<family>/<key>/`` (root-only): ``root/`` is the family folder
as ``install()`` left it (every sample's ``/root`` starts as a copy), ``home/`` what the build put in
``/home/agent`` (every sample's home starts as a copy), ``env`` the family's Python environment, and
``setup.json`` the tasks with their instructions and permissions. Like Docker's image build,
``install()`` and shell build steps get the host's network (the family's own code, never the agent's).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import hashlib
import json
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from rdbench.harness.metr.steps import Place, Separation, StepResult, run_command, run_step
from rdbench.paths import cache_dir
from rdbench.task.environment import ensure_environment
from rdbench.task.metr import FamilyError, MetrFamily
from rdbench.task.spec import EnvironmentSpec

MARKER = "image.done"
_T = TypeVar("_T")


class FamilySetup(BaseModel):
    """What the family says about its tasks (the ``setup`` step)."""

    tasks: list[str]
    instructions: dict[str, str]
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    required_environment_variables: list[str] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=list)
    standard_version: str = ""


class FamilyImage(BaseModel):
    """A built image (see the module docstring)."""

    family: str
    folder: Path
    env: Path
    setup: FamilySetup

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @property
    def home(self) -> Path:
        return self.folder / "home"


def run_sync(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to completion from synchronous code, inside a running event loop or not."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def image_key(family: MetrFamily, env: Path) -> str:
    """What the image depends on: the family's content and its environment."""
    digest = hashlib.sha256(f"{family.content_key}\n{env}\n{family.sidecar.python}".encode())
    return digest.hexdigest()[:16]


def step_failure(family: str, step: str, result: StepResult, fix: str) -> FamilyError:
    """The error for a failed step, with the last traceback line or output line as the problem."""
    problem = result.why()
    if result.missing_module:
        fix = (f"the module {result.missing_module!r} is missing from the family's environment: list it in "
               f"requirements.txt (or install it in install())")
    return FamilyError(family, step, problem, fix)


def ensure_image(family: MetrFamily, say: Callable[[str], None],
                 separation: Separation | None = None) -> FamilyImage:
    """The family's image, building it on first use (locked: concurrent runs wait for one build).

    Raises:
        FamilyError: A build step, ``install()``, ``get_tasks()`` or ``get_instructions()`` failed;
            the message names the family, the step and the fix.
    """
    separation = separation or Separation.current()
    base_env = ensure_environment(EnvironmentSpec(requirements=family.requirements(),
                                                  python=family.sidecar.python), say)
    parent = cache_dir() / "metr" / family.name
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o700)  # the family's secrets: never the agent's to read
    folder = parent / image_key(family, base_env)
    with open(parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / MARKER).exists():
            shutil.rmtree(folder, ignore_errors=True)
            _build(family, folder, base_env, separation, say)
    env = folder / "env" if (folder / "env").is_dir() else base_env
    setup = FamilySetup.model_validate_json((folder / "setup.json").read_text())
    return FamilyImage(family=family.name, folder=folder, env=env, setup=setup)


def _build(family: MetrFamily, folder: Path, base_env: Path, separation: Separation,
           say: Callable[[str], None]) -> None:
    folder.mkdir()
    shutil.copytree(family.root, folder / "root", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".git", ".pytest_cache"))
    (folder / "home").mkdir()
    (folder / "protected").mkdir()
    env = base_env
    if family.needs_install:
        # install() may add packages: it gets a copy of the environment of its own
        env = folder / "env"
        shutil.copytree(base_env, env, symlinks=True)
    place = Place(root=folder / "root", protected=folder / "protected", env=env, base_env=env,
                  home=folder / "home", env_writable=family.needs_install)
    timeout = family.sidecar.install_timeout
    if family.build_steps:
        say(f"METR family {family.name}: running {len(family.build_steps)} build steps")
    for number, step in enumerate(family.build_steps, 1):
        if step.type == "file":
            assert step.source is not None and step.destination is not None
            _copy_step(family, folder, step.source, step.destination, number)
            continue
        script = "set -e\n" + "\n".join(step.commands)
        outcome = run_sync(run_command(["/bin/bash", "-c", script], place, separation, network=True,
                                       timeout=timeout))
        if outcome.returncode != 0 or outcome.timed_out:
            last = (outcome.stderr or outcome.stdout).strip().splitlines()[-1:] or ["no output"]
            raise FamilyError(family.name, f"build step {number} (shell)",
                              f"it failed (exit {outcome.returncode}): {last[0]}",
                              "fix the commands in build_steps.json (they run as root in /root)")
    if family.needs_install:
        say(f"METR family {family.name}: running install() (once per family version)")
        result = run_sync(run_step("install", family.name, place, separation, network=True, timeout=timeout))
        if not result.ok:
            raise step_failure(family.name, "install()", result,
                               "fix TaskFamily.install (it runs once, as root in /root; see the traceback "
                               "in the log above)")
    place.env_writable = False
    setup = run_sync(run_step("setup", family.name, place, separation, network=False, timeout=600))
    if not setup.ok:
        stage = setup.stage or "loading the family"
        fix = ("get_tasks() must return a non-empty dict of task name -> task" if "get_tasks" in stage
               else f"fix TaskFamily ({stage} raised)")
        raise step_failure(family.name, stage, setup, fix)
    (folder / "setup.json").write_text(json.dumps(setup.result))
    (folder / MARKER).write_text("ok\n")


def _copy_step(family: MetrFamily, folder: Path, source: str, destination: str, number: int) -> None:
    src = (family.root / source).resolve()
    if not src.is_relative_to(family.root) or not src.exists():
        raise FamilyError(family.name, f"build step {number} (file)", f"{source} is not a path in the family",
                          "give a source relative to the family folder")
    if destination.startswith("/root/") or not destination.startswith("/"):
        target = folder / "root" / destination.removeprefix("/root/")
    elif destination.startswith("/home/agent/"):
        target = folder / "home" / destination.removeprefix("/home/agent/")
    else:
        raise FamilyError(family.name, f"build step {number} (file)", f"destination {destination} is outside "
                          "/root and /home/agent", "copy into /root or /home/agent (rdbench has no image "
                          "of its own to change)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(src, target)


def read_cached_setup(family: MetrFamily) -> FamilySetup | None:
    """The tasks of the family's newest built image, without building one (``rdbench tasks``)."""
    parent = cache_dir() / "metr" / family.name
    marks = sorted(parent.glob(f"*/{MARKER}"), key=lambda p: p.stat().st_mtime) if parent.is_dir() else []
    if not marks:
        return None
    try:
        return FamilySetup.model_validate_json((marks[-1].parent / "setup.json").read_text())
    except (OSError, ValueError):
        return None
