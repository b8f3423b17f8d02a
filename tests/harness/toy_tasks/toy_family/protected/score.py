import json


def score(workspace, protected, params):
    hidden = json.loads((protected / "hidden.json").read_text())["hidden"]
    try:
        guess = int((workspace / "answer.txt").read_text().strip())
    except ValueError:
        return {"value": float("nan"), "message": "answer.txt must hold an integer", "details": {}}
    error = abs(guess - hidden)
    return {"value": 1.0 - error / params["max_value"], "message": "recorded",
            "details": {"exact": error == 0, "error": error}}
