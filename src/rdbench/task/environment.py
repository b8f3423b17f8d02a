"""Task environments: a virtual environment per distinct requirement set, built once and cached.

The venv is built from ``environment.python`` (Debian's ``/usr/bin/python3`` by default, so that the
sandbox needs only ``/usr`` besides the venv) under ``<cache>/envs/<hash>`` and mounted read-only into
sandboxes. A lock serialises concurrent builds; a marker file makes a half-built venv visible as such.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdbench.paths import cache_dir
from rdbench.task.spec import EnvironmentSpec

MARKER = ".rdbench-complete"


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
        say(f"building task environment {root.name} ({', '.join(spec.requirements) or 'stdlib'})")
        venv_args = [spec.python, "-m", "venv", str(root)]
        if not spec.requirements:
            venv_args.insert(3, "--without-pip")
        _run(venv_args)
        if spec.requirements:
            _run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input",
                  "--disable-pip-version-check", *spec.requirements])
        (root / MARKER).write_text(json.dumps(spec.model_dump()))
    return root


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
