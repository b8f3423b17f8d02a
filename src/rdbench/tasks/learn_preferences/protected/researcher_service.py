"""researcher service (runs on the host): the simulated researcher of a learn_preferences session.

``researcher --request`` shows the current request. ``researcher --submit`` with ``{"files": {path:
text}}`` on standard input (``submit.py`` in the workspace sends it) takes the turn's deliverable,
checks it against the researcher's hidden preferences (``prefs.py``), answers with at most two
corrections (each preference is corrected at most once: half of them said outright, half by pointing
to a file of the repository that does it right), signs a receipt ``K:DIGEST:MAC`` (the turn, the first
16 hex digits of the SHA-256 of the submission's canonical JSON, an HMAC with a per-instance key only
``protected/`` holds) and moves to the next request. The scorer replays the same checks from the
signed submissions. The service writes nothing to the workspace.
"""

import hashlib
import hmac
import importlib.util
import json
from pathlib import Path
from typing import Any

MAX_BYTES = 200_000


def _prefs(protected: Path) -> Any:
    spec = importlib.util.spec_from_file_location("learn_preferences_prefs_service", protected / "prefs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sign(key: str, turn: int, digest: str) -> str:
    """The receipt of the submission with ``digest`` at ``turn``."""
    body = f"{turn}:{digest}"
    return f"{body}:{hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]}"


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    prefs = _prefs(protected)
    session = json.loads((protected / "session.json").read_text())
    texts: list[str] = session["request_texts"]
    k = state.setdefault("turn", 0)  # turns submitted so far
    if request.get("request"):
        if k >= len(texts):
            return {"output": "That was everything for today, thanks!", "exit_code": 0}
        return {"output": f"Request {k + 1} of {len(texts)}: {texts[k]}", "exit_code": 0}
    if request.get("submit"):
        if k >= len(texts):
            return {"output": "There is no open request: the session is over.", "exit_code": 1}
        files = request.get("files")
        if not isinstance(files, dict) or not files or \
                not all(isinstance(p, str) and isinstance(t, str) for p, t in files.items()):
            return {"output": 'submit {"files": {"path": "text", ...}} on standard input (see submit.py)',
                    "exit_code": 2}
        if sum(len(p) + len(t) for p, t in files.items()) > MAX_BYTES:
            return {"output": f"the submission is over {MAX_BYTES} bytes", "exit_code": 2}
        submission = {"files": files}
        taken = set(session["data"]["files"]) | set(state.get("taken", []))
        result = prefs.evaluate(session["turns"][k], files, session["data"], taken)
        violated = prefs.violations(result, session["profile"])
        said = prefs.corrections(violated, state.get("corrected", []), session["profile"], session["modes"],
                                 session["pointers"])
        state["corrected"] = state.get("corrected", []) + [dim for dim, _ in said]
        state["taken"] = sorted(taken | set(files) - set(session["data"]["files"]))
        receipt = sign(session["key"], k + 1, prefs.digest(submission))
        state["turn"] = k + 1
        reply = ["Thanks."] + [text for _, text in said]
        if result["task"] <= 0:
            reply.insert(1, "Hmm, I can't find what I asked for in what you sent.")
        nxt = f"Request {k + 2} of {len(texts)}: {texts[k + 1]}" if k + 1 < len(texts) else \
            "That was everything for today, thanks!"
        return {"output": "\n".join([*reply, "", nxt, f"receipt: {receipt}"]), "exit_code": 0}
    if request.get("status"):
        return {"output": f"{k} of {len(texts)} requests answered", "exit_code": 0}
    return {"output": "use researcher --request, researcher --submit (see submit.py) or researcher --status",
            "exit_code": 2}
