"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
import shutil
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    shutil.copy(materialized / "reference" / "results.json", workspace / "results.json")
    (workspace / "fault_report.json").write_text(json.dumps({"faults": []}))
