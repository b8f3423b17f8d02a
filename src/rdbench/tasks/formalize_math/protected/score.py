"""Scorer for formalize_math: the fraction of fresh hidden problems formalised faithfully and proven.

Each call draws ``n_problems`` problems from ``params["seed"]`` (every statement kind, every English
template; see problems.py) and keeps their intended formal statements in this process. Then:

1. ``formalize.py`` runs in a nested sandbox (``rs.run_untrusted``: its own /proc, no protected/, no
   parameters, a time limit) on the problems' English only, and writes ``answers.json``; when it
   returns every process it started is dead.
2. Only then are the check modules written, in a new folder: per problem ``Stmt_<id>`` (the agent's
   statement, ``Statement : Set``, over the scorer's own ``Prelude``), ``Answer_<id>`` (the agent's
   proof text, which must define ``proof``), ``Faithful_<id>`` (``Statement ≡ <intended>`` proved by
   ``refl``: the two must be definitionally equal) and ``Proven_<id>`` (``Answer.proof :
   Statement``). Pragmas, ``postulate`` and ``primitive`` are refused before Agda sees the text.
3. Agda checks them with ``--safe`` (no postulates, holes or ``TERMINATING``) in another nested
   sandbox, every file under a time limit.

Score = solved / problems, where solved = faithful and proven; the statement compile rate, the
faithfulness rate and the proof rate are reported apart.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

FORBIDDEN = re.compile(r"\{-#|#-\}|(?<![\w'])(postulate|primitive)(?![\w'])")
MAX_STATEMENT, MAX_PROOF = 2_000, 40_000


def _refusal(statement: Any, proof: Any) -> str | None:
    """Why an answer is refused before Agda sees it (None: it goes to Agda)."""
    if not isinstance(statement, str) or not isinstance(proof, str):
        return "statement and proof must be strings"
    if "\n" in statement or "\r" in statement or len(statement) > MAX_STATEMENT:
        return f"the statement must be one line of at most {MAX_STATEMENT} characters"
    if len(proof) > MAX_PROOF:
        return f"the proof is longer than {MAX_PROOF} characters"
    found = FORBIDDEN.search(statement + "\n" + proof)
    if found:
        return f"{found.group(0)!r} is not allowed (no pragmas, postulates or primitives)"
    return None


def _modules(pid: str, statement: str, proof: str, formal: str) -> dict[str, str]:
    """The four check modules of one problem."""
    return {
        f"Stmt_{pid}.agda": f"module Stmt_{pid} where\nopen import Prelude\nStatement : Set\nStatement = {statement}\n",
        f"Answer_{pid}.agda": f"module Answer_{pid} where\nopen import Prelude\nopen import Stmt_{pid}\n{proof}\n",
        f"Faithful_{pid}.agda": (f"module Faithful_{pid} where\nopen import Prelude\nimport Stmt_{pid}\n"
                                 f"faithful : Stmt_{pid}.Statement ≡ ({formal})\nfaithful = refl\n"),
        f"Proven_{pid}.agda": (f"module Proven_{pid} where\nopen import Prelude\nimport Stmt_{pid}\n"
                               f"import Answer_{pid}\nproven : Stmt_{pid}.Statement\nproven = Answer_{pid}.proof\n"),
    }


def _answers(folder: Path) -> dict[str, Any]:
    answers = rs.read_json("answers.json", folder, max_bytes=16 << 20)
    if not isinstance(answers, dict):
        raise rs.Invalid('answers.json must be a JSON object {"<problem id>": {"statement": ..., "proof": ...}}')
    return answers


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    workspace, protected = Path(workspace), Path(protected)
    sys.path.insert(0, str(protected))
    import problems  # the scorer's own generator (protected/)

    n = int(params.get("n_problems", 100))
    hidden = problems.generate(int(params["seed"]), n, dev=False)
    rs.read_bytes("formalize.py", workspace)  # a regular file of the workspace, not a link

    # 1. the formaliser, on the English only
    inbox = rs.shared_dir("formalize-")
    (inbox / "problems.json").write_text(json.dumps([p.public() for p in hidden], ensure_ascii=False))
    limit = float(params.get("formalize_timeout", 30))
    run = rs.run_untrusted([sys.executable, "formalize.py", str(inbox / "problems.json"), str(inbox / "answers.json")],
                           cwd=workspace, timeout=limit, memory_mb=int(params.get("memory_mb", 2048)))
    if run.timed_out:
        raise rs.Invalid(f"formalize.py did not finish within {limit:.0f} s on {n} problems")
    if not run.ok:
        raise rs.Invalid(run.why("formalize.py"))
    formalize_seconds = run.seconds
    answers = _answers(inbox)

    # 2. the check modules, written only now (the formaliser is dead), in a folder of their own
    check = rs.shared_dir("check-")
    shutil.copytree(protected / "agda" / "lib", check / "data" / "lib")
    shutil.copy(protected / "agda" / "Prelude.agda", check / "Prelude.agda")
    shutil.copy(protected / "agda" / "agda_check.py", check / "agda_check.py")
    verdicts: dict[str, dict[str, Any]] = {}
    files: list[str] = []
    for p in hidden:
        entry = answers.get(p.id)
        verdict: dict[str, Any] = {"kind": p.kind, "statement": False, "faithful": False, "proven": False}
        verdicts[p.id] = verdict
        if not isinstance(entry, dict):
            verdict["why"] = "no answer"
            continue
        refused = _refusal(entry.get("statement"), entry.get("proof"))
        if refused:
            verdict["why"] = refused
            continue
        for name, text in _modules(p.id, entry["statement"], entry["proof"], p.formal).items():
            (check / name).write_text(text)
        files += [f"Faithful_{p.id}.agda", f"Proven_{p.id}.agda"]

    # 3. Agda, with --safe, every file under a time limit
    results: dict[str, dict[str, Any]] = {}
    check_seconds = 0.0
    if files:
        per_file = float(params.get("agda_file_timeout", 5))
        checked = rs.run_untrusted([sys.executable, "agda_check.py", "--data", str(check / "data"), "--root", str(check),
                                "--timeout", str(per_file), *files],
                               cwd=check, timeout=float(params.get("agda_timeout", 60)),
                               memory_mb=int(params.get("memory_mb", 2048)))
        check_seconds = checked.seconds
        for line in checked.stdout_text().splitlines():
            try:
                result = json.loads(line)
            except ValueError:
                continue
            if isinstance(result, dict) and isinstance(result.get("file"), str):
                results[result["file"]] = result
        if not results and not checked.ok:
            raise rs.ScorerError(f"the Agda checker failed: {checked.stderr_tail(400)}")

    for pid, verdict in verdicts.items():
        faithful, proven = results.get(f"Faithful_{pid}.agda"), results.get(f"Proven_{pid}.agda")
        if faithful is None or proven is None:
            verdict.setdefault("why", "not checked")
            continue
        verdict["statement"] = bool(faithful["ok"]) or faithful.get("where") != f"Stmt_{pid}.agda"
        verdict["faithful"] = bool(faithful["ok"])
        verdict["proven"] = bool(proven["ok"])
        if not (faithful["ok"] and proven["ok"]):
            verdict["why"] = (faithful.get("error") or proven.get("error") or "")[:200]

    solved = sum(v["faithful"] and v["proven"] for v in verdicts.values())
    stated = sum(v["statement"] for v in verdicts.values())
    faithful_n = sum(v["faithful"] for v in verdicts.values())
    proven_n = sum(v["proven"] for v in verdicts.values())
    by_kind: dict[str, list[int]] = {}
    for v in verdicts.values():
        counts = by_kind.setdefault(v["kind"], [0, 0])
        counts[0] += int(v["faithful"] and v["proven"])
        counts[1] += 1
    value = solved / n
    return rs.scored(value, f"solved {solved}/{n} hidden problems (faithful and proven); statements that "
                     f"compile {stated}/{n}, faithful {faithful_n}/{n}, proofs that check {proven_n}/{n}",
                     n=n, solved=solved, statement_rate=stated / n, faithful_rate=faithful_n / n,
                     proof_rate=proven_n / n, by_kind={k: f"{a}/{b}" for k, (a, b) in sorted(by_kind.items())},
                     formalize_seconds=round(formalize_seconds, 2),
                     check_seconds=round(check_seconds, 2),
                     failures={pid: v.get("why", "") for pid, v in verdicts.items()
                               if not (v["faithful"] and v["proven"])})
