"""Integrity: files the agent must not change are hashed before and after a run."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rdbench.scoring.record import IntegrityReport


def hash_files(workspace: Path, patterns: list[str]) -> dict[str, str]:
    """sha256 of every regular file under ``workspace`` matching a glob; symlinks hash their target path."""
    hashes: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(workspace.glob(pattern)):
            rel = str(path.relative_to(workspace))
            if path.is_symlink():
                hashes[rel] = "symlink:" + str(path.readlink())
            elif path.is_file():
                hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def compare(before: dict[str, str], after: dict[str, str]) -> IntegrityReport:
    """Which protected files changed, appeared or disappeared."""
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return IntegrityReport(ok=not changed, changed=changed)
