"""Task environments: a virtual environment per distinct requirement set, built once and cached.

The venv is built from ``environment.python`` (Debian's ``/usr/bin/python3`` by default, so that the
sandbox needs only ``/usr`` besides the venv) under ``<cache>/envs/<hash>`` and mounted read-only into
sandboxes. A lock serialises concurrent builds; a marker file makes a half-built venv visible as such.

``RDBENCH_TASK_ENV=/path/to/venv`` uses an existing virtual environment for every task instead
(nothing is built or installed): for a cluster or GPU machine whose administrators provide a CUDA
build of torch, or a machine without access to a package index. Every score made with it records its
installed packages (provenance), so scores made with another torch stay tellable apart; the task's
declared requirements are not checked against it beyond a warning for a missing package.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdbench.paths import cache_dir
from rdbench.progress import progress_bar
from rdbench.task.spec import EnvironmentSpec

MARKER = ".rdbench-complete"
TASK_ENV_VAR = "RDBENCH_TASK_ENV"


class EnvironmentBuildError(RuntimeError):
    """Building a task environment failed."""


def environment_key(spec: EnvironmentSpec) -> str:
    """A short hash of what determines the environment."""
    payload = json.dumps({"python": spec.python, "requirements": sorted(spec.requirements)})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ensure_environment(
    spec: EnvironmentSpec, progress: Callable[[str], None] | None = None
) -> Path:
    """The venv for ``spec``, building it on first use.

    Returns:
        The venv's root directory.

    Raises:
        EnvironmentBuildError: The interpreter is missing or pip failed (its output is included).
    """
    say = progress or (lambda message: print(message, file=sys.stderr))
    given = os.environ.get(TASK_ENV_VAR)
    if given:
        return _existing_environment(Path(given), spec, say)
    root = cache_dir() / "envs" / environment_key(spec)
    if (root / MARKER).exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / MARKER).exists():
            return root
        if not Path(spec.python).exists():
            raise EnvironmentBuildError(
                f"task environment interpreter {spec.python} does not exist; install it "
                "(Debian: apt-get install python3 python3-venv) or set environment.python"
            )
        shutil.rmtree(root, ignore_errors=True)
        described = f"building task environment {root.name} ({', '.join(spec.requirements) or 'stdlib'})"
        with progress_bar(described, say=say) as advance:
            venv_args = [spec.python, "-m", "venv", str(root)]
            if not spec.requirements:
                venv_args.insert(3, "--without-pip")
            advance(0, "creating the venv")
            _run(venv_args)
            if spec.requirements:
                advance(0, "pip install (once; cached for every later run)")
                _run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input",
                      "--disable-pip-version-check", *spec.requirements])
        (root / MARKER).write_text(json.dumps(spec.model_dump()))
    return root


_checked: set[tuple[str, str]] = set()


def _existing_environment(root: Path, spec: EnvironmentSpec, say: Callable[[str], None]) -> Path:
    """``root`` checked to be a usable venv (``RDBENCH_TASK_ENV``); warns once per missing requirement."""
    python = root / "bin" / "python"
    if not (root / "pyvenv.cfg").is_file() or not python.exists():
        raise EnvironmentBuildError(
            f"{TASK_ENV_VAR}={root} is not a virtual environment (no pyvenv.cfg or bin/python); give the "
            "root folder of one, e.g. /opt/venv, or unset it to let rdbench build task environments")
    installed = {p.split("==")[0] for p in environment_packages(root)}
    for requirement in spec.requirements:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        if name not in installed and (str(root), name) not in _checked:
            _checked.add((str(root), name))
            say(f"task environment {root} ({TASK_ENV_VAR}) has no {name!r}, which the task requires "
                f"({requirement}); its scorer may fail")
    return root.absolute()


def environment_packages(root: Path) -> list[str]:
    """``name==version`` of every distribution installed in the venv at ``root``, sorted."""
    found = set()
    for info in root.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found.add(f"{name.lower().replace('_', '-')}=={version}")
    return sorted(found)


def environment_fingerprint(root: Path) -> dict[str, Any]:
    """What a score depends on in the task environment: its key, Python and installed packages.

    The packages are those actually installed (a requirement like ``numpy`` resolves to whatever
    was newest when the venv was built), hashed so two records can be compared at a glance.
    """
    packages = environment_packages(root)
    python = ""
    cfg = root / "pyvenv.cfg"
    if cfg.exists():
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info"):
                python = value.strip()
    digest = hashlib.sha256("\n".join(packages).encode()).hexdigest()[:16]
    key_packages = [p for p in packages if p.split("==")[0] in ("torch", "numpy", "scikit-learn", "scipy")]
    return {"key": root.name, "python": python, "packages_sha256": digest, "n_packages": len(packages),
            "main_packages": key_packages}


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise EnvironmentBuildError(
            f"building the task environment failed: {' '.join(argv)}\n{result.stdout}{result.stderr}"
        )
