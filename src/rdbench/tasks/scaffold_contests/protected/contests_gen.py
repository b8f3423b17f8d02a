"""Contest problems from templates, each with hidden tests and a pool of candidate programs.

Stdlib only: imported by score.py (scoring sandbox), codemodel_service.py (host) and prepare.py.
Every problem is drawn from a seed, so scoring uses fresh problems per call (nothing to memorise).
Candidates are Python stdin->stdout programs: a few correct, many subtly wrong (off-by-one, a missed
edge case that the visible examples do not exercise, an endless loop).
"""

import random

CORRECT_WEIGHT = 0.3  # chance that one sample is a correct program


def _read_ints():
    return "a = [int(t) for t in __import__('sys').stdin.read().split()]\n"


def _t_count_div(rng):
    k = rng.randint(2, 9)
    st = f"Read integers from stdin (whitespace separated, possibly none). Print how many are divisible by {k}."
    ok = [_read_ints() + f"print(sum(1 for v in a if v % {k} == 0))\n",
          _read_ints() + f"c = 0\nfor v in a:\n    if v % {k} == 0:\n        c += 1\nprint(c)\n"]
    bad = [_read_ints() + f"print(sum(1 for v in a[1:] if v % {k} == 0))\n",
           _read_ints() + f"print(sum(1 for v in a if v % {k} == 0 and v != 0))\n",
           _read_ints() + f"print(sum(1 for v in a if v % {k + 1} == 0))\n",
           _read_ints() + f"print(sum(1 for v in a if abs(v) % {k} == 0 and v > 0))\n"]
    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-50, 50) for _ in range(r.randint(1, 12))]
        return a + [0, -k] if edge == 1 else [k * r.randint(1, 5)] + a
    def solve(a):
        return str(sum(1 for v in a if v % k == 0))
    def ex(r):
        return [r.randint(1, 50) * (1 if i % 2 else 1) for i in range(r.randint(3, 7))]
    return st, ok, bad, gen, solve, ex


def _t_sum_above(rng):
    t = rng.randint(1, 20)
    st = f"Read integers from stdin (possibly none). Print the sum of those strictly greater than {t}."
    ok = [_read_ints() + f"print(sum(v for v in a if v > {t}))\n",
          _read_ints() + f"s = 0\nfor v in a:\n    s += v if v > {t} else 0\nprint(s)\n"]
    bad = [_read_ints() + f"print(sum(v for v in a if v >= {t}))\n",
           _read_ints() + f"print(sum(v for v in a[:-1] if v > {t}))\n",
           _read_ints() + f"print(sum(v for v in a if v > {t + 1}))\n",
           _read_ints() + f"i = 0\ns = 0\nwhile i < len(a) or not a:\n    s += a[i] if a[i] > {t} else 0\n    i += 1\nprint(s)\n"]
    def gen(r, edge):
        if edge == 0:
            return []
        a = [r.randint(-30, 40) for _ in range(r.randint(1, 12))]
        return a + [t, t + 1] if edge == 1 else a
    def solve(a):
        return str(sum(v for v in a if v > t))
    def ex(r):
        return [r.choice([r.randint(-30, t - 1), r.randint(t + 2, 60)]) for _ in range(r.randint(3, 7))]
    return st, ok, bad, gen, solve, ex


def _t_second_max(rng):
    st = ("Read integers from stdin. Print the second largest DISTINCT value, or NONE if there are "
          "fewer than two distinct values.")
    body = "d = sorted(set(a))\n"
    ok = [_read_ints() + body + "print(d[-2] if len(d) >= 2 else 'NONE')\n",
          _read_ints() + "m = max(a) if a else None\nr = [v for v in a if v != m]\nprint(max(r) if r else 'NONE')\n"]
    bad = [_read_ints() + "d = sorted(a)\nprint(d[-2] if len(d) >= 2 else 'NONE')\n",
           _read_ints() + body + "print(d[-2] if len(d) > 2 else 'NONE')\n",
           _read_ints() + body + "print(d[1] if len(d) >= 2 else 'NONE')\n",
           _read_ints() + "d = sorted(set(a))\nwhile len(d) != 2:\n    d = d[1:] if len(d) > 2 else d\nprint(d[0])\n"]
    def gen(r, edge):
        if edge == 0:
            return [r.randint(-5, 5)] * r.randint(1, 3)
        if edge == 2:
            x, y = r.sample(range(-40, 40), 2)
            return [x, y, x]
        a = [r.randint(-40, 40) for _ in range(r.randint(2, 10))]
        return a + [max(a)]
    def solve(a):
        d = sorted(set(a))
        return str(d[-2]) if len(d) >= 2 else "NONE"
    def ex(r):
        return r.sample(range(-40, 40), 4)
    return st, ok, bad, gen, solve, ex


TEMPLATES = [_t_count_div, _t_sum_above, _t_second_max]


def make_problem(seed, pid, n_hidden=8):
    """One problem: statement, visible examples, hidden tests and a candidate pool.

    Args:
        seed: the problem's seed.
        pid: the problem's id.
        n_hidden: number of hidden tests (edge cases included).

    Returns:
        A dict with id, statement, examples, hidden, correct, wrong (sources).
    """
    rng = random.Random(seed)
    st, ok, bad, gen, solve, ex = rng.choice(TEMPLATES)(rng)

    def case(a):
        inp = " ".join(map(str, a)) + "\n"
        return {"input": inp, "output": solve(a)}

    examples = [case(ex(rng)) for _ in range(2)]
    hidden = [case(gen(rng, i % 3)) for i in range(n_hidden)]
    return {"id": pid, "statement": st, "examples": examples, "hidden": hidden, "correct": ok, "wrong": bad}


def make_set(seed, n, prefix):
    """``n`` problems drawn from ``seed``, ids ``prefix0``, ``prefix1``, ..."""
    r = random.Random(seed)
    return [make_problem(r.randrange(2**31), f"{prefix}{i}") for i in range(n)]


def sample(problem, rng):
    """One sampled candidate program for ``problem``: correct with probability CORRECT_WEIGHT."""
    if rng.random() < CORRECT_WEIGHT:
        return rng.choice(problem["correct"])
    return rng.choice(problem["wrong"])


def public(problem):
    """What a solver may see: id, statement and visible examples."""
    return {k: problem[k] for k in ("id", "statement", "examples")}
