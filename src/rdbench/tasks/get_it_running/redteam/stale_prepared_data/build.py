"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    shutil.copytree(materialized / "reference", workspace, dirs_exist_ok=True)
    subprocess.run([sys.executable, "prepare_data.py"], cwd=workspace, check=True, capture_output=True)
    run_sh = (workspace / "run.sh").read_text()
    (workspace / "run.sh").write_text(run_sh.replace("python prepare_data.py\n", ""))
    (workspace / "fault_report.json").write_text(json.dumps({"faults": []}))
