"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import shutil
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    shutil.copy(workspace / "base.pt", workspace / "model.pt")
