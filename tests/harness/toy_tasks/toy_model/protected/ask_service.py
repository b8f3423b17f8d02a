"""The agent's side of the helper model: ``ask --question TEXT``."""


def handle(request, protected, params, state, generate):
    if generate is None:
        return {"output": "no helper model at this scale", "exit_code": 1}
    return {"output": generate("helper", "Q: " + str(request.get("question", "")), max_tokens=50)}
