"""The agent's side of the helper model: ``ask --question TEXT``."""

from collections.abc import Callable
from pathlib import Path
from typing import Any


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any], state: dict[str, Any],
           generate: Callable[..., str] | None) -> dict[str, Any]:
    if generate is None:
        return {"output": "no helper model at this scale", "exit_code": 1}
    return {"output": generate("helper", "Q: " + str(request.get("question", "")), max_tokens=50)}
