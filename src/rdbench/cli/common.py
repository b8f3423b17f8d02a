"""Helpers shared by the CLI commands: error reporting and progress."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rdbench.errors import UserError
from rdbench.task.environment import EnvironmentBuildError
from rdbench.task.errors import TaskFormatError, TaskNotFoundError

T = TypeVar("T")
USER_ERRORS = (UserError, TaskFormatError, TaskNotFoundError, EnvironmentBuildError)
DEBUG_ENV = "RDBENCH_DEBUG"


def debugging() -> bool:
    """Tracebacks for every error: ``--debug`` (which sets ``RDBENCH_DEBUG=1``) or the variable."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"rdbench: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = 2) -> int:
    print(f"rdbench: error: {message}", file=sys.stderr)
    return code


def guarded(handler: Callable[[Any], int]) -> Callable[[Any], int]:
    """Run a command: a user error (:class:`~rdbench.errors.UserError`, a bad task, Inspect's
    ``PrerequisiteError``) is one line and exit code 2; anything else is a bug and keeps its
    traceback. With ``--debug`` / ``RDBENCH_DEBUG=1`` every error shows its traceback."""

    def run(args: Any) -> int:
        try:
            return handler(args)
        except USER_ERRORS as error:
            if debugging():
                raise
            return fail(str(error))
        except Exception as error:
            # Inspect's way of saying "bad input" (our registered tasks raise it too): its message
            # alone, as Inspect's own CLI prints it
            if type(error).__name__ == "PrerequisiteError" and not debugging():
                return fail(" ".join(str(getattr(error, "message", error)).split()))
            raise

    return run
