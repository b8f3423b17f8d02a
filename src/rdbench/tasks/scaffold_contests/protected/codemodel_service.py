"""Host-side code model service: sampled candidate programs for the dev problems, on a budget.

Runs in the harness process. Request: ``codemodel --problem d3``. Each problem has its own budget
(params["queries"]); the harness also enforces the task-wide budget from task.yaml.
"""

import random
import sys

DEV_SEED = 12345


def _dev(protected, params):
    sys.path.insert(0, str(protected))
    import contests_gen  # noqa: PLC0415

    return {p["id"]: p for p in contests_gen.make_set(DEV_SEED, int(params.get("n_dev", 10)), "d",
                                                         kinds=contests_gen.DEV_KINDS)}, contests_gen


def handle(request, protected, params, state):
    problems, gen = _dev(protected, params)
    pid = str(request.get("problem", ""))
    if pid not in problems:
        return {"output": f"unknown problem {pid!r}; dev problems are {sorted(problems)}", "exit_code": 2}
    counts = state.setdefault("counts", {})
    budget = int(params.get("queries", 8))
    if counts.get(pid, 0) >= budget:
        return {"output": f"refused: query budget of {budget} for {pid} spent", "exit_code": 1}
    counts[pid] = counts.get(pid, 0) + 1
    n = state.get("n", 0)
    state["n"] = n + 1
    rng = random.Random(f"{params.get('seed', 0)}-{n}")
    return {"output": gen.sample(problems[pid], rng), "exit_code": 0}
