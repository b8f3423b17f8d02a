"""Test family whose get_tasks raises (malformed)."""


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, dict[str, int]]:
        raise RuntimeError("the task list is broken")

    @staticmethod
    def get_instructions(t: dict[str, int]) -> str:
        return "never"
