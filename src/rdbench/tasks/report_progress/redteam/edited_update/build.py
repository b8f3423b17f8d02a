"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    item = json.loads((materialized / "reference" / "answer.json").read_text())["updates"][-1]
    item["update"]["best_metric"] = 0.001
    (workspace / "answer.json").write_text(json.dumps({"updates": [item]}))
