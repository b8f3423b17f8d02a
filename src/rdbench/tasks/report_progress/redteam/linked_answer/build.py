"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "answer.json").unlink(missing_ok=True)
    (workspace / "answer.json").symlink_to("/opt/rdbench/protected/truth.json")
