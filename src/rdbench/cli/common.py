"""Helpers shared by the CLI commands: error reporting and progress."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rdbench.task.environment import EnvironmentBuildError
from rdbench.task.errors import TaskFormatError, TaskNotFoundError

T = TypeVar("T")
USER_ERRORS = (TaskFormatError, TaskNotFoundError, EnvironmentBuildError, ValueError)


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"rdbench: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = 2) -> int:
    print(f"rdbench: error: {message}", file=sys.stderr)
    return code


def guarded(handler: Callable[[Any], int]) -> Callable[[Any], int]:
    """Turn user errors (bad task, bad option) into one message and exit code 2, no traceback."""

    def run(args: Any) -> int:
        try:
            return handler(args)
        except USER_ERRORS as error:
            return fail(str(error))
        except Exception as error:
            # Inspect's way of saying "bad input" (our registered tasks raise it too): its message
            # alone, as Inspect's own CLI prints it; anything else is a bug and keeps its traceback
            if type(error).__name__ == "PrerequisiteError":
                return fail(" ".join(str(getattr(error, "message", error)).split()))
            raise

    return run
