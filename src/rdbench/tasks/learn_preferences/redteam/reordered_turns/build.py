"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    turns = json.loads((materialized / "reference" / "answer.json").read_text())["turns"]
    (workspace / "answer.json").write_text(json.dumps({"turns": [turns[-1], *turns[:-1]]}))
