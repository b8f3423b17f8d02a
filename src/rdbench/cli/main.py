"""``rdbench``: list, check, run and report research tasks.

Each subcommand lives in its own module exposing ``register(subparsers)``; a module that is missing
(an optional part not installed) is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rdbench.cli.common import DEBUG_ENV

SUBCOMMANDS = ("tasks", "check", "score", "redteam", "run", "human", "watch", "report", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdbench",
        description="rdbench: research-engineering tasks for AI agents and people, on Inspect AI.",
        epilog="Run `rdbench COMMAND --help` for a command's options. Docs: docs/ in the repository.",
    )
    from rdbench import __version__

    parser.add_argument("--version", action="version", version=f"rdbench {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of every error (also: RDBENCH_DEBUG=1)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rdbench.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"rdbench.cli.{name}":
                continue
            raise
        module.register(subparsers)
    for command in subparsers.choices.values():
        # also after the command (`rdbench run ... --debug`); SUPPRESS keeps a leading --debug
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of every error (also: RDBENCH_DEBUG=1)")
    return parser


def _command_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    return None


def _unknown(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """``unrecognized arguments`` with the closest options the command has."""
    import difflib

    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for extra in extras:
        if extra.startswith("-"):
            close = difflib.get_close_matches(extra.split("=", 1)[0], options, n=1, cutoff=0.6)
            if close:
                hints.append(close[0])
    message = f"unrecognized arguments: {' '.join(extras)}"
    return message + (f" (did you mean {' or '.join(hints)}?)" if hints else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rdbench`` command."""
    from rdbench.tokcache import ensure_tiktoken_cache

    ensure_tiktoken_cache()
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        # the command's own usage, not the top level's, for a misspelt option of a command
        command = _command_parser(parser, getattr(args, "command", None))
        (command or parser).error(_unknown(command or parser, extras))
    if getattr(args, "debug", False):
        os.environ[DEBUG_ENV] = "1"  # the tasks' own processes (and Inspect's) see it too
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
