"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import os
from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    os.link(workspace / "tests" / "test_project.py", workspace / "tests_copy.py")
