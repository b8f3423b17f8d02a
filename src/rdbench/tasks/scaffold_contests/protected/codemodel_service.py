"""Host-side code model service: sampled candidate programs for the dev problems, on a budget.

Runs in the harness process. Request: ``codemodel --problem d3 [--hint TEXT]``. Each problem has its
own budget (params["queries"]); the harness also enforces the task-wide budget from task.yaml. The
code model is the problem's candidate pool (mini) or the language model bound to the ``codemodel``
role (full: ``generate`` comes from the harness; the hint is added to its prompt).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

DEV_SEED = 12345


def _dev(protected: Path, params: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], ModuleType]:
    sys.path.insert(0, str(protected))
    import contests_gen

    return {p["id"]: p for p in contests_gen.make_set(DEV_SEED, int(params.get("n_dev", 10)), "d",
                                                         kinds=contests_gen.DEV_KINDS)}, contests_gen


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any], state: dict[str, Any],
           generate: Callable[..., str] | None) -> dict[str, Any]:
    problems, gen = _dev(protected, params)
    pid = str(request.get("problem", ""))
    if pid not in problems:
        return {"output": f"unknown problem {pid!r}; dev problems are {sorted(problems)}", "exit_code": 2}
    counts = state.setdefault("counts", {})
    budget = int(params.get("queries", 8))
    if counts.get(pid, 0) >= budget:
        return {"output": f"refused: query budget of {budget} for {pid} spent", "exit_code": 1}
    counts[pid] = counts.get(pid, 0) + 1
    n = state.get("n", 0)
    state["n"] = n + 1
    if params.get("code_model", "pool") == "llm":
        if generate is None:
            return {"output": "no code model is bound (role codemodel)", "exit_code": 1}
        hint = request.get("hint")
        prompt = gen.llm_prompt(gen.public(problems[pid]), None if hint in (None, True) else str(hint))
        try:
            text = generate("codemodel", prompt, temperature=float(params.get("temperature", 1.0)),
                            max_tokens=int(params.get("max_tokens", 1024)))
        except RuntimeError as error:
            return {"output": f"code model failed: {error}", "exit_code": 1}
        return {"output": gen.extract_program(text), "exit_code": 0}
    rng = random.Random(f"{params.get('seed', 0)}-{n}")
    return {"output": gen.sample(problems[pid], rng), "exit_code": 0}
