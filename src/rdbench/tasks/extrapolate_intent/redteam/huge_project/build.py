"""Builds the attack on the starting workspace (runs on the host, as task code)."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    with open(workspace / "weights.bin", "wb") as handle:
        handle.write(b"\0" * (30 << 20))
