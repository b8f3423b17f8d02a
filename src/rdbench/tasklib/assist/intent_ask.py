"""What the simulated researcher of extrapolate_intent's ask variant says: the topics a question is
matched to and, for each dimension, its intended option in plain words.

Generic over the dimensions: a dimension whose clue is a sentence of the notes (``intent.NOTES``) is
answered with that sentence; the few without one are phrased here (``SAID``); any other (a dimension
added later) gets ``"About the <dimension>: I meant <option>."``. Its topic keywords are its own name
(always) plus ``KEYWORDS`` where given.
"""

from __future__ import annotations

from rdbench.tasklib.assist import intent

KEYWORDS: dict[str, tuple[str, ...]] = {  # one-word synonyms; a question naming two dimensions is refused
    "config_style": ("config", "configuration", "switch", "switched", "nested", "flat", "section"),
    "judged_metric": ("metric", "monitor", "monitored", "judged", "accuracy", "val_acc", "val_loss"),
    "log_naming": ("naming", "named", "key", "keys", "slash", "underscore"),
    "ckpt_dir": ("folder", "directory", "dir", "where"),
    "exact_resume": ("exact", "exactly", "reproduce", "rng", "random"),
    "lr_value": ("schedule", "scheduled", "decay", "decayed"),
    "test_once": ("when", "often", "timing", "once"),
    "keep_last": ("keep", "kept", "latest", "delete", "old"),
    "warmup_decay": ("warmup", "warm_up", "ramp"),
    "eval_records": ("skipped", "skip", "evaluated", "unevaluated"),
    "progress_unit": ("progress", "steps", "examples", "count"),
    "clip_mode": ("clipping", "clip", "clipped"),  # not "norm": a question about logging the gradient norm
    # not "first"/"last"/"many"/"order" (a question about keeping the last checkpoints, how many, or
    # the batch order would name two topics)
    "holdout_rows": ("head", "tail", "oldest", "newest", "recent", "contiguous"),
    "holdout_size": ("size", "big", "large", "fraction", "fifth", "proportion", "percent"),
    "step_agg": ("mean", "average", "averaged", "aggregate", "aggregated"),
    "anneal_shape": ("shape", "cosine", "linear", "anneal", "annealing", "annealed", "curve"),
}
SAID: dict[str, dict[str, str]] = {  # answers for options that no sentence of the notes states
    "config_style": {
        "nested": "Switch it like our other optional features: its own section in config.json, "
                  '{"<option>": {"enabled": false, ...its parameters}}.',
        "flat": "Switch it like our other optional features: flat keys in config.json, "
                '"<option>": false, with its parameters as "<option>_<parameter>".'},
    "log_naming": {
        "slash": "Name new keys like the existing ones, with a slash: train/..., val/..., test/...",
        "underscore": "Name new keys like the existing ones, with an underscore: train_..., val_..., test_..."},
    "lr_value": {
        "scheduled": "The rate actually used in that epoch, after the decay.",
        "base": "The configured rate, `lr` from the config."},
    "exact_resume": {
        "weights_only": "Continuing from the saved weights is enough; it need not match the uninterrupted run."},
}


def in_plain_words(dim: str, option: str) -> str:
    """The researcher's answer to a question about ``dim``: its option ``option`` in plain words."""
    sentence = intent.NOTES.get(dim, {}).get(option) or SAID.get(dim, {}).get(option)
    if sentence:
        return sentence
    return f"About the {dim.replace('_', ' ')}: I meant {option.replace('_', ' ')}."


def topics(dims: list[str]) -> dict[str, list[str]]:
    """Each dimension's keywords (its own name is matched in any case)."""
    return {dim: list(KEYWORDS.get(dim, ())) for dim in dims}


def setup(key: str, dims: list[str], at_stake: list[str], want: dict[str, str]) -> dict[str, object]:
    """The service's ``protected/ask.json``: the signing key, the topics of every dimension and the
    answers for the dimensions at stake only (the service can say nothing else)."""
    return {"key": key, "topics": topics(dims), "answers": {d: in_plain_words(d, want[d]) for d in at_stake}}


def instructions(dims: list[str], questions: int, cost: float) -> str:
    """The instructions of the ask variant (appended to the instance's)."""
    listed = "\n".join(f"  - `{dim}`" + (f" (or: {', '.join(KEYWORDS[dim])})" if dim in KEYWORDS else "")
                       for dim in dims)
    return f"""
## Asking the researcher (this variant)

You may ask the researcher what they meant, at a price. `ask TOPIC` (or `ask --question "..."`) asks
one question; the researcher answers from what they meant, in plain words. A question is matched to
the topic it names (or one of its keywords); a question about no topic gets "I don't know, use your
judgement", one that names two topics gets "one thing at a time", one about a topic that does not
matter for this request gets "use your judgement": all cost the same. Topics:
{listed}

Every question costs {cost:g} of the value (from the score the checks give, never below 0), at most
{questions} questions; `ask --topics` and `ask --status` are not questions and cost nothing. When
you are done, run `python submit_project.py`: it sends the project's digest to `ask --submit`, which
closes the questions for good (no question is answered after it) and signs a receipt of the count
and the digest, saved in `ask_receipt.txt`. The scorer checks it: without it nothing scores; an
edited receipt, or a project changed after it was signed, is invalid, so run `python
submit_project.py` again after every change (the count stays what it was; every call of `ask`
counts against the service's budget of calls, shown after each). Asking is optional.
"""


HELPER = '''"""Submits this project to the researcher: computes its digest (every regular file, except runs/, out/,
cfgs/, __pycache__/, .pytest_cache/ and ask_receipt.txt), sends it with `ask --submit`, and saves the
signed receipt in ask_receipt.txt. Questions close at the first submission; run it again after any change."""

import hashlib
import os
import subprocess
import sys

SKIPPED = ("runs", "out", "cfgs", "__pycache__", ".pytest_cache")
RECEIPT_FILE = "ask_receipt.txt"


def project_digest(root):
    hasher = hashlib.sha256()
    entries = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in names:
            path = os.path.join(here, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel != RECEIPT_FILE and os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    entries.append((rel, hashlib.sha256(handle.read()).hexdigest()))
    for rel, digest in sorted(entries):
        hasher.update(f"{rel}\\0{digest}\\n".encode())
    return hasher.hexdigest()[:32]


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    digest = project_digest(root)
    done = subprocess.run(["ask", "--submit", digest], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    print(done.stdout.strip())
    receipt = [line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("receipt:")]
    if done.returncode != 0 or not receipt:
        print(f"no receipt: {done.stderr.strip()}", file=sys.stderr)
        return 1
    with open(os.path.join(root, RECEIPT_FILE), "w") as handle:
        handle.write(receipt[0] + "\\n")
    print(f"saved the receipt in {RECEIPT_FILE} (project digest {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
