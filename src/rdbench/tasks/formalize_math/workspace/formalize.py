"""Formalise English problems as Agda statements with proofs (the starting solution).

    python formalize.py problems.json answers.json

problems.json: a list of {"id", "statement", "proof"} (English). answers.json: an object mapping each
id to {"statement": <an Agda type over Prelude.agda, one line>, "proof": <Agda declarations that
define `proof : Statement`>}. Problems left out count as unsolved.

This starting version knows three phrasings by heart (keyword templates): "For every natural number
n, n + 0 = n.", "For all natural numbers n and m, n + m = m + n." and concrete sums such as
"3 + 4 = 7.". Everything else is left out.
"""

from __future__ import annotations

import json
import re
import sys

ADD_ZERO = re.compile(r"^For every natural number (\w+), \1 \+ 0 = \1\.$")
ADD_COMM = re.compile(r"^For all natural numbers (\w+) and (\w+), \1 \+ \2 = \2 \+ \1\.$")
SUM = re.compile(r"^(\d+) \+ (\d+) = (\d+)\.$")

ADD_ZERO_PROOF = """\
+-zero : (n : ℕ) → n + 0 ≡ n
+-zero zero = refl
+-zero (suc n) = cong suc (+-zero n)
"""
ADD_COMM_PROOF = ADD_ZERO_PROOF + """\
+-suc : (m n : ℕ) → m + suc n ≡ suc (m + n)
+-suc zero n = refl
+-suc (suc m) n = cong suc (+-suc m n)

+-comm : (m n : ℕ) → m + n ≡ n + m
+-comm zero n = sym (+-zero n)
+-comm (suc m) n = trans (cong suc (+-comm m n)) (sym (+-suc n m))
"""


def formalize(statement: str) -> dict[str, str] | None:
    """An answer for one English statement, or None when no template matches."""
    if m := ADD_ZERO.match(statement):
        n = m.group(1)
        return {"statement": f"({n} : ℕ) → {n} + 0 ≡ {n}", "proof": ADD_ZERO_PROOF + "proof : Statement\nproof = +-zero\n"}
    if m := ADD_COMM.match(statement):
        a, b = m.groups()
        return {"statement": f"({a} {b} : ℕ) → {a} + {b} ≡ {b} + {a}",
                "proof": ADD_COMM_PROOF + "proof : Statement\nproof = +-comm\n"}
    if m := SUM.match(statement):
        a, b, c = m.groups()
        return {"statement": f"{a} + {b} ≡ {c}", "proof": "proof : Statement\nproof = refl\n"}
    return None


def main() -> None:
    problems = json.load(open(sys.argv[1], encoding="utf-8"))
    answers = {}
    for p in problems:
        answer = formalize(p["statement"])
        if answer is not None:
            answers[p["id"]] = answer
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(answers, out, ensure_ascii=False)


if __name__ == "__main__":
    main()
