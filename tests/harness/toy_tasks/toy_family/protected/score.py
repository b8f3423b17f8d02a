import json
from pathlib import Path
from typing import Any


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    # a scorer written before the toolkit: NaN still means an invalid submission
    hidden = json.loads((protected / "hidden.json").read_text())["hidden"]
    try:
        guess = int((workspace / "answer.txt").read_text().strip())
    except ValueError:
        return {"value": float("nan"), "message": "answer.txt must hold an integer", "details": {}}
    error = abs(guess - hidden)
    return {"value": 1.0 - error / params["max_value"], "message": "recorded",
            "details": {"exact": error == 0, "error": error}}
