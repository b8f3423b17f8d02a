"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    with open(workspace / "answer.json", "wb") as handle:
        handle.write(b"[" + b"1," * (10 * 2**20) + b"1]")
