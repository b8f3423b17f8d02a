"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import os
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "model.pt").unlink(missing_ok=True)
    os.link(workspace / "base.pt", workspace / "model.pt")
