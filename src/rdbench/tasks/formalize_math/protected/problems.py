"""The problems of formalize_math: informal statements and proofs in English, each with the formal
statement it means (an Agda type over ``Prelude.agda``).

Stdlib only (it runs in the scorer's sandbox and in prepare.py on the host). Every problem comes from
a statement *kind* (an identity of addition, the length of joined lists, the parity of a sum, a
concrete fact...) rendered through one of several English paraphrase templates, with fresh variable
names and numbers. The dev split (shown to the agent, with the formal statements) uses only some of
the kinds and only the first templates of each; the hidden split (drawn fresh by every scoring call)
uses every kind and every template.

Conventions every template keeps, so that an English statement determines one formal statement up to
definitional equality (they are in the instructions): variables are universally quantified as
explicit arguments in the order of their first mention, naturals as ``ℕ`` and lists as ``List ℕ``;
hypotheses come after the variables in the order stated; an equation's left side is the side stated
first; "adding x to y" is ``y + x``, "appending ys to xs" is ``xs ++ ys``, "the successor of n" is
``suc n``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

NAT_VARS = ["n", "m", "k", "a", "b", "c", "p", "q", "x", "y", "i", "j"]
LIST_VARS = ["xs", "ys", "zs", "ts", "vs", "ws", "l", "s"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen", "twenty"]
DEV_TEMPLATE_SHARE = 0.6  # the dev split shows the first 60% of each shown kind's templates


@dataclass(frozen=True)
class Problem:
    """One problem: what the formaliser sees (``statement``, ``proof``) and the hidden ``formal``."""

    id: str
    kind: str
    template: int
    statement: str
    proof: str
    formal: str

    def public(self) -> dict[str, str]:
        """What a formaliser is given."""
        return {"id": self.id, "statement": self.statement, "proof": self.proof}


Render = Callable[[random.Random], dict[str, str]]


@dataclass(frozen=True)
class Kind:
    """A statement kind: its slot values, English templates, informal proof and formal statement."""

    name: str
    dev: bool
    slots: Render
    templates: list[str]
    proof: str
    formal: str


def _num(rng: random.Random, value: int) -> str:
    """A number in digits or, sometimes, in words."""
    return WORDS[value] if value < len(WORDS) and rng.random() < 0.35 else str(value)


def _nats(count: int) -> Render:
    def slots(rng: random.Random) -> dict[str, str]:
        names = rng.sample(NAT_VARS, count)
        return dict(zip(["n", "m", "k"][:count] if count < 3 else ["a", "b", "c"], names, strict=True))
    return slots


def _lists(count: int) -> Render:
    def slots(rng: random.Random) -> dict[str, str]:
        return dict(zip(["xs", "ys"][:count], rng.sample(LIST_VARS, count), strict=True))
    return slots


def _consts(rng: random.Random) -> dict[str, str]:
    k1, k2 = rng.randint(1, 9), rng.randint(1, 9)
    return {"n": rng.choice(NAT_VARS), "k1": str(k1), "k2": str(k2), "K": str(k1 + k2),
            "k1w": _num(rng, k1), "k2w": _num(rng, k2), "Kw": _num(rng, k1 + k2)}


def _arith(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.5:
        a, b = rng.randint(0, 60), rng.randint(0, 60)
        op, word, noun, c = "+", "plus", "sum", a + b
    else:
        a, b = rng.randint(0, 15), rng.randint(0, 15)
        op, word, noun, c = "*", "times", "product", a * b
    return {"a": str(a), "b": str(b), "c": str(c), "aw": _num(rng, a), "bw": _num(rng, b), "cw": _num(rng, c),
            "op": op, "opw": word, "noun": noun, "F": f"{a} {op} {b} ≡ {c}"}


def _agda_list(items: list[int]) -> str:
    return " ∷ ".join([*map(str, items), "[]"])


def _english_list(items: list[int]) -> str:
    return "[" + ", ".join(map(str, items)) + "]"


def _concrete_list(rng: random.Random) -> dict[str, str]:
    items = [rng.randint(0, 20) for _ in range(rng.randint(1, 5))]
    what = rng.choice(["length", "reverse", "append"])
    out = {"L": _english_list(items), "what": what}
    if what == "length":
        n = len(items)
        out.update(R=_num(rng, n), F=f"length ({_agda_list(items)}) ≡ {n}")
    elif what == "reverse":
        out.update(R=_english_list(items[::-1]), F=f"reverse ({_agda_list(items)}) ≡ {_agda_list(items[::-1])}")
    else:
        more = [rng.randint(0, 20) for _ in range(rng.randint(1, 3))]
        out.update(L2=_english_list(more), R=_english_list(items + more),
                   F=f"({_agda_list(items)}) ++ ({_agda_list(more)}) ≡ {_agda_list(items + more)}")
    return out


def _even(rng: random.Random) -> dict[str, str]:
    k = 2 * rng.randint(0, 10)
    return {"k": str(k), "kw": _num(rng, k), "F": f"Even {k}"}


# The English templates of each kind: the formal statement must follow from every one of them under
# the conventions of the module docstring. Templates of the concrete kinds pick their sentence by the
# operation ({what}, {op}); they are rendered with str.format.
KINDS: list[Kind] = [
    Kind("add_zero", True, _nats(1), [
        "For every natural number {n}, {n} + 0 = {n}.",
        "Prove that {n} + 0 = {n} for all natural numbers {n}.",
        "Let {n} be a natural number. Then the sum of {n} and zero equals {n}.",
        "Adding zero to a natural number {n} gives back {n}.",
        "Zero is a right identity of addition: {n} plus zero is {n}, for any natural number {n}.",
        "Show that for all {n} in ℕ, {n} + zero = {n}.",
    ], "By induction on {n}. For zero both sides are zero. For suc {n}, (suc {n}) + 0 = suc ({n} + 0), "
       "which is suc {n} by the induction hypothesis.",
       "({n} : ℕ) → {n} + 0 ≡ {n}"),
    Kind("add_suc", False, _nats(2), [
        "For all natural numbers {n} and {m}, {n} + suc {m} = suc ({n} + {m}).",
        "For all natural numbers {n} and {m}, adding the successor of {m} to {n} gives the successor of the "
        "sum of {n} and {m}.",
        "Let {n} and {m} be natural numbers. Then {n} plus the successor of {m} equals the successor of "
        "{n} plus {m}, taken as a whole.",
        "Show that {n} + (1 + {m}) = 1 + ({n} + {m}) for all {n}, {m} in ℕ.",
        "For any natural numbers {n} and {m}, the sum of {n} and suc {m} is suc of the sum of {n} and {m}.",
    ], "By induction on {n}: for zero both sides are suc {m}; for suc {n} apply suc to the induction "
       "hypothesis.",
       "({n} {m} : ℕ) → {n} + suc {m} ≡ suc ({n} + {m})"),
    Kind("add_comm", True, _nats(2), [
        "For all natural numbers {n} and {m}, {n} + {m} = {m} + {n}.",
        "Addition of natural numbers is commutative: for any {n} and {m}, {n} + {m} equals {m} + {n}.",
        "Prove that the sum of {n} and {m} equals the sum of {m} and {n}, for all natural numbers {n} and "
        "{m}.",
        "Let {n} and {m} be natural numbers. Show that {n} plus {m} is {m} plus {n}.",
        "Swapping the summands does not change a sum: {n} + {m} = {m} + {n} for all {n}, {m} in ℕ.",
        "Whatever the natural numbers {n} and {m} are, adding {m} to {n} gives the same as adding {n} to {m}.",
    ], "By induction on {n}, using that {m} + 0 = {m} and that {m} + suc k = suc ({m} + k) for every k.",
       "({n} {m} : ℕ) → {n} + {m} ≡ {m} + {n}"),
    Kind("add_assoc", False, _nats(3), [
        "For all natural numbers {a}, {b} and {c}, ({a} + {b}) + {c} = {a} + ({b} + {c}).",
        "Prove that the sum of {a} + {b} and {c} equals the sum of {a} and {b} + {c}, for any natural "
        "numbers {a}, {b} and {c}.",
        "Let {a}, {b}, {c} be natural numbers. Then ({a} plus {b}) plus {c} equals {a} plus ({b} plus {c}).",
        "Regrouping a sum of three natural numbers {a}, {b}, {c} does not change it: "
        "({a} + {b}) + {c} = {a} + ({b} + {c}).",
        "Addition is associative: for all {a}, {b}, {c} in ℕ, adding {c} to {a} + {b} gives {a} + ({b} + {c}).",
    ], "By induction on {a}: for zero both sides are {b} + {c}; for suc {a} apply suc to the induction "
       "hypothesis.",
       "({a} {b} {c} : ℕ) → ({a} + {b}) + {c} ≡ {a} + ({b} + {c})"),
    Kind("add_consts", True, _consts, [
        "For every natural number {n}, ({n} + {k1}) + {k2} = {n} + {K}.",
        "Prove that ({n} + {k1}) + {k2} = {n} + {K} for all natural numbers {n}.",
        "Adding {k1w} to a natural number {n} and then adding {k2w} is the same as adding {Kw} to {n}.",
        "Let {n} be a natural number. Show that {n} plus {k1w}, plus {k2w}, equals {n} plus {Kw}.",
        "For any {n} in ℕ, first adding {k1} and then {k2} to {n} gives {n} + {K}.",
    ], "By associativity of addition, ({n} + {k1}) + {k2} = {n} + ({k1} + {k2}), and {k1} + {k2} = {K}.",
       "({n} : ℕ) → ({n} + {k1}) + {k2} ≡ {n} + {K}"),
    Kind("mul_one", True, _nats(1), [
        "For every natural number {n}, {n} * 1 = {n}.",
        "Show that the product of {n} and 1 is {n}, for any natural number {n}.",
        "Multiplying a natural number {n} by one gives {n}: {n} times one is {n}.",
        "One is a right identity of multiplication: {n} times one equals {n} for all natural numbers {n}.",
        "Let {n} be a natural number; then {n} · 1 = {n}.",
    ], "By induction on {n}: zero times one is zero, and (suc {n}) * 1 = 1 + {n} * 1 = suc {n} by the "
       "induction hypothesis.",
       "({n} : ℕ) → {n} * 1 ≡ {n}"),
    Kind("mul_distrib", False, _nats(3), [
        "For all natural numbers {a}, {b} and {c}, ({a} + {b}) * {c} = {a} * {c} + {b} * {c}.",
        "Multiplication distributes over addition from the right: the product of {a} + {b} and {c} equals "
        "{a} * {c} plus {b} * {c}, for all natural numbers {a}, {b}, {c}.",
        "Let {a}, {b}, {c} be natural numbers. Then ({a} plus {b}) times {c} is {a} times {c} plus {b} "
        "times {c}.",
        "Show that ({a} + {b}) · {c} = {a} · {c} + {b} · {c} for any {a}, {b}, {c} in ℕ.",
    ], "By induction on {a}, using associativity of addition in the step case.",
       "({a} {b} {c} : ℕ) → ({a} + {b}) * {c} ≡ {a} * {c} + {b} * {c}"),
    Kind("length_append", True, _lists(2), [
        "For all lists {xs} and {ys} of natural numbers, length ({xs} ++ {ys}) = length {xs} + length {ys}.",
        "Let {xs} and {ys} be lists of natural numbers. Appending {ys} to {xs} gives a list whose length is "
        "the length of {xs} plus the length of {ys}.",
        "The length of the concatenation of two lists {xs} and {ys} of natural numbers is the length of "
        "{xs} plus the length of {ys}.",
        "Show that joining lists {xs} and {ys} of naturals, in that order, yields a list of length "
        "|{xs}| + |{ys}|.",
        "For any lists {xs}, {ys} of natural numbers, the number of elements of {xs} ++ {ys} is the number "
        "of elements of {xs} plus that of {ys}.",
    ], "By induction on {xs}: the empty list adds nothing, and a cons adds one on both sides.",
       "({xs} {ys} : List ℕ) → length ({xs} ++ {ys}) ≡ length {xs} + length {ys}"),
    Kind("reverse_reverse", True, _lists(1), [
        "For every list {xs} of natural numbers, reverse (reverse {xs}) = {xs}.",
        "Reversing a list {xs} of natural numbers twice gives back {xs}.",
        "Let {xs} be a list of natural numbers. Show that reversing the reverse of {xs} yields {xs}.",
        "Reversal is an involution on lists of natural numbers: the reverse of the reverse of {xs} is "
        "{xs}, for any such list {xs}.",
        "For any list {xs} in List ℕ, reverse of reverse of {xs} equals {xs}.",
    ], "By induction on {xs}, using the lemma reverse (ys ++ [x]) = x ∷ reverse ys.",
       "({xs} : List ℕ) → reverse (reverse {xs}) ≡ {xs}"),
    Kind("length_reverse", False, _lists(1), [
        "For every list {xs} of natural numbers, length (reverse {xs}) = length {xs}.",
        "Reversing a list {xs} of natural numbers does not change its length.",
        "The reverse of a list {xs} of natural numbers has the same length as {xs}.",
        "Let {xs} be a list of natural numbers. Then the length of the reverse of {xs} equals the length "
        "of {xs}.",
    ], "By induction on {xs}, using that the length of a concatenation is the sum of the lengths and "
       "that addition is commutative.",
       "({xs} : List ℕ) → length (reverse {xs}) ≡ length {xs}"),
    Kind("even_sum", True, _nats(2), [
        "For all natural numbers {n} and {m}, if {n} is even and {m} is even then {n} + {m} is even.",
        "The sum of two even natural numbers {n} and {m} is even.",
        "Let {n} and {m} be even natural numbers. Show that {n} + {m} is even.",
        "If natural numbers {n} and {m} are both even, so is their sum {n} + {m}.",
        "Whenever {n} and {m} in ℕ are even, {n} plus {m} is even as well.",
    ], "By induction on the evenness of {n}: 0 + {m} = {m} is even, and (suc (suc k)) + {m} = "
       "suc (suc (k + {m})).",
       "({n} {m} : ℕ) → Even {n} → Even {m} → Even ({n} + {m})"),
    Kind("odd_sum", False, _nats(2), [
        "For all natural numbers {n} and {m}, if {n} is odd and {m} is odd then {n} + {m} is even.",
        "The sum of two odd natural numbers {n} and {m} is even.",
        "Let {n} and {m} be odd natural numbers. Show that {n} + {m} is even.",
        "If natural numbers {n} and {m} are both odd, their sum {n} + {m} is even.",
    ], "By induction on the oddness of {n}: for 1, 1 + {m} = suc {m}, the successor of an odd number, is "
       "even; the step adds two.",
       "({n} {m} : ℕ) → Odd {n} → Odd {m} → Even ({n} + {m})"),
    Kind("concrete_arith", True, _arith, [
        "{a} {op} {b} = {c}.",
        "Show that {a} {op} {b} = {c}.",
        "The {noun} of {aw} and {bw} is {cw}.",
        "{aw} {opw} {bw} equals {cw}.",
        "Check that {aw} {opw} {bw} is {cw}.",
    ], "By computation.", "{F}"),
    Kind("concrete_list", False, _concrete_list, [
        "{what}: {L} {L2} {R}",
    ], "By computation.", "{F}"),
    Kind("concrete_even", False, _even, [
        "{k} is even.",
        "The number {kw} is even.",
        "Show that {k} is an even natural number.",
        "{kw} is an even number.",
    ], "Apply the step rule of evenness (n even implies n + 2 even) {k} / 2 times to zero.", "{F}"),
]

# concrete_list's sentences depend on the operation; templates are chosen per operation
LIST_SENTENCES = {
    "length": ["The list {L} has length {R}.", "The length of the list {L} is {R}.",
               "There are {R} elements in the list {L}."],
    "reverse": ["Reversing the list {L} gives {R}.", "The reverse of {L} is {R}.",
                "The list {L} read backwards is {R}."],
    "append": ["Appending {L2} to {L} gives {R}.", "{L} ++ {L2} = {R}.",
               "The concatenation of {L} and {L2} is {R}."],
}
BY_NAME = {kind.name: kind for kind in KINDS}


def _render(kind: Kind, rng: random.Random, dev: bool) -> tuple[int, str, str, str]:
    slots = kind.slots(rng)
    if kind.name == "concrete_list":
        sentences = LIST_SENTENCES[slots["what"]]
        shown = sentences[:max(1, int(len(sentences) * DEV_TEMPLATE_SHARE))] if dev else sentences
        index = rng.randrange(len(shown))
        template = shown[index]
    else:
        count = max(1, round(len(kind.templates) * DEV_TEMPLATE_SHARE)) if dev else len(kind.templates)
        index = rng.randrange(count)
        template = kind.templates[index]
    return index, template.format(**slots), kind.proof.format(**slots), kind.formal.format(**slots)


def dev_kinds() -> list[str]:
    """The kinds the dev split shows."""
    return [k.name for k in KINDS if k.dev]


def generate(seed: int, n: int, *, dev: bool, prefix: str = "p") -> list[Problem]:
    """``n`` problems from ``seed``: the dev split (shown kinds and templates) or the hidden split (all).

    Kinds are dealt round-robin in a seeded order, so every kind appears ``n / kinds`` times (±1).
    """
    rng = random.Random(f"formalize_math:{'dev' if dev else 'hidden'}:{seed}")
    kinds = [k for k in KINDS if k.dev or not dev]
    order: list[Kind] = []
    while len(order) < n:
        batch = list(kinds)
        rng.shuffle(batch)
        order += batch
    problems = []
    for i, kind in enumerate(order[:n]):
        template, statement, proof, formal = _render(kind, rng, dev)
        problems.append(Problem(id=f"{prefix}{i:03d}", kind=kind.name, template=template, statement=statement,
                                proof=proof, formal=formal))
    return problems
