"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    scratch = workspace / "scratch"
    shutil.copytree(workspace, scratch, ignore=shutil.ignore_patterns("scratch"))
    shutil.copytree(materialized / "reference", scratch, dirs_exist_ok=True)
    config = json.loads((scratch / "config.json").read_text())
    for out in ("runs/base", "out/on", "out/off", "out/alt", "out/oracle"):
        config["out_dir"] = str(workspace / out)
        (scratch / "cfg.json").write_text(json.dumps(config))
        subprocess.run([sys.executable, "train.py", "--config", "cfg.json"], cwd=scratch, check=True,
                       capture_output=True)
    shutil.rmtree(scratch)
