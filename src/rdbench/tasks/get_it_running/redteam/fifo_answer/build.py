"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import os
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "fault_report.json").unlink(missing_ok=True)
    os.mkfifo(workspace / "fault_report.json")
