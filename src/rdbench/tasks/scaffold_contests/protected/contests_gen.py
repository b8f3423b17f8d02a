"""Contest problems from templates, each with hidden tests and a pool of candidate programs.

Stdlib only: imported by score.py (scoring sandbox), codemodel_service.py (host) and prepare.py.
Every problem is drawn from a seed, so scoring uses fresh problems per call (nothing to memorise).
Candidates are Python stdin->stdout programs: a few correct, many subtly wrong (off-by-one, a missed
edge case that the visible examples do not exercise, an endless loop). The visible examples are drawn
so that most wrong candidates pass them too: filtering on the examples alone is not enough.
"""

from __future__ import annotations

import random
from typing import Any

CORRECT_WEIGHT = 0.4  # chance that one sample is a correct program

READ = "a = [int(t) for t in __import__('sys').stdin.read().split()]\n"


def _t_count_div(rng):
    k = rng.randint(2, 9)
    st = f"Read integers from stdin (whitespace separated, possibly none). Print how many are divisible by {k}."
    ok = [READ + f"print(sum(1 for v in a if v % {k} == 0))\n",
          READ + f"c = 0\nfor v in a:\n    if v % {k} == 0:\n        c += 1\nprint(c)\n",
          READ + f"print(len([v for v in a if not v % {k}]))\n"]
    bad = [READ + f"print(sum(1 for v in a[1:] if v % {k} == 0))\n",
           READ + f"print(sum(1 for v in a if v % {k} == 0 and v != 0))\n",
           READ + f"print(sum(1 for v in a if v % {k + 1} == 0))\n",
           READ + f"print(sum(1 for v in a if abs(v) % {k} == 0 and v > 0))\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-50, 50) for _ in range(r.randint(1, 12))]
        return [*a, 0, -k] if edge == 1 else [k * r.randint(1, 5), *a]

    def solve(a):
        return str(sum(1 for v in a if v % k == 0))

    def ex(r):
        return [r.choice([r.randint(1, 50), k * (k + 1) * r.randint(1, 3)]) for _ in range(r.randint(3, 7))]
    return st, ok, bad, gen, solve, ex


def _t_sum_above(rng):
    t = rng.randint(1, 20)
    st = f"Read integers from stdin (possibly none). Print the sum of those strictly greater than {t}."
    ok = [READ + f"print(sum(v for v in a if v > {t}))\n",
          READ + f"s = 0\nfor v in a:\n    s += v if v > {t} else 0\nprint(s)\n"]
    bad = [READ + f"print(sum(v for v in a if v >= {t}))\n",
           READ + f"print(sum(v for v in a[:-1] if v > {t}))\n",
           READ + f"print(sum(v for v in a if v > {t + 1}))\n",
           READ + f"i = 0\ns = 0\nwhile i < len(a) or not a:\n    s += a[i] if a[i] > {t} else 0\n    i += 1\nprint(s)\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-30, 40) for _ in range(r.randint(1, 12))]
        return [*a, t, t + 1] if edge == 1 else [*a, r.randint(t + 2, 60)]

    def solve(a):
        return str(sum(v for v in a if v > t))

    def ex(r):
        return [r.choice([r.randint(-30, t - 1), r.randint(t + 2, 60)]) for _ in range(r.randint(3, 7))] + [1]
    return st, ok, bad, gen, solve, ex


def _t_second_max(rng):
    st = ("Read integers from stdin. Print the second largest DISTINCT value, or NONE if there are "
          "fewer than two distinct values.")
    body = "d = sorted(set(a))\n"
    ok = [READ + body + "print(d[-2] if len(d) >= 2 else 'NONE')\n",
          READ + "m = max(a) if a else None\nr = [v for v in a if v != m]\nprint(max(r) if r else 'NONE')\n"]
    bad = [READ + "d = sorted(a)\nprint(d[-2] if len(d) >= 2 else 'NONE')\n",
           READ + body + "print(d[-2] if len(d) > 2 else 'NONE')\n",
           READ + body + "print(d[1] if len(d) >= 2 else 'NONE')\n",
           READ + "d = sorted(set(a))\nwhile len(d) != 2:\n    d = d[1:] if len(d) > 2 else d\nprint(d[0])\n"]

    def gen(r, edge):
        if edge == 0:
            return [r.randint(-5, 5)] * r.randint(1, 3)
        if edge == 2:
            x, y = r.sample(range(-40, 40), 2)
            return [x, y, x]
        a = [r.randint(-40, 40) for _ in range(r.randint(2, 10))]
        return [*a, max(a)]

    def solve(a):
        d = sorted(set(a))
        return str(d[-2]) if len(d) >= 2 else "NONE"

    def ex(r):
        return r.sample(range(-40, 40), 2)
    return st, ok, bad, gen, solve, ex


def _t_longest_rise(rng):
    st = ("Read integers from stdin (possibly none). Print the length of the longest run of "
          "consecutive values that is strictly increasing (0 for no input, 1 for a single value).")
    ok = [READ + "best = cur = 0\nprev = None\nfor v in a:\n    cur = cur + 1 if prev is not None and v > prev else 1\n"
          "    best = max(best, cur)\n    prev = v\nprint(best)\n",
          READ + "best = 1 if a else 0\ncur = 1\nfor i in range(1, len(a)):\n    cur = cur + 1 if a[i] > a[i - 1] else 1\n"
          "    best = max(best, cur)\nprint(best)\n"]
    bad = [READ + "best = cur = 1\nfor i in range(1, len(a)):\n    cur = cur + 1 if a[i] >= a[i - 1] else 1\n"
           "    best = max(best, cur)\nprint(best)\n",
           READ + "best = cur = 1\nfor i in range(1, len(a)):\n    cur = cur + 1 if a[i] > a[i - 1] else 1\n"
           "    best = max(best, cur)\nprint(best)\n",
           READ + "best = 1 if a else 0\ncur = 1\nfor i in range(1, len(a)):\n    cur = cur + 1 if a[i] > a[i - cur] else 1\n"
           "    best = max(best, cur)\nprint(best)\n",
           READ + "best = cur = 1\nfor i in range(1, len(a) - 1):\n    cur = cur + 1 if a[i] > a[i - 1] else 1\n"
           "    best = max(best, cur)\nprint(best if a else 0)\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-20, 20) for _ in range(r.randint(2, 9))]
        if edge == 1:
            return [*a, a[-1] + 1, a[-1] + 5, a[-1] + 3, a[-1] + 4]
        return [*a, -30, 5, 5, 6, 7, 8]

    def solve(a):
        best = cur = 0
        prev = None
        for v in a:
            cur = cur + 1 if prev is not None and v > prev else 1
            best = max(best, cur)
            prev = v
        return str(best)

    def ex(r):
        x = r.randint(0, 9)
        return [x + 10, x + 11, x + 12, x]
    return st, ok, bad, gen, solve, ex


def _t_pairs_sum(rng):
    k = rng.randint(5, 15)
    st = (f"Read integers from stdin (possibly none). Print the number of pairs of positions i < j "
          f"with a[i] + a[j] == {k}.")
    ok = [READ + f"n = len(a)\nprint(sum(1 for i in range(n) for j in range(i + 1, n) if a[i] + a[j] == {k}))\n",
          READ + f"seen = {{}}\nc = 0\nfor v in a:\n    c += seen.get({k} - v, 0)\n    seen[v] = seen.get(v, 0) + 1\nprint(c)\n"]
    bad = [READ + f"n = len(a)\nprint(sum(1 for i in range(n) if any(a[i] + a[j] == {k} for j in range(i + 1, n))))\n",
           READ + f"s = set(a)\nprint(sum(1 for v in s if {k} - v in s and v < {k} - v))\n",
           READ + f"n = len(a)\nprint(sum(1 for i in range(n) for j in range(n) if i != j and a[i] + a[j] == {k}) // 1)\n",
           READ + f"n = len(a)\nprint(sum(1 for i in range(n - 1) if a[i] + a[i + 1] == {k}))\n"]

    def gen(r, edge):
        if edge == 0:
            return [] if r.random() < 0.3 else [k // 2] * 2 + [k - k // 2] + [k // 2]
        a = [r.randint(-5, k + 5) for _ in range(r.randint(3, 10))]
        return [*a, k - a[0], k - a[0]]

    def solve(a):
        n = len(a)
        return str(sum(1 for i in range(n) for j in range(i + 1, n) if a[i] + a[j] == k))

    def ex(r):
        x = r.randint(k + 20, k + 40)
        return [x, r.randint(1, k - 1) if k % 2 else 1, x + 1]
    return st, ok, bad, gen, solve, ex


def _t_records(rng):
    st = ("Read integers from stdin (possibly none). Print how many values are strictly greater than "
          "every value before them (the first value counts).")
    ok = [READ + "c = 0\nm = None\nfor v in a:\n    if m is None or v > m:\n        c += 1\n        m = v\nprint(c)\n",
          READ + "print(sum(1 for i, v in enumerate(a) if all(v > u for u in a[:i])))\n"]
    bad = [READ + "c = 0\nm = None\nfor v in a:\n    if m is None or v >= m:\n        c += 1\n        m = v\nprint(c)\n",
           READ + "c = 0\nm = 0\nfor v in a:\n    if v > m:\n        c += 1\n        m = v\nprint(c)\n",
           READ + "print(sum(1 for i, v in enumerate(a) if i > 0 and all(v > u for u in a[:i])))\n",
           READ + "c = 0\nm = a[0] if a else 0\nfor v in a:\n    if v > m:\n        c += 1\n        m = v\nprint(c + 1)\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-20, 20) for _ in range(r.randint(2, 10))]
        return [*a, max(a), max(a) + 1] if edge == 1 else [-r.randint(21, 30), *a]

    def solve(a):
        c = 0
        m = None
        for v in a:
            if m is None or v > m:
                c += 1
                m = v
        return str(c)

    def ex(r):
        return sorted(r.sample(range(1, 60), 3))
    return st, ok, bad, gen, solve, ex


def _t_mode(rng):
    st = ("Read integers from stdin. Print the most frequent value; on a tie, the smallest of the "
          "tied values; NONE if there is no input.")
    ok = [READ + "from collections import Counter\nc = Counter(a)\n"
          "print(min(c, key=lambda v: (-c[v], v)) if a else 'NONE')\n",
          READ + "best = None\nfor v in sorted(set(a)):\n    if best is None or a.count(v) > a.count(best):\n"
          "        best = v\nprint('NONE' if best is None else best)\n"]
    bad = [READ + "from collections import Counter\nc = Counter(a)\nprint(c.most_common(1)[0][0] if a else 'NONE')\n",
           READ + "from collections import Counter\nc = Counter(a)\n"
           "print(max(c, key=lambda v: (c[v], v)) if a else 'NONE')\n",
           READ + "best = None\nfor v in sorted(set(a)):\n    if best is None or a.count(v) >= a.count(best):\n"
           "        best = v\nprint('NONE' if best is None else best)\n",
           READ + "from collections import Counter\nc = Counter(a)\nprint(min(c, key=lambda v: (-c[v], v)))\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        x, y = sorted(r.sample(range(-20, 20), 2))
        tie = [y, x, y, x, *r.sample(range(30, 60), 2)]
        return tie if edge == 1 else [y, y, x, x, r.randint(21, 29)]

    def solve(a):
        if not a:
            return "NONE"
        c: dict[int, int] = {}
        for v in a:
            c[v] = c.get(v, 0) + 1
        return str(min(c, key=lambda v: (-c[v], v)))

    def ex(r):
        x = r.randint(-9, 9)
        return [x, x, x, *r.sample(range(10, 40), 2)]
    return st, ok, bad, gen, solve, ex


def _t_alt_sum(rng):
    st = ("Read integers from stdin (possibly none). Print a[0] - a[1] + a[2] - a[3] + ... "
          "(0 for no input).")
    ok = [READ + "print(sum(v if i % 2 == 0 else -v for i, v in enumerate(a)))\n",
          READ + "print(sum(a[0::2]) - sum(a[1::2]))\n"]
    bad = [READ + "print(sum(v if i % 2 else -v for i, v in enumerate(a)))\n",
           READ + "print(sum(a[0::2]) - sum(a[1:-1:2]))\n",
           READ + "print(a[0] + sum(v if i % 2 == 0 else -v for i, v in enumerate(a[1:])) if a else 0)\n",
           READ + "s = 0\nsign = 1\nfor v in a[:len(a) - len(a) % 2]:\n    s += sign * v\n    sign = -sign\nprint(s)\n"]

    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-30, 30) for _ in range(r.randint(1, 6) * 2)]
        return a if edge == 2 else [*a, r.randint(1, 30)]

    def solve(a):
        return str(sum(v if i % 2 == 0 else -v for i, v in enumerate(a)))

    def ex(r):
        return [r.randint(-9, 9) for _ in range(4)]
    return st, ok, bad, gen, solve, ex


TEMPLATES = [_t_count_div, _t_sum_above, _t_second_max, _t_longest_rise, _t_pairs_sum, _t_records,
             _t_mode, _t_alt_sum]


def make_problem(seed: int, pid: str, n_hidden: int = 8, kinds: int | None = None) -> dict[str, Any]:
    """One problem: statement, visible examples, hidden tests and a candidate pool.

    Args:
        seed: the problem's seed.
        pid: the problem's id.
        n_hidden: number of hidden tests (edge cases included).
        kinds: draw only from the first ``kinds`` templates (None: all).

    Returns:
        A dict with id, statement, examples, hidden, correct, wrong (sources), kind (template).
    """
    rng = random.Random(seed)
    template = rng.choice(TEMPLATES[:kinds] if kinds else TEMPLATES)
    st, ok, bad, gen, solve, ex = template(rng)

    def case(a):
        inp = " ".join(map(str, a)) + "\n"
        return {"input": inp, "output": solve(a)}

    examples = [case(ex(rng)) for _ in range(2)]
    hidden = [case(gen(rng, i % 3)) for i in range(n_hidden)]
    return {"id": pid, "statement": st, "examples": examples, "hidden": hidden, "correct": ok, "wrong": bad,
            "kind": template.__name__[3:]}


DEV_KINDS = 5  # dev problems use only the first templates: hidden sets also hold unseen kinds


def make_set(seed: int, n: int, prefix: str, kinds: int | None = None) -> list[dict[str, Any]]:
    """``n`` problems drawn from ``seed``, ids ``prefix0``, ``prefix1``, ...

    Args:
        seed: the set's seed.
        n: number of problems.
        prefix: id prefix.
        kinds: draw only from the first ``kinds`` templates (None: all).
    """
    r = random.Random(seed)
    return [make_problem(r.randrange(2**31), f"{prefix}{i}", kinds=kinds) for i in range(n)]


def sample(problem: dict[str, Any], rng: random.Random) -> str:
    """One sampled candidate program for ``problem``: correct with probability CORRECT_WEIGHT."""
    pool: list[str] = problem["correct"] if rng.random() < CORRECT_WEIGHT else problem["wrong"]
    return rng.choice(pool)


def public(problem: dict[str, Any]) -> dict[str, Any]:
    """What a solver may see: id, statement and visible examples."""
    return {k: problem[k] for k in ("id", "statement", "examples")}


# Runs candidate programs in one process (no process start per test): each program is compiled once
# and exec'd per input with stdin/stdout swapped and an interval timer that interrupts endless loops.
# Used by the scorer as `python -c RUNNER` with a JSON job on stdin; only ever runs pool programs.
RUNNER = r'''
import io, json, signal, sys
class _Timeout(BaseException):
    pass
def _alarm(signum, frame):
    raise _Timeout()
signal.signal(signal.SIGALRM, _alarm)
job = json.load(sys.stdin)
real_out, results = sys.stdout, []
for program, inputs in job["runs"]:
    try:
        code = compile(program, "<candidate>", "exec")
    except SyntaxError:
        results.append([None] * len(inputs))
        continue
    outs = []
    for inp in inputs:
        sys.stdin, buf = io.StringIO(inp), io.StringIO()
        sys.stdout = buf
        try:
            signal.setitimer(signal.ITIMER_REAL, job["timeout"])
            exec(code, {"__name__": "__main__"})
            signal.setitimer(signal.ITIMER_REAL, 0)
            outs.append(buf.getvalue().strip())
        except _Timeout:
            sys.stdout = real_out
            outs += [None] * (len(inputs) - len(outs))  # an endless loop: don't wait for it again
            break
        except BaseException:
            signal.setitimer(signal.ITIMER_REAL, 0)
            outs.append(None)
        finally:
            sys.stdout = real_out
    results.append(outs)
sys.stdout = real_out
print(json.dumps(results))
'''


# --- the code model as a language model (full scale: an Inspect model bound to role "codemodel") ---

MAX_HINT_CHARS = 4000


def llm_prompt(problem: dict[str, Any], hint: str | None = None) -> str:
    """The prompt the language-model code model gets for ``problem`` (statement and examples only).

    ``hint`` is the scaffold's own text (feedback on earlier samples, advice), appended verbatim.
    """
    lines = ["Write a Python 3 program that solves this problem. It reads standard input and writes "
             "standard output.", "", problem["statement"], ""]
    for i, e in enumerate(problem["examples"], 1):
        lines += [f"Example {i} input:", e["input"].rstrip("\n"), f"Example {i} output:", e["output"], ""]
    if hint:
        lines += ["Note:", str(hint)[:MAX_HINT_CHARS], ""]
    lines.append("Reply with the complete program in a single ```python code block.")
    return "\n".join(lines)


def extract_program(text: str) -> str:
    """The program in a model's reply: its first fenced code block, else the whole reply."""
    start = text.find("```")
    if start < 0:
        return text.strip() + "\n"
    body = text[start + 3:]
    newline = body.find("\n")
    if newline >= 0 and body[:newline].strip().isidentifier():  # a language tag: ```python
        body = body[newline + 1:]
    end = body.find("```")
    return (body if end < 0 else body[:end]).strip() + "\n"


# Runs one answer on its tests, each in a fresh interpreter with real stdin/stdout (language-model
# programs may read sys.stdin.buffer, call sys.exit or print from threads: only a process per test
# judges them faithfully). `python -c DRIVER` with {"program", "inputs", "timeout"} on stdin.
DRIVER = r'''
import json, os, subprocess, sys, tempfile
job = json.load(sys.stdin)
fd, path = tempfile.mkstemp(suffix=".py")
with os.fdopen(fd, "w") as f:
    f.write(job["program"])
outs = []
for inp in job["inputs"]:
    try:
        p = subprocess.run([sys.executable, path], input=inp, capture_output=True, text=True,
                           timeout=job["timeout"])
        outs.append(p.stdout.strip() if p.returncode == 0 else None)
    except subprocess.TimeoutExpired:
        outs.append(None)
print(json.dumps(outs))
'''
