"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import os
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "other.json").write_text((workspace / "answer.json").read_text())
    (workspace / "answer.json").unlink()
    os.link(workspace / "other.json", workspace / "answer.json")
