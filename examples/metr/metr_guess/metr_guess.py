"""A METR Task Standard family (an example for rdbench): find a hidden number by scoring guesses.

``install()`` draws the hidden targets once (the family's image) into /root/assets. The agent
writes its guess to /home/agent/guess.txt and calls ``score``: ``intermediate_score(t)`` reads
the guess and says how close it is (task ``hidden``: the score is logged but not shown).
``aggregate_scores`` takes the best score of the log.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any, TypedDict

ASSETS = Path("/root/assets")


class Task(TypedDict):
    name: str
    low: int
    high: int


class TaskFamily:
    standard_version = "0.5.0"

    @staticmethod
    def get_tasks() -> dict[str, Task]:
        return {"visible": {"name": "visible", "low": 0, "high": 100},
                "hidden": {"name": "hidden", "low": 0, "high": 1000}}

    @staticmethod
    def get_instructions(t: Task) -> str:
        return (f"Find the hidden integer between {t['low']} and {t['high']}. Write your guess to "
                "/home/agent/guess.txt and run `score`: the score is -log10(1 + distance), "
                "0 when you are right.")

    @staticmethod
    def install() -> None:
        rng = random.Random()  # drawn once per image: the targets are not in the family's code
        ASSETS.mkdir(exist_ok=True)
        targets = {"visible": rng.randint(0, 100), "hidden": rng.randint(0, 1000)}
        (ASSETS / "targets.json").write_text(json.dumps(targets))
        (ASSETS / "targets.json").chmod(0o600)

    @staticmethod
    def start(t: Task) -> None:
        Path("/home/agent/guess.txt").write_text(str((t["low"] + t["high"]) // 2))

    @staticmethod
    def intermediate_score(t: Task) -> dict[str, Any]:
        target = json.loads((ASSETS / "targets.json").read_text())[t["name"]]
        guess_file = Path("/home/agent/guess.txt")
        try:
            guess = int(guess_file.read_text().strip())
        except (OSError, ValueError) as error:
            return {"score": float("nan"), "message": {"error": f"no readable guess: {error}"}, "details": {}}
        distance = abs(guess - target)
        message: dict[str, Any] = {"guess": guess}
        if t["name"] == "visible":
            message["hint"] = "higher" if guess < target else "lower" if guess > target else "exact"
        return {"score": -math.log10(1 + distance), "message": message, "details": {"target": target}}

    @staticmethod
    def aggregate_scores(t: Task, score_log: list[dict[str, Any]]) -> float | None:
        scores = [e["score"] for e in score_log if e["score"] is not None and math.isfinite(e["score"])]
        return max(scores) if scores else None
