"""The reference formaliser with every proof replaced by a postulate (runs on the host, as task code)."""

from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    text = (materialized / "reference" / "formalize.py").read_text()
    marker = 'answers[p["id"]] = {"statement": statement, "proof": '
    assert marker in text
    text = text.replace(marker, marker + '"postulate\\n  proof : Statement\\n" if True else ')
    (workspace / "formalize.py").write_text(text)
