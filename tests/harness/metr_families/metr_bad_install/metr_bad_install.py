"""Test family whose install fails (malformed)."""

import subprocess


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, dict[str, int]]:
        return {"main": {}}

    @staticmethod
    def get_instructions(t: dict[str, int]) -> str:
        return "never"

    @staticmethod
    def install() -> None:
        subprocess.check_call(["sh", "-c", "echo installing; exit 3"])
