"""learn_preferences scorer: replays the session from the signed submissions.

Every turn in ``answer.json`` needs the receipt the ``researcher`` service signed for it (turn number
and the digest of the submission's canonical JSON, HMAC with a key only ``protected/`` holds): a
submission cannot be edited, reordered or swapped in after the corrections it was meant to answer.
The turns must be 1, 2, ... in order. The replay (``prefs.replay``, the service's own checks) gives
each turn's value: 0.3 for doing what was asked plus 0.7 for the share of the hidden preferences that
apply to it and are followed. The session's value weighs turn k by k (later turns count more: by then
the researcher's corrections should have been learned); a turn never submitted scores 0.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def _prefs(protected: Path) -> Any:
    spec = importlib.util.spec_from_file_location("learn_preferences_prefs_scorer", protected / "prefs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    prefs = _prefs(protected)
    session = json.loads((protected / "session.json").read_text())
    n = len(session["turns"])
    answer = rs.read_json("answer.json", workspace, max_bytes=4 << 20)
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json invalid: it must hold a JSON object")
    details: dict[str, Any] = {"turns": n, "profile_size": len(session["profile"]), "judged": []}
    if answer.get("answered") is False:  # the starting template: no turn submitted yet scores 0
        return rs.scored(0.0, 'no answer yet (answer.json has "answered": false)', **details)
    items = answer.get("turns")
    if not isinstance(items, list) or len(items) > n:
        raise rs.Invalid(f"answer.json invalid: 'turns' must be a list of at most {n} items")
    files_per_turn = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("files"), dict):
            raise rs.Invalid("answer.json invalid: each turn needs 'receipt' and 'files' (as submit.py writes)")
        try:
            k_s, digest, mac = str(item.get("receipt")).split(":")
            k = int(k_s)
        except ValueError:
            raise rs.Invalid("receipt malformed: keep the receipt line the researcher signed") from None
        good = hmac.new(session["key"].encode(), f"{k_s}:{digest}".encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(good, mac):
            raise rs.Invalid("receipt signature invalid")
        if k != index:
            raise rs.Invalid(f"turn {index} of answer.json carries the receipt of turn {k}: turns must be in order")
        if prefs.digest({"files": item["files"]}) != digest:
            raise rs.Invalid(f"turn {k} differs from the submission its receipt signed (digest mismatch)")
        files_per_turn.append(item["files"])
    judged = prefs.replay(files_per_turn, session["turns"], session["profile"], session["modes"], session["pointers"],
                          session["data"])
    profile = session["profile"]
    details["judged"] = [{**{k: v for k, v in j.items() if k != "follows"},
                          "at_stake": sum(dim in j["follows"] for dim in profile)} for j in judged]
    weights = sum(range(1, n + 1))
    value = sum(j["turn"] * j["value"] for j in judged) / weights
    repeated = sum(len(j["repeated"]) for j in judged)
    return rs.scored(value, f"recorded ({len(judged)} of {n} turns)", repeated_violations=repeated, **details)
