"""The reference formaliser with every proof a loop under {-# TERMINATING #-} (runs on the host)."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    text = (materialized / "reference" / "formalize.py").read_text()
    marker = 'answers[p["id"]] = {"statement": statement, "proof": '
    assert marker in text
    loop = '"{-# TERMINATING #-}\\nloop : Statement\\nloop = loop\\nproof : Statement\\nproof = loop\\n"'
    text = text.replace(marker, marker + loop + " if True else ")
    (workspace / "formalize.py").write_text(text)
