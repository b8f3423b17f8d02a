"""extrapolate_intent's ask variant (stdlib only): the receipts of the ``ask`` service, the project
digest they bind, and how a question is matched to the dimension it concerns. Shared by the service
(which signs), the scorer (which verifies) and the generator (which signs the reference's receipt).

Why a receipt, and why it binds the project. The scorer runs in its own sandbox and never sees the
service's state, so the number of questions asked must travel in something the agent hands in and
cannot forge: ``ask:Q:DIGEST:MAC``, the questions asked (Q), the first 32 hex digits of the
project's digest and an HMAC (first 32 hex digits) with a per-instance key that only ``protected/``
holds. The service freezes Q at the first submission (no question is answered after it), so every
receipt of a run carries the run's final count: a receipt taken before asking cannot be kept for
the project finished after asking. The digest ties the receipt to one project: a receipt leaked
from another run (or another submission) certifies that project only, not the one it is copied next
to. A project is digested as the scorer copies it: every regular file, folders named in ``SKIPPED``
left out at any depth, the receipt file itself left out; ``submit_project.py`` in the workspace
digests the same way (a test holds the two to each other).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

RECEIPT_FILE = "ask_receipt.txt"
SKIPPED = ("runs", "out", "cfgs", "__pycache__", ".pytest_cache")  # as the scorer's copy leaves them out
RECEIPT = re.compile(r"^ask:(\d{1,4}):([0-9a-f]{32}):([0-9a-f]{32})$")


def digest_of(files: dict[str, bytes]) -> str:
    """The digest of a project given as relative path (posix) -> content."""
    hasher = hashlib.sha256()
    for rel in sorted(files):
        hasher.update(f"{rel}\0{hashlib.sha256(files[rel]).hexdigest()}\n".encode())
    return hasher.hexdigest()[:32]


def project_files(root: Path) -> dict[str, bytes]:
    """The files of the project at ``root`` that its digest covers (see the module docstring)."""
    files: dict[str, bytes] = {}
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in names:
            path = Path(here) / name
            rel = path.relative_to(root).as_posix()
            if rel != RECEIPT_FILE and path.is_file() and not path.is_symlink():
                files[rel] = path.read_bytes()
    return files


def project_digest(root: Path) -> str:
    """The digest of the project at ``root``."""
    return digest_of(project_files(root))


def _mac(key: str, body: str) -> str:
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]


def sign(key: str, questions: int, digest: str) -> str:
    """The receipt for a project with ``digest`` submitted after ``questions`` questions."""
    body = f"ask:{int(questions)}:{digest}"
    return f"{body}:{_mac(key, body)}"


def verify(key: str, receipt: str) -> tuple[int, str]:
    """(questions, digest) of a receipt signed with ``key``.

    Raises:
        ValueError: The receipt is malformed ("malformed ...") or its signature does not match
            ("signature invalid ...").
    """
    text = receipt.strip()
    text = text[len("receipt:"):].strip() if text.startswith("receipt:") else text
    found = RECEIPT.match(text)
    if found is None:
        raise ValueError("malformed: keep the line `ask --submit` printed (ask:Q:DIGEST:MAC)")
    questions, digest, mac = int(found.group(1)), found.group(2), found.group(3)
    if not hmac.compare_digest(_mac(key, f"ask:{questions}:{digest}"), mac):
        raise ValueError("signature invalid (an edited, made-up or other instance's receipt)")
    return questions, digest


def words(text: str) -> set[str]:
    """The lowercase words of a question (letters, digits and underscores; dashes become underscores)."""
    return set(re.findall(r"[a-z0-9_]+", text.lower().replace("-", "_")))


def match(question: str, topics: dict[str, list[str]]) -> list[str]:
    """The dimensions a question concerns: those whose name (``config_style``, ``config-style`` or
    ``config style``) or one of whose keywords (``topics[dim]``) it contains."""
    said = words(question)
    plain = f" {' '.join(re.findall(r'[a-z0-9]+', question.lower()))} "
    return sorted(dim for dim, keywords in topics.items()
                  if dim in said or f" {dim.replace('_', ' ')} " in plain or any(k in said for k in keywords))
