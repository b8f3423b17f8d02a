"""The score log: one timestamped entry per scoring run, kept in the Inspect log.

Entries live in the sample's store under :data:`STORE_KEY` while the sample runs (and are mirrored
to a JSON-lines file on the host so a killed run loses nothing already recorded); the final
:class:`~rdbench.scoring.record.RunRecord` in the score's metadata carries them too.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

STORE_KEY = "rdbench:score_log"

EntrySource = Literal["agent", "final", "calibration", "human"]

EntryKind = Literal["scored", "invalid", "scorer_error"]
"""What a scoring run produced: a score; an invalid submission (the agent's fault: counts as no
score); or a scorer error (the harness's or the task's fault: a bug, a missing package, a sandbox that
could not be made). Scorer errors are shown apart and never read as the agent's zero."""


class ScoreEntry(BaseModel):
    """One scoring run.

    ``value`` is None for an invalid submission (the scorer's NaN, a crash, a timeout, an OOM) and
    for a scorer error; ``kind`` tells the two apart.
    """

    index: int
    timestamp: float = Field(description="unix time the scoring run finished")
    elapsed_s: float = Field(description="working time since the run started, in seconds")
    value: float | None
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    duration_s: float = 0.0
    source: EntrySource = "agent"
    kind: EntryKind | None = Field(
        default=None, description="scored, invalid or scorer_error; None in logs older than the field")

    @property
    def outcome(self) -> EntryKind:
        """``kind``, or for entries written before it existed, scored/invalid from the value."""
        if self.kind is not None:
            return self.kind
        return "scored" if self.valid else "invalid"

    @property
    def valid(self) -> bool:
        """Whether the entry holds a usable (finite) score."""
        return self.value is not None and math.isfinite(self.value)

    def for_agent(self, visible: bool) -> dict[str, Any]:
        """The view the agent gets: no details, and no value when scores are hidden."""
        view: dict[str, Any] = {
            "index": self.index,
            "elapsed_s": round(self.elapsed_s, 1),
            "message": self.message if visible else "(scores are hidden for this task)",
        }
        if visible:
            view["value"] = self.value
            view["outcome"] = self.outcome
        else:
            view["valid"] = self.valid
        return view


def clean_value(value: Any) -> float | None:
    """A scorer's value as a float, with NaN/inf/non-numbers mapped to None (invalid)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class ScoreLog:
    """An append-only list of entries, mirrored to a JSON-lines file when a path is given."""

    def __init__(self, path: Path | None = None, entries: list[ScoreEntry] | None = None) -> None:
        self.path = path
        self._entries: list[ScoreEntry] = list(entries or [])
        self._lock = threading.Lock()
        if path is not None and path.exists() and not self._entries:
            self._entries = read_jsonl(path)

    @property
    def entries(self) -> list[ScoreEntry]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def next_index(self) -> int:
        with self._lock:
            return len(self._entries)

    def append(self, entry: ScoreEntry) -> ScoreEntry:
        """Append an entry (its index is reassigned to its position) and persist it."""
        with self._lock:
            entry = entry.model_copy(update={"index": len(self._entries)})
            self._entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a") as handle:
                    handle.write(entry.model_dump_json() + "\n")
                    handle.flush()
        return entry


def read_jsonl(path: Path) -> list[ScoreEntry]:
    """Read a score log file; a torn last line (a killed writer) is ignored."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            entries.append(ScoreEntry.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError):
            continue
    return entries
