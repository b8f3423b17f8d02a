import json


def handle(request, protected, params, state):
    hidden = json.loads((protected / "hidden.json").read_text())["hidden"]
    guess = int(request.get("guess", 0))
    state.setdefault("asked", []).append(guess)
    return {"output": "above" if hidden > guess else "not above", "exit_code": 0}
