"""ask service (runs on the host): the researcher, answering the agent's questions about what they
meant, in the task's ask variant (a scale whose params say ``ask: true``); elsewhere it answers nothing.

``ask TOPIC`` or ``ask --question "free text"`` asks one question: it is matched to the dimension it
concerns (a topic's name or one of its keywords, ``protected/ask.json``); a question about exactly
one dimension at stake in this request gets the intended option in plain words (written by the
generator from the hidden intent; the service holds no other answer), anything else ("I don't
know", "one thing at a time", "that doesn't matter here") costs the same. At most
``params["ask_questions"]`` questions. ``ask --topics`` lists the topics and ``ask --status`` the
count (neither is a question). ``ask --submit DIGEST`` (``python submit_project.py`` computes the
project's digest and sends it) closes the questions for good and signs a receipt (``asking.sign``) of
the count and the digest; later submissions are signed with the same count. The count lives in the
run's service state on the host: restarting the agent, deleting files or the receipt does not reset
it. The service writes nothing to the workspace.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

NOT_HERE = ("ask: asking is not part of this variant of the task (its `ask` scale offers it): read the "
            "project and use your judgement")


def _asking(protected: Path) -> Any:
    spec = importlib.util.spec_from_file_location("extrapolate_intent_asking_service", protected / "asking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _question(request: dict[str, Any]) -> str:
    parts = [request.get("question"), " ".join(str(w) for w in request.get("argv") or []), request.get("input")]
    return " ".join(str(p) for p in parts if isinstance(p, str) and p.strip()).strip()


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    if not params.get("ask"):
        return {"output": NOT_HERE, "exit_code": 2}
    asking = _asking(protected)
    setup = json.loads((protected / "ask.json").read_text())
    limit, cost = int(params.get("ask_questions", 5)), float(params.get("ask_cost", 0.1))
    asked: list[str] = state.setdefault("questions", [])
    bare = [str(w).lower().lstrip("-") for w in request.get("argv") or []]
    if bare in (["topics"], ["status"], ["help"]):  # `ask topics` meant the command: not a question
        request = {"topics" if bare == ["help"] else bare[0]: True}
    if request.get("topics"):
        lines = [f"- {dim}: {' '.join(words)}" for dim, words in setup["topics"].items()]
        return {"output": "Topics (ask TOPIC, or a question in your words that names one of them or a keyword):\n"
                + "\n".join(lines), "exit_code": 0}
    if request.get("status"):
        shut = "closed (the project was submitted)" if state.get("closed") else "open"
        return {"output": f"{len(asked)} question(s) asked of at most {limit} (each costs {cost:g} of the value); "
                          f"questions {shut}", "exit_code": 0}
    if "submit" in request:
        digest = str(request["submit"]).strip().lower()
        if not re.fullmatch(r"[0-9a-f]{32}", digest):
            return {"output": "ask --submit takes the project's digest: run `python submit_project.py`",
                    "exit_code": 2}
        state["closed"] = True
        receipt = asking.sign(setup["key"], len(asked), digest)
        return {"output": f"Questions are closed: {len(asked)} asked.\nreceipt: {receipt}", "exit_code": 0}
    question = _question(request)
    if not question:
        return {"output": "ask TOPIC, ask --question \"...\", ask --topics, ask --status, or python "
                          "submit_project.py when done", "exit_code": 2}
    if state.get("closed"):
        return {"output": "Questions closed when you submitted the project; not asked, not counted.",
                "exit_code": 1}
    if len(asked) >= limit:
        return {"output": f"You have asked your {limit} questions; not asked, not counted.", "exit_code": 1}
    asked.append(question[:500])
    dims = asking.match(question, setup["topics"])
    if not dims:
        answer = "I don't know, use your judgement."
    elif len(dims) > 1:
        answer = f"One thing at a time, please: that touches {', '.join(dims)}. Use your judgement."
    elif dims[0] not in setup["answers"]:
        answer = "That doesn't matter for this request: use your judgement."
    else:
        answer = setup["answers"][dims[0]]
    tail = f"(question {len(asked)} of at most {limit}; each costs {cost:g} of the value)"
    return {"output": f"{answer}\n{tail}", "exit_code": 0}
