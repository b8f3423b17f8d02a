"""Test family: one task asks for the internet, one does not."""

from __future__ import annotations


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, dict[str, str]]:
        return {"web": {"kind": "web"}, "local": {"kind": "local"}}

    @staticmethod
    def get_instructions(t: dict[str, str]) -> str:
        return f"Task {t['kind']}: submit anything."

    @staticmethod
    def get_permissions(t: dict[str, str]) -> list[str]:
        return ["full_internet"] if t["kind"] == "web" else []

    @staticmethod
    def score(t: dict[str, str], submission: str) -> float:
        return 1.0 if submission.strip() else 0.0
