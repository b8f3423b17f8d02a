"""watch service (runs on the host): replays the recorded run; signs the one alarm.

The scorer cannot see this service's state, so the alarm's context (the claimed step, the type and
how many steps had been revealed) travels in a receipt signed with a per-instance key that only
protected/ holds; the scorer checks the signature. The service writes nothing to the workspace.
"""

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any


def sign(key: str, step: int, kind: str, revealed: int) -> str:
    """The receipt line for an alarm."""
    body = f"{step}:{kind}:{revealed}"
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body}:{mac}"


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    rows = json.loads((protected / "run.json").read_text())
    label = json.loads((protected / "label.json").read_text())
    revealed = state.setdefault("revealed", 0)
    if "advance" in request:
        try:
            n = int(request["advance"])
        except (TypeError, ValueError):
            return {"output": "--advance takes an integer", "exit_code": 2}
        n = max(0, min(n, int(params.get("max_advance", 50))))
        chunk = rows[revealed:revealed + n]
        state["revealed"] = revealed + len(chunk)
        lines = ["step,loss,grad_norm,lr,samples_per_s"] + [
            f"{r['step']},{r['loss']:.5g},{r['grad_norm']:.5g},{r['lr']:.5g},{r['samples_per_s']:.1f}" for r in chunk]
        if state["revealed"] >= len(rows):
            lines.append("# end of run")
        return {"output": "\n".join(lines), "exit_code": 0}
    if "alarm" in request:
        if state.get("receipt"):
            return {"output": f"alarm already raised: {state['receipt']}", "exit_code": 1}
        try:
            step = int(request["alarm"])
        except (TypeError, ValueError):
            return {"output": "--alarm takes a step number", "exit_code": 2}
        if not 0 <= step < revealed:
            return {"output": f"step {step} has not been revealed (seen {revealed})", "exit_code": 1}
        kind = str(request.get("type", "unknown")).replace(":", "_")
        state["receipt"] = sign(label["key"], step, kind, revealed)
        return {"output": f"receipt: {state['receipt']}", "exit_code": 0}
    if "status" in request:
        return {"output": f"seen {revealed} of {len(rows)} steps", "exit_code": 0}
    return {"output": "use --advance N, --status or --alarm STEP --type TYPE", "exit_code": 2}
