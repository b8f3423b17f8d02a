"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    answer = json.loads((materialized / "reference" / "answer.json").read_text())
    answer["steps"] = int(answer["steps"] * 1.5)
    (workspace / "answer.json").write_text(json.dumps(answer))
