"""Progress of long work: a ``rich`` bar on a terminal, plain lines everywhere else.

Environment builds, asset preparation, calibration and reports take minutes. On a terminal they
show a bar (or, where the amount of work is unknown, a spinner) with the time elapsed; messages
printed meanwhile appear above it. Where stderr is not a terminal (CI, a log file, Slurm), where
``RDBENCH_PROGRESS=0``, or where another live display already owns the terminal (Inspect's, during
an eval), the description is one line through ``say`` and nothing else changes.

Bars are off until :func:`enable_bars` (the ``rdbench`` command turns them on, and off again before
Inspect's display starts), so a library caller's output stays plain lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

PROGRESS_ENV = "RDBENCH_PROGRESS"
_enabled = False


class Advance(Protocol):
    """Report progress: ``advance`` more steps done; ``note`` replaces the text after the
    description (what is being done now)."""

    def __call__(self, advance: int = 1, note: str | None = None) -> None: ...


def enable_bars(on: bool = True) -> None:
    """Allow bars (the CLI does, until Inspect's own display takes the terminal)."""
    global _enabled
    _enabled = on


def bars_wanted() -> bool:
    """Bars only when enabled, on a terminal, unless ``RDBENCH_PROGRESS=0`` (or ``TERM=dumb``)."""
    if not _enabled:
        return False
    if os.environ.get(PROGRESS_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return sys.stderr.isatty()


@contextmanager
def progress_bar(
    description: str,
    total: int | None = None,
    say: Callable[[str], None] | None = None,
    notes_as_lines: bool = False,
) -> Iterator[Advance]:
    """Show ``description`` with a bar of ``total`` steps (a spinner when ``total`` is None) while
    the block runs; yields the function that advances it.

    Without a terminal, ``say(description)`` once (stderr when ``say`` is None), and with
    ``notes_as_lines`` each non-empty note as a line of its own; steps are not shown.
    """
    tell = say or (lambda message: print(message, file=sys.stderr, flush=True))
    bar = _start(description, total) if bars_wanted() else None
    if bar is None:
        tell(description)

        def line(advance: int = 1, note: str | None = None) -> None:
            if notes_as_lines and note:
                tell(note)

        yield line
        return
    progress, task_id = bar

    def step(advance: int = 1, note: str | None = None) -> None:
        fields: dict[str, Any] = {"advance": advance}
        if note is not None:
            fields["note"] = note
        progress.update(task_id, **fields)

    try:
        yield step
    finally:
        progress.stop()


def _start(description: str, total: int | None) -> tuple[Any, Any] | None:
    """A started ``rich`` progress display with one task, or None where another live display
    (Inspect's) owns the terminal."""
    import rich
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Column

    if getattr(rich.get_console(), "_live_stack", None):
        return None
    console = Console(stderr=True)
    # a long description (a path) is cut, never the counts and the clock after it
    cut = Column(no_wrap=True, overflow="ellipsis", max_width=max(20, console.width // 2))
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}", table_column=cut)]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[note]}", style="dim")]
    progress = Progress(*columns, console=console, transient=False)
    progress.start()  # its own console: no other live display can be active on it
    return progress, progress.add_task(description, total=total, note="")
