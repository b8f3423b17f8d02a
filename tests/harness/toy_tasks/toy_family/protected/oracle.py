import json
from pathlib import Path
from typing import Any


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    hidden = json.loads((protected / "hidden.json").read_text())["hidden"]
    guess = int(request.get("guess", 0))
    state.setdefault("asked", []).append(guess)
    return {"output": "above" if hidden > guess else "not above", "exit_code": 0}
