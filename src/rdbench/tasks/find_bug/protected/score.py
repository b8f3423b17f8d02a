"""find_bug scorer: reads answer.json; re-runs train.py in a subprocess when it was edited (repair)."""

import hashlib
import json
import math
import os
import subprocess
import sys


def _nan(message):
    return {"value": float("nan"), "message": message, "details": {}}


def _rerun(workspace, seed):
    env = dict(os.environ, SEED=str(seed))
    try:
        proc = subprocess.run([sys.executable, "train.py"], cwd=workspace, env=env, timeout=60,
                              capture_output=True, text=True)
        last = proc.stdout.strip().splitlines()[-1].split()
        return float(last[1]) if proc.returncode == 0 and last[0] == "test_logloss" else None
    except (subprocess.TimeoutExpired, IndexError, ValueError):
        return None


def score(workspace, protected, params):
    label = json.loads((protected / "label.json").read_text())
    answer_path, train_path = workspace / "answer.json", workspace / "train.py"
    for path in (answer_path, train_path):
        if path.is_symlink() or (path.exists() and path.stat().st_nlink > 1):
            return _nan(f"{path.name} must be a plain file (no links)")
    try:
        answer = json.loads(answer_path.read_text())
        said = answer["buggy"]
        lines = answer.get("lines") or []
        kind = answer.get("type")
        if answer.get("answered") is False:
            said = False
        elif not isinstance(said, bool) or not all(isinstance(x, int) for x in lines):
            raise TypeError("buggy must be a boolean and lines a list of integers")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return _nan(f"answer.json invalid: {error}")
    truth = label["buggy"]
    details = {"truth_buggy": truth, "truth_type": label["type"], "said_buggy": said,
               "said_type": kind, "line_correct": False, "type_correct": False, "repaired": None}
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        details["said_buggy"] = False
        return {"value": 0.0, "message": 'no answer yet (answer.json has "answered": false)', "details": details}
    if truth:
        details["line_correct"] = bool(said and lines and lines[0] in label["lines"])
        details["type_correct"] = bool(said and kind == label["type"])
        value = (float(said) + details["line_correct"] + details["type_correct"]) / 3
        edited = train_path.exists() and hashlib.sha256(
            train_path.read_bytes()).hexdigest() != label["original_sha256"]
        if edited:
            clean = label["clean_metrics"]
            lo, hi = min(clean) - 0.02, max(clean) + 0.02
            got = [_rerun(workspace, s) for s in (0, 1, 2)]
            details["repair_metrics"] = got
            details["repaired"] = all(g is not None and math.isfinite(g) and lo <= g <= hi for g in got)
    else:
        value = float(not said)
    return {"value": value, "message": "answer recorded", "details": details}
