"""watch_run scorer: verifies the signed alarm receipt; NAB-style timeliness plus type."""

import hashlib
import hmac
import json
import math


def _nan(message):
    return {"value": float("nan"), "message": message, "details": {}}


def timeliness(latency, window):
    """NAB's scaled sigmoid: 1.0 at latency 0, ~0.013 at the window's end."""
    return 2.0 / (1.0 + math.exp(5.0 * latency / window))


def score(workspace, protected, params):
    label = json.loads((protected / "label.json").read_text())
    path = workspace / "answer.json"
    if path.is_symlink():
        return _nan("answer.json must be a plain file")
    try:
        answer = json.loads(path.read_text())
        receipt = answer.get("receipt")
    except (OSError, ValueError, AttributeError) as error:
        return _nan(f"answer.json invalid: {error}")
    details = {"truth_fault": label["fault"], "at": label["at"], "window_start": label["window_start"],
               "steps": label["steps"], "alarm": False, "false_alarm": False, "detected": False,
               "latency": None, "type_correct": False}
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        return {"value": 0.0, "message": 'no answer yet (answer.json has "answered": false)', "details": details}
    if receipt is None:
        value = 0.0 if label["fault"] else 1.0
        return {"value": value, "message": "recorded (no alarm)", "details": details}
    try:
        step_s, kind, revealed_s, mac = str(receipt).split(":")
        step, revealed = int(step_s), int(revealed_s)
    except ValueError:
        return _nan("receipt malformed: copy the line watch --alarm printed")
    body = f"{step}:{kind}:{revealed}"
    good = hmac.new(label["key"].encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(good, mac):
        return _nan("receipt signature invalid")
    details.update(alarm=True, alarm_step=step, revealed=revealed, said_type=kind)
    if not label["fault"] or step < label["at"]:
        details["false_alarm"] = True
        return {"value": 0.0, "message": "recorded", "details": details}
    latency = max(0, revealed - 1 - label["window_start"])
    window = int(params.get("window", 100))
    details["latency"] = latency
    if latency > window:
        return {"value": 0.0, "message": "recorded", "details": details}
    details.update(detected=True, type_correct=kind == label["fault"])
    value = 0.8 * timeliness(latency, window) + 0.2 * details["type_correct"]
    return {"value": value, "message": "recorded", "details": details}
