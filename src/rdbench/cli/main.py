"""``rdbench``: list, check, run and report research tasks.

Each subcommand lives in its own module exposing ``register(subparsers)``; a module that is missing
(an optional part not installed) is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("tasks", "check", "score", "redteam", "run", "human", "watch", "report", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdbench",
        description="rdbench: research-engineering tasks for AI agents and people, on Inspect AI.",
        epilog="Run `rdbench COMMAND --help` for a command's options. Docs: docs/ in the repository.",
    )
    from rdbench import __version__

    parser.add_argument("--version", action="version", version=f"rdbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rdbench.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"rdbench.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rdbench`` command."""
    from rdbench.tokcache import ensure_tiktoken_cache

    ensure_tiktoken_cache()
    parser = build_parser()
    args = parser.parse_args(argv)
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
