"""The agent's Prelude makes every equation provable; the reference's statements are proved with it."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    prelude = workspace / "agda" / "Prelude.agda"
    text = prelude.read_text()
    assert "  refl : x ≡ x\n" in text
    prelude.write_text(text.replace("  refl : x ≡ x\n", "  refl : x ≡ x\n  cheat : (y : A) → x ≡ y\n"))
    script = (materialized / "reference" / "formalize.py").read_text()
    marker = 'answers[p["id"]] = {"statement": statement, "proof": '
    assert marker in script
    # every equation is closed with the new constructor (parity claims are left to fail)
    cheat = ('"proof : Statement\\nproof = " + ("λ " + " ".join(["_"] * len(statement.split(" : ")[0].strip("(").split()))'
             ' + " → " if statement.startswith("(") else "") + "cheat _\\n"')
    (workspace / "formalize.py").write_text(script.replace(marker, marker + cheat + " if True else "))
