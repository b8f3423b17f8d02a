"""Reference scaffold: sample several programs, drop those failing the visible examples, then vote.

Candidates passing the examples are grouped by their outputs on probe inputs (the examples plus
empty and small generated inputs); the largest agreeing group wins, since correct programs agree
with each other while wrong ones err in different ways.
"""

import json
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import codemodel

SAMPLES = 8


def run(program, inp):
    try:
        return subprocess.run([sys.executable, "-c", program], input=inp, capture_output=True,
                              text=True, timeout=0.5).stdout.strip()
    except subprocess.TimeoutExpired:
        return None


def solve(p, rng):
    cands = []
    for _ in range(SAMPLES):
        program = codemodel.sample(p["id"])
        if program is None:
            break
        cands.append(program)
    ok = [c for c in set(cands) if all(run(c, e["input"]) == e["output"] for e in p["examples"])]
    if not ok:
        return cands[0] if cands else None
    probes = ["\n", "0\n", "5 5 5\n"] + [
        " ".join(str(rng.randint(-30, 40)) for _ in range(rng.randint(1, 10))) + "\n" for _ in range(6)]
    groups = defaultdict(list)
    for c in ok:
        groups[tuple(run(c, i) for i in probes)].append(c)
    weight = {k: sum(cands.count(c) for c in v) for k, v in groups.items()}
    best = max(weight, key=lambda k: (len(groups[k]), weight[k]))
    return groups[best][0]


def main():
    problems = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    rng = random.Random(0)
    for p in problems:
        program = solve(p, rng)
        if program is not None:
            (out / f"{p['id']}.py").write_text(program)


if __name__ == "__main__":
    main()
