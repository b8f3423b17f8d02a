"""Test family whose intermediate_score runs the agent's program (as some METR families do), its
output going to the scoring step's own standard output."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, dict[str, str]]:
        return {"main": {}}

    @staticmethod
    def get_instructions(t: dict[str, str]) -> str:
        return "solve.py writes a number to out.txt; it should be the hidden one."

    @staticmethod
    def start(t: dict[str, str]) -> None:
        Path("/root/secret.txt").write_text(str(random.randint(10, 99)))

    @staticmethod
    def intermediate_score(t: dict[str, str]) -> dict[str, Any]:
        secret = int(Path("/root/secret.txt").read_text())
        subprocess.run([sys.executable, "/home/agent/solve.py"], cwd="/home/agent", timeout=60, check=False)
        value = int(Path("/home/agent/out.txt").read_text())
        return {"score": -abs(value - secret), "message": {"value": value}, "details": {"secret": secret}}
