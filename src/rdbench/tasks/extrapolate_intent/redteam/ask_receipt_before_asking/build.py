"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import importlib.util
import json
import shutil
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    spec = importlib.util.spec_from_file_location("redteam_asking", materialized / "protected" / "asking.py")
    asking = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(asking)
    key = json.loads((materialized / "protected" / "ask.json").read_text())["key"]
    early = asking.sign(key, 0, asking.project_digest(workspace))  # submitted before any question
    shutil.copytree(materialized / "reference", workspace, dirs_exist_ok=True)  # finished after asking
    (workspace / asking.RECEIPT_FILE).write_text(early + "\n")
