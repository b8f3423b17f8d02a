"""Check formalize.py on the dev problems with Agda, as the scorer does on hidden ones.

    python check.py                    # run formalize.py on dev.json and check every answer
    python check.py --n 50 --show 5    # the first 50 dev problems; print 5 failures
    python check.py --file Mine.agda   # check one module of yours (it may `open import Prelude`)

For each problem the scorer builds, over its own copy of agda/Prelude.agda:

    module Stmt_<id> where                module Answer_<id> where
    open import Prelude                   open import Prelude
    Statement : Set                       open import Stmt_<id>
    Statement = <your statement>          <your proof text, which defines proof : Statement>

and checks with `agda --safe` that `Statement ≡ (<intended statement>)` holds by `refl` (faithful:
definitionally equal) and that `proof : Statement` (proven). This script does the same with the dev
split's intended statements (the hidden split's are never shown).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "agda"))

from agda_check import AgdaSession  # noqa: E402

FORBIDDEN = re.compile(r"\{-#|#-\}|(?<![\w'])(postulate|primitive)(?![\w'])")


def modules(pid: str, statement: str, proof: str, formal: str) -> dict[str, str]:
    """The scorer's four modules for one problem."""
    return {
        f"Stmt_{pid}.agda": f"module Stmt_{pid} where\nopen import Prelude\nStatement : Set\nStatement = {statement}\n",
        f"Answer_{pid}.agda": f"module Answer_{pid} where\nopen import Prelude\nopen import Stmt_{pid}\n{proof}\n",
        f"Faithful_{pid}.agda": (f"module Faithful_{pid} where\nopen import Prelude\nimport Stmt_{pid}\n"
                                 f"faithful : Stmt_{pid}.Statement ≡ ({formal})\nfaithful = refl\n"),
        f"Proven_{pid}.agda": (f"module Proven_{pid} where\nopen import Prelude\nimport Stmt_{pid}\n"
                               f"import Answer_{pid}\nproven : Stmt_{pid}.Statement\nproven = Answer_{pid}.proof\n"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=0, help="check only the first N dev problems")
    ap.add_argument("--show", type=int, default=8, help="failures to print")
    ap.add_argument("--file", help="check this one Agda module instead")
    a = ap.parse_args()
    data = HERE / "agda"
    if a.file:
        folder = Path(a.file).resolve().parent
        if not (folder / "Prelude.agda").exists():
            shutil.copy(data / "Prelude.agda", folder / "Prelude.agda")
        session = AgdaSession(folder, data)
        result = session.check(Path(a.file).name)
        session.close()
        print("OK" if result.ok else f"FAILED: {result.error}")
        return
    dev = json.loads((HERE / "dev.json").read_text())
    dev = dev[:a.n] if a.n else dev
    with tempfile.TemporaryDirectory(prefix="fm-check-") as tmp:
        root = Path(tmp)
        (root / "problems.json").write_text(json.dumps([{k: p[k] for k in ("id", "statement", "proof")} for p in dev]))
        run = subprocess.run([sys.executable, str(HERE / "formalize.py"), str(root / "problems.json"),
                              str(root / "answers.json")], cwd=HERE)
        if run.returncode != 0:
            sys.exit(f"formalize.py failed (exit {run.returncode})")
        answers = json.loads((root / "answers.json").read_text())
        shutil.copy(data / "Prelude.agda", root / "Prelude.agda")
        session = AgdaSession(root, data, timeout=5)
        counts: Counter[str] = Counter()
        failures = []
        for p in dev:
            entry = answers.get(p["id"])
            if not isinstance(entry, dict) or not isinstance(entry.get("statement"), str) or \
                    not isinstance(entry.get("proof"), str):
                failures.append((p, "no answer"))
                continue
            if FORBIDDEN.search(entry["statement"] + entry["proof"]) or "\n" in entry["statement"]:
                failures.append((p, "refused: a pragma, postulate or primitive, or a statement of several lines"))
                continue
            for name, text in modules(p["id"], entry["statement"], entry["proof"], p["formal"]).items():
                (root / name).write_text(text)
            faithful = session.check(f"Faithful_{p['id']}.agda")
            proven = session.check(f"Proven_{p['id']}.agda")
            counts["faithful"] += faithful.ok
            counts["proven"] += proven.ok
            counts["solved"] += faithful.ok and proven.ok
            if not (faithful.ok and proven.ok):
                failures.append((p, f"faithful={faithful.ok} proven={proven.ok}: {faithful.error or proven.error}"))
        session.close()
    n = len(dev)
    print(f"dev problems: {n}; solved {counts['solved']} ({counts['solved'] / n:.3f}), "
          f"faithful {counts['faithful']}, proven {counts['proven']}")
    for p, why in failures[:a.show]:
        print(f"--- {p['id']}: {p['statement']}\n    intended: {p['formal']}\n    {why[:400]}")


if __name__ == "__main__":
    main()
