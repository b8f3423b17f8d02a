"""``rdbench``: list, check, run and report research tasks.

The CLI is a click group. Each subcommand lives in its own module exposing ``command`` (a
:class:`click.Command`); a module that is missing (an optional part not installed) is skipped.
Shell completion comes from click: ``rdbench completion bash`` prints the script to source.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click
from click.shell_completion import get_completion_class

from rdbench.cli.common import debug_option
from rdbench.progress import enable_bars

SUBCOMMANDS = ("tasks", "check", "score", "redteam", "run", "human", "watch", "report", "demo")
COMPLETE_ENV = "_RDBENCH_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
# a subcommand's context inherits these from the group's (-h and the width in every command)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _version() -> str:
    from rdbench import __version__

    return __version__


@click.group(
    "rdbench",
    context_settings=CONTEXT,
    help="rdbench: research-engineering tasks for AI agents and people, on Inspect AI.",
    epilog="Run `rdbench COMMAND --help` for a command's options. Docs: docs/ in the repository.",
)
@click.version_option(version=_version(), prog_name="rdbench", message="%(prog)s %(version)s")
@debug_option
def cli() -> None:
    """The ``rdbench`` command group."""


@cli.command("completion",
             short_help="print the shell completion script (bash, zsh or fish)",
             help="Prints the script that completes rdbench's commands, options and task names in "
             "SHELL. Add it to your shell's start-up file, e.g. for bash: "
             "eval \"$(rdbench completion bash)\" in ~/.bashrc; zsh: the same in ~/.zshrc; fish: "
             "rdbench completion fish > ~/.config/fish/completions/rdbench.fish")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script of ``shell``."""
    kind = get_completion_class(shell)
    assert kind is not None  # every choice is one of click's shells
    click.echo(kind(cli, {}, "rdbench", COMPLETE_ENV).source())


def _register() -> None:
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rdbench.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"rdbench.cli.{name}":
                continue
            raise
        cli.add_command(module.command, name)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rdbench`` command: its exit code (0 for ``--help`` and ``--version``,
    2 for a usage mistake, the command's own code otherwise)."""
    from rdbench.tokcache import ensure_tiktoken_cache

    ensure_tiktoken_cache()
    enable_bars()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="rdbench", standalone_mode=False,
                          complete_var=COMPLETE_ENV)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except (click.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
