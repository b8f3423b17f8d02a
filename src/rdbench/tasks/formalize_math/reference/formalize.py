"""Reference formaliser: a paraphrase-robust parser and a proof generator (no templates by heart).

    python formalize.py problems.json answers.json

The parser reads what a statement is about from its keywords (lists, reversal, length, parity,
successor, products, how many variables and numbers it has), takes the variables in the order of
their first mention and the numbers in the order they appear (digits or words), and builds the
formal statement by the task's conventions. The proof generator writes the lemmas a kind needs
(each by induction) and applies them; concrete facts are proved by computation.
"""

from __future__ import annotations

import json
import re
import sys

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
STOP = {"is", "of", "to", "by", "in", "be", "if", "so", "it", "as", "at", "on", "an", "or", "we", "no", "do",
        "up", "us", "me"}
TOKEN = re.compile(r"[A-Za-z]+|\d+|\S")

LEMMAS = {
    "+-zero": ([], """\
+-zero : (n : ℕ) → n + 0 ≡ n
+-zero zero = refl
+-zero (suc n) = cong suc (+-zero n)
"""),
    "+-suc": ([], """\
+-suc : (m n : ℕ) → m + suc n ≡ suc (m + n)
+-suc zero n = refl
+-suc (suc m) n = cong suc (+-suc m n)
"""),
    "+-comm": (["+-zero", "+-suc"], """\
+-comm : (m n : ℕ) → m + n ≡ n + m
+-comm zero n = sym (+-zero n)
+-comm (suc m) n = trans (cong suc (+-comm m n)) (sym (+-suc n m))
"""),
    "+-assoc": ([], """\
+-assoc : (a b c : ℕ) → (a + b) + c ≡ a + (b + c)
+-assoc zero b c = refl
+-assoc (suc a) b c = cong suc (+-assoc a b c)
"""),
    "*-one": ([], """\
*-one : (n : ℕ) → n * 1 ≡ n
*-one zero = refl
*-one (suc n) = cong suc (*-one n)
"""),
    "*-distribʳ": (["+-assoc"], """\
*-distribʳ : (a b c : ℕ) → (a + b) * c ≡ a * c + b * c
*-distribʳ zero b c = refl
*-distribʳ (suc a) b c = trans (cong (λ t → c + t) (*-distribʳ a b c)) (sym (+-assoc c (a * c) (b * c)))
"""),
    "length-++": ([], """\
length-++ : (xs ys : List ℕ) → length (xs ++ ys) ≡ length xs + length ys
length-++ [] ys = refl
length-++ (x ∷ xs) ys = cong suc (length-++ xs ys)
"""),
    "reverse-snoc": ([], """\
reverse-snoc : (x : ℕ) (xs : List ℕ) → reverse (xs ++ (x ∷ [])) ≡ x ∷ reverse xs
reverse-snoc x [] = refl
reverse-snoc x (y ∷ xs) = cong (λ t → t ++ (y ∷ [])) (reverse-snoc x xs)
"""),
    "reverse-reverse": (["reverse-snoc"], """\
reverse-reverse : (xs : List ℕ) → reverse (reverse xs) ≡ xs
reverse-reverse [] = refl
reverse-reverse (x ∷ xs) = trans (reverse-snoc x (reverse xs)) (cong (λ t → x ∷ t) (reverse-reverse xs))
"""),
    "length-reverse": (["length-++", "+-comm"], """\
length-reverse : (xs : List ℕ) → length (reverse xs) ≡ length xs
length-reverse [] = refl
length-reverse (x ∷ xs) = trans (length-++ (reverse xs) (x ∷ []))
  (trans (+-comm (length (reverse xs)) 1) (cong suc (length-reverse xs)))
"""),
    "even-+": ([], """\
even-+ : (m n : ℕ) → Even m → Even n → Even (m + n)
even-+ .zero n even-zero en = en
even-+ .(suc (suc m)) n (even-ss {m} em) en = even-ss (even-+ m n em en)
"""),
    "odd-suc": ([], """\
odd-suc : (n : ℕ) → Odd n → Even (suc n)
odd-suc .1 odd-one = even-ss even-zero
odd-suc .(suc (suc n)) (odd-ss {n} on) = even-ss (odd-suc n on)
"""),
    "odd-+": (["odd-suc"], """\
odd-+ : (m n : ℕ) → Odd m → Odd n → Even (m + n)
odd-+ .1 n odd-one on = odd-suc n on
odd-+ .(suc (suc m)) n (odd-ss {m} om) on = even-ss (odd-+ m n om on)
"""),
}


def lemmas(name: str, done: set[str] | None = None) -> str:
    """``name``'s lemma text after the lemmas it uses (each once)."""
    done = set() if done is None else done
    if name in done:
        return ""
    done.add(name)
    needs, text = LEMMAS[name]
    return "".join(lemmas(n, done) for n in needs) + text + "\n"


def number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    low = token.lower()
    return WORDS.index(low) if low in WORDS else None


def variables(tokens: list[str]) -> list[str]:
    """Variable names in order of first mention: short lowercase words that are not English."""
    found: list[str] = []
    for i, tok in enumerate(tokens):
        if not re.fullmatch(r"[a-z]{1,2}", tok) or tok in STOP:
            continue
        if tok == "a":  # the article, unless it stands alone as a name ("a + b", "a, b", "Let a be")
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if re.fullmatch(r"[A-Za-z]{3,}", nxt) and nxt not in ("and", "be"):
                continue
        if tok not in found:
            found.append(tok)
    return found


def agda_list(items: list[int]) -> str:
    return " ∷ ".join([*map(str, items), "[]"])


def brackets(statement: str) -> list[list[int]]:
    return [[int(x) for x in re.findall(r"\d+", inner)] for inner in re.findall(r"\[([^\]]*)\]", statement)]


def formalize(statement: str) -> tuple[str, str] | None:
    """(formal statement, proof text) for one English statement; None when it cannot be read."""
    tokens = TOKEN.findall(statement)
    low = statement.lower()
    words = {t.lower() for t in tokens}
    names = variables(tokens)
    numbers = [v for v in (number(t) for t in tokens) if v is not None]
    times = bool({"*", "·", "times", "product"} & words) or "multipl" in low
    if "[" in statement:
        lists = brackets(statement)
        if "revers" in low or "backwards" in low:
            return f"reverse ({agda_list(lists[0])}) ≡ {agda_list(lists[1])}", "proof = refl"
        if "length" in low or "elements" in low:
            outside = re.sub(r"\[[^\]]*\]", " ", statement)
            count = [v for v in (number(t) for t in TOKEN.findall(outside)) if v is not None]
            return f"length ({agda_list(lists[0])}) ≡ {count[0]}", "proof = refl"
        first, second = (lists[1], lists[0]) if "appending" in low else (lists[0], lists[1])  # "append B to A"
        return f"({agda_list(first)}) ++ ({agda_list(second)}) ≡ {agda_list(lists[2])}", "proof = refl"
    if not names:
        if "even" in words:
            k = numbers[0]
            return f"Even {k}", "proof = " + "even-ss (" * (k // 2) + "even-zero" + ")" * (k // 2)
        a, b, c = numbers[:3]
        return f"{a} {'*' if times else '+'} {b} ≡ {c}", "proof = refl"
    if "list" in words or "lists" in words:
        if "revers" in low and ("length" in low or "elements" in low):
            (xs,) = names[:1]
            return f"({xs} : List ℕ) → length (reverse {xs}) ≡ length {xs}", lemmas("length-reverse") + \
                "proof = length-reverse"
        if "revers" in low:
            (xs,) = names[:1]
            return f"({xs} : List ℕ) → reverse (reverse {xs}) ≡ {xs}", lemmas("reverse-reverse") + \
                "proof = reverse-reverse"
        xs, ys = names[:2]
        return f"({xs} {ys} : List ℕ) → length ({xs} ++ {ys}) ≡ length {xs} + length {ys}", \
            lemmas("length-++") + "proof = length-++"
    if "odd" in words:
        n, m = names[:2]
        return f"({n} {m} : ℕ) → Odd {n} → Odd {m} → Even ({n} + {m})", lemmas("odd-+") + "proof = odd-+"
    if "even" in words:
        n, m = names[:2]
        return f"({n} {m} : ℕ) → Even {n} → Even {m} → Even ({n} + {m})", lemmas("even-+") + "proof = even-+"
    if "successor" in words or "suc" in words or re.search(r"\(1 \+", statement):
        n, m = names[:2]
        return f"({n} {m} : ℕ) → {n} + suc {m} ≡ suc ({n} + {m})", lemmas("+-suc") + "proof = +-suc"
    if times and len(names) >= 3:
        a, b, c = names[:3]
        return f"({a} {b} {c} : ℕ) → ({a} + {b}) * {c} ≡ {a} * {c} + {b} * {c}", lemmas("*-distribʳ") + \
            "proof = *-distribʳ"
    if times:
        n = names[0]
        return f"({n} : ℕ) → {n} * 1 ≡ {n}", lemmas("*-one") + "proof = *-one"
    if len(names) >= 3:
        a, b, c = names[:3]
        return f"({a} {b} {c} : ℕ) → ({a} + {b}) + {c} ≡ {a} + ({b} + {c})", lemmas("+-assoc") + "proof = +-assoc"
    if len(names) == 2:
        n, m = names
        return f"({n} {m} : ℕ) → {n} + {m} ≡ {m} + {n}", lemmas("+-comm") + "proof = +-comm"
    n = names[0]
    constants = [v for v in numbers if v > 0]
    if len(constants) >= 2:
        k1, k2 = constants[:2]
        return f"({n} : ℕ) → ({n} + {k1}) + {k2} ≡ {n} + {k1 + k2}", lemmas("+-assoc") + \
            f"proof = λ {n} → +-assoc {n} {k1} {k2}"
    return f"({n} : ℕ) → {n} + 0 ≡ {n}", lemmas("+-zero") + "proof = +-zero"


def main() -> None:
    problems = json.load(open(sys.argv[1], encoding="utf-8"))
    answers = {}
    for p in problems:
        try:
            made = formalize(p["statement"])
        except (ValueError, IndexError):
            made = None
        if made is not None:
            statement, proof = made
            head, _, last = proof.rpartition("proof = ")
            answers[p["id"]] = {"statement": statement, "proof": f"{head}proof : Statement\nproof = {last}\n"}
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(answers, out, ensure_ascii=False)


if __name__ == "__main__":
    main()
