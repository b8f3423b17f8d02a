"""progress service (runs on the host): replays a training campaign checkpoint by checkpoint and signs
one status update per checkpoint.

``progress --advance`` moves the campaign's clock to the next checkpoint and shows every log line
stamped since the previous one (nothing later: no reading ahead). ``progress --update`` with the
status update as a JSON object on standard input records the update for the current checkpoint and
prints a receipt ``K:T:DIGEST:MAC``: the checkpoint, its clock time, the first 16 hex digits of the
SHA-256 of the update's canonical JSON, and an HMAC with a per-instance key only ``protected/`` holds.
The scorer checks the MAC and recomputes the digest, so an update cannot be moved to another
checkpoint (back-dated to look prescient) or edited after it was signed. One update per checkpoint;
moving on without one forfeits it. The service writes nothing to the workspace.
"""

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

FIELDS = ("runs", "best_run", "best_metric", "expected_finish_min", "events", "actions", "summary")


def canonical(update: dict[str, Any]) -> str:
    """The text a receipt's digest covers."""
    return json.dumps(update, sort_keys=True, separators=(",", ":"))


def sign(key: str, k: int, t: float, update: dict[str, Any]) -> str:
    """The receipt of ``update`` made at checkpoint ``k`` (clock time ``t``)."""
    digest = hashlib.sha256(canonical(update).encode()).hexdigest()[:16]
    body = f"{k}:{t:.2f}:{digest}"
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body}:{mac}"


def _render(lines: list[dict[str, Any]]) -> str:
    return "\n".join(f"t={line['t']:.2f} {line['run']} {line['text']}" for line in lines)


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    label = json.loads((protected / "label.json").read_text())
    times: list[float] = label["checkpoints"]
    k = state.setdefault("checkpoint", 0)  # checkpoints reached so far (0: none yet)
    if request.get("advance"):
        if k >= len(times):
            return {"output": f"the campaign is over (checkpoint {k} of {len(times)} was the last)", "exit_code": 1}
        lines = json.loads((protected / "campaign.json").read_text())["lines"]
        before = times[k - 1] if k else -1.0
        chunk = [line for line in lines if before < line["t"] <= times[k]]
        state["checkpoint"] = k + 1
        head = f"# checkpoint {k + 1} of {len(times)}: the clock is at t={times[k]:.2f} min"
        tail = "# the campaign's last checkpoint: send your final update" if k + 1 == len(times) else \
            "# send your status update for this checkpoint now (progress --update < update.json)"
        return {"output": "\n".join([head, _render(chunk) or "# no new lines", tail]), "exit_code": 0}
    if request.get("update"):
        if k == 0:
            return {"output": "no checkpoint reached yet: run progress --advance first", "exit_code": 1}
        signed = state.setdefault("signed", {})
        if str(k) in signed:
            return {"output": f"checkpoint {k} already has an update: {signed[str(k)]}", "exit_code": 1}
        unknown = sorted(set(request) - set(FIELDS) - {"update", "argv"})
        if unknown:
            return {"output": f"unknown fields {unknown}; a status update has {list(FIELDS)}", "exit_code": 2}
        update = {name: request[name] for name in FIELDS if name in request}
        receipt = sign(label["key"], k, times[k - 1], update)
        signed[str(k)] = receipt
        return {"output": f"receipt: {receipt}\nsigned update (copy it with the receipt): {canonical(update)}",
                "exit_code": 0}
    if request.get("status"):
        return {"output": f"checkpoint {k} of {len(times)}" + (f" (t={times[k - 1]:.2f} min)" if k else "")
                + f"; updates signed at checkpoints {sorted(int(x) for x in state.get('signed', {}))}",
                "exit_code": 0}
    return {"output": "use progress --advance, progress --update < update.json, or progress --status",
            "exit_code": 2}
