"""Errors of the task layer: one message naming the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

from rdbench.errors import UserError


class TaskFormatError(UserError):
    """A task folder is malformed.

    Args:
        file: The offending file (or folder).
        problem: What is wrong, naming the field where there is one.
        fix: How to fix it.
    """

    def __init__(self, file: Path | str, problem: str, fix: str) -> None:
        self.file = Path(file)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{file}: {problem}. Fix: {fix}")


class TaskNotFoundError(LookupError):
    """No task of that name on the search path."""
