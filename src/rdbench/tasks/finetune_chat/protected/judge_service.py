"""Host-side `judge` service: which of two answers to one prompt is better, on a budget.

Runs in the harness process (trusted task code); the rubric in judge.py and the grammar never enter
the agent's sandbox. Request: ``judge --prompt "finish : the dog" --a "runs ." --b "run ."`` (or a
JSON object with those keys on stdin). Reply: ``A``, ``B`` or ``tie``. The harness counts every call
(malformed ones too) against the budget in task.yaml and refuses calls past it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

_judges: dict[str, tuple[ModuleType, Any]] = {}


def _judge(protected: Path) -> tuple[ModuleType, Any]:
    key = str(protected)
    if key not in _judges:
        spec = importlib.util.spec_from_file_location(f"finetune_chat_judge_{len(_judges)}",
                                                      Path(protected) / "judge.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses resolve their module by name
        spec.loader.exec_module(mod)
        _judges[key] = (mod, mod.Grammar.load(Path(protected) / "grammar.json"))
    return _judges[key]


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    prompt, a, b = request.get("prompt"), request.get("a", ""), request.get("b", "")
    if not isinstance(prompt, str) or not isinstance(a, str) or not isinstance(b, str):
        return {"output": 'usage: judge --prompt "<prompt>" --a "<answer>" --b "<answer>"', "exit_code": 2}
    judge, grammar = _judge(protected)
    problem = judge.check_prompt(grammar, prompt)
    if problem is not None:
        return {"output": f"bad prompt: {problem}", "exit_code": 2}
    state["answered"] = state.get("answered", 0) + 1
    verdict: str = judge.compare(grammar, prompt, a, b)
    return {"output": verdict, "exit_code": 0}
