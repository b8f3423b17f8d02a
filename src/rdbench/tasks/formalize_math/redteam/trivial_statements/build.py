"""Every answer is `0 ≡ 0` with `refl` (runs on the host, as task code)."""

from pathlib import Path

SCRIPT = '''import json, sys
problems = json.load(open(sys.argv[1]))
answer = {"statement": "0 ≡ 0", "proof": "proof : Statement\\\\nproof = refl"}
json.dump({p["id"]: answer for p in problems}, open(sys.argv[2], "w"))
'''


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "formalize.py").write_text(SCRIPT)
