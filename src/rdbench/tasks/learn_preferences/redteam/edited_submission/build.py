"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    turns = json.loads((materialized / "reference" / "answer.json").read_text())["turns"]
    path = sorted(turns[0]["files"])[0]
    turns[0]["files"][path] += "\n"
    (workspace / "answer.json").write_text(json.dumps({"turns": turns}))
