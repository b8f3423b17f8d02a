"""Helpers shared by the CLI commands: error reporting, progress, and the click glue every command
uses (``--debug``, task-name completion, the handler call)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from rdbench.errors import UserError
from rdbench.task.environment import EnvironmentBuildError
from rdbench.task.errors import TaskFormatError, TaskNotFoundError

T = TypeVar("T")
USER_ERRORS = (UserError, TaskFormatError, TaskNotFoundError, EnvironmentBuildError)
DEBUG_ENV = "RDBENCH_DEBUG"
DEBUG_HELP = "show the traceback of every error (also: RDBENCH_DEBUG=1)"
METR_SECTION = "METR Task Standard families (docs/metr-tasks.md)"

#: a command's parsed options, by the option's long name (``--model-role`` -> ``args.model_role``)
Args = SimpleNamespace


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


def set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"  # the tasks' own processes (and Inspect's) see it too


def debug_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--debug``, accepted before the command and after it (``rdbench run ... --debug``)."""
    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=set_debug,
                        help=DEBUG_HELP)(function)


def call(handler: Callable[[Args], int], options: dict[str, Any]) -> int:
    """Run ``handler`` on a command's options under :func:`guarded`; repeatable options and
    variadic arguments arrive as lists."""
    args = Args(**{k: list(v) if isinstance(v, tuple) else v for k, v in options.items()})
    return guarded(handler)(args)


def complete_tasks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of task names (those on the search path, METR families included)."""
    try:
        from rdbench.task.loader import discover

        names = sorted(discover())
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


class SectionOption(click.Option):
    """An option listed under its own heading in ``--help`` (``section=``), e.g. Inspect's
    pass-through options or the Slurm ones."""

    def __init__(self, *args: Any, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section


class Command(click.Command):
    """A command whose ``--help`` lists options by section (:class:`SectionOption`)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue  # in the usage line, as click's own commands show them
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, "section", None) or "Options", []).append(record)
        for heading, records in sections.items():
            with formatter.section(heading):
                formatter.write_dl(records)
