"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    updates = json.loads((materialized / "reference" / "answer.json").read_text())["updates"]
    first_t = updates[0]["receipt"].split(":")[1]
    late = updates[-1]
    _, _, digest, mac = late["receipt"].split(":")
    (workspace / "answer.json").write_text(json.dumps({"updates": [
        {"receipt": f"1:{first_t}:{digest}:{mac}", "update": late["update"]}]}))
