"""audit_data scorer: average precision of the ranked rows, precision@k, leak-column accuracy."""

import json


def _nan(message):
    return {"value": float("nan"), "message": message, "details": {}}


def score(workspace, protected, params):
    label = json.loads((protected / "label.json").read_text())
    path = workspace / "answer.json"
    if path.is_symlink():
        return _nan("answer.json must be a plain file")
    try:
        answer = json.loads(path.read_text())
        rows = answer.get("rows") or []
        leak = answer.get("leak_column")
        if not all(isinstance(r, int) and not isinstance(r, bool) for r in rows):
            raise TypeError("rows must be integers")
    except (OSError, ValueError, AttributeError, TypeError) as error:
        return _nan(f"answer.json invalid: {error}")
    bad = {int(k) for k in label["bad"]}
    seen, ranked = set(), []
    for r in rows:  # repeats would inflate the ranking; keep first occurrences only
        if r not in seen:
            seen.add(r)
            ranked.append(r)
    hits, precisions = 0, []
    for i, r in enumerate(ranked, start=1):
        if r in bad:
            hits += 1
            precisions.append(hits / i)
    ap = sum(precisions) / len(bad) if bad else 1.0
    k = len(bad)
    p_at_k = sum(r in bad for r in ranked[:k]) / k if k else 1.0
    leak_ok = leak == label["leak_column"]
    details = {"average_precision": ap, "precision_at_k": p_at_k, "k": k, "leak_correct": leak_ok,
               "truth_leak": label["leak_column"], "said_leak": leak, "n_flagged": len(ranked)}
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        details.update(average_precision=0.0, precision_at_k=0.0, leak_correct=False)
        return {"value": 0.0, "message": 'no answer yet (answer.json has "answered": false)', "details": details}
    return {"value": 0.5 * ap + 0.5 * float(leak_ok), "message": "recorded", "details": details}
