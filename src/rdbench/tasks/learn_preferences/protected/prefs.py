"""learn_preferences: the preference dimensions, how a deliverable is checked against them, and how the
simulated researcher corrects (stdlib only: the service, the scorer and the generator share it).

A deliverable is the files the agent submits for one turn (``{path: text}``). Each request has a kind
(``table``, ``config``, ``plot``, ``note``); each dimension applies to some kinds and has a check that
says whether a deliverable follows one of the dimension's options (``True``/``False``), or ``None``
where it cannot apply (a table without a learning-rate column says nothing about lr notation).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from typing import Any

LN2 = math.log(2.0)

# dimension -> options, the request kinds it applies to, explicit corrections per option
DIMS: dict[str, dict[str, Any]] = {
    "loss_units": {"options": ["nats", "bits"], "kinds": ["table", "note"],
                   "say": {"nats": "Please report losses in nats (natural log), not bits.",
                           "bits": "Please report losses in bits (nats divided by ln 2), not nats."}},
    "precision": {"options": ["2dp", "4dp"], "kinds": ["table", "note"],
                  "say": {"2dp": "Two decimals for losses is plenty (e.g. 1.23).",
                          "4dp": "Please give losses with four decimals (e.g. 1.2345)."}},
    "error_bars": {"options": ["pm", "none"], "kinds": ["table", "note"],
                   "say": {"pm": "Always give the spread over seeds: mean ± standard deviation.",
                           "none": "Just the mean over seeds, please: no ± spread."}},
    "table_format": {"options": ["markdown", "csv"], "kinds": ["table"],
                     "say": {"markdown": "Tables as Markdown (.md) files, please.",
                             "csv": "Tables as CSV (.csv) files, please."}},
    "baseline": {"options": ["include", "omit"], "kinds": ["table", "plot"],
                 "say": {"include": "Always include the `baseline` run for comparison.",
                         "omit": "Leave the `baseline` run out unless I ask for it."}},
    "sort_order": {"options": ["best_first", "as_requested"], "kinds": ["table"],
                   "say": {"best_first": "Sort table rows by loss, best first.",
                           "as_requested": "Keep table rows in the order I listed the runs."}},
    "lr_notation": {"options": ["sci", "decimal"], "kinds": ["table", "config"],
                    "say": {"sci": "Write learning rates in scientific notation (3e-4).",
                            "decimal": "Write learning rates as plain decimals (0.0003)."}},
    "config_format": {"options": ["yaml", "json"], "kinds": ["config"],
                      "say": {"yaml": "Configs in YAML (.yaml), please.", "json": "Configs in JSON (.json), please."}},
    "run_naming": {"options": ["dashed", "snake"], "kinds": ["config"],
                   "say": {"dashed": "Name runs model-w<width>-lr<lr>, with dashes (e.g. mlp-w256-lr0.0003).",
                           "snake": "Name runs model_w<width>_lr<lr>, with underscores (e.g. mlp_w256_lr0.0003)."}},
    "optimizer": {"options": ["adamw", "adam"], "kinds": ["config"],
                  "say": {"adamw": "Default to AdamW with weight_decay 0.1.",
                          "adam": "Default to plain Adam (weight_decay 0)."}},
    "seeds": {"options": ["three", "one"], "kinds": ["config"],
              "say": {"three": "Every config runs seeds [0, 1, 2].", "one": "One seed (seeds: [0]) is enough."}},
    "scheduler": {"options": ["cosine", "constant"], "kinds": ["config"],
                  "say": {"cosine": "Use the cosine schedule by default.", "constant": "Use a constant learning rate."}},
    "plot_yscale": {"options": ["log", "linear"], "kinds": ["plot"],
                    "say": {"log": "Loss plots on a log y-axis, please.", "linear": "Loss plots on a linear y-axis."}},
    "plot_format": {"options": ["svg", "pdf"], "kinds": ["plot"],
                    "say": {"svg": "Save figures as SVG.", "pdf": "Save figures as PDF."}},
    "time_units": {"options": ["minutes", "hours"], "kinds": ["table", "note"],
                   "say": {"minutes": "Give training times in minutes.", "hours": "Give training times in hours."}},
    "output_dir": {"options": ["results", "reports"], "kinds": ["table", "note"],
                   "say": {"results": "Put tables and notes in results/.", "reports": "Put tables and notes in reports/."}},
    "no_overwrite": {"options": ["never"], "kinds": ["table", "config", "plot", "note"],
                     "say": {"never": "Never overwrite existing files: write new ones."}},
}
KINDS = ("table", "config", "plot", "note")
_NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def digest(submission: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of the submission's canonical JSON."""
    return hashlib.sha256(json.dumps(submission, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


# --- parsing ---------------------------------------------------------------------------------------
def parse_yaml(text: str) -> dict[str, Any] | None:
    """The flat YAML the configs use (``key: scalar`` and ``key: [a, b]``); None if not that."""
    out: dict[str, Any] = {}
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.match(r"^([A-Za-z_][\w.-]*):\s*(.*)$", line)
        if not match:
            return None
        key, value = match.group(1), match.group(2).strip()
        if value.startswith("[") and value.endswith("]"):
            out[key] = [_scalar(v.strip()) for v in value[1:-1].split(",") if v.strip()]
        else:
            out[key] = _scalar(value)
    return out


def _scalar(text: str) -> Any:
    text = text.strip().strip("'\"")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(_NUM, text, re.IGNORECASE):
        return float(text)
    return {"true": True, "false": False, "null": None}.get(text.lower(), text)


def parse_config(path: str, text: str) -> dict[str, Any] | None:
    if path.endswith(".json"):
        try:
            loaded = json.loads(text)
        except ValueError:
            return None
        return loaded if isinstance(loaded, dict) else None
    if path.endswith((".yaml", ".yml")):
        return parse_yaml(text)
    return None


def raw_value(text: str, key: str) -> str | None:
    """How ``key``'s value is written in a config's text (for notation checks)."""
    match = re.search(rf'(?:^|[{{,\s])"?{re.escape(key)}"?\s*:\s*"?({_NUM})', text, re.IGNORECASE | re.MULTILINE)
    return match.group(1) if match else None


def parse_table(path: str, text: str) -> list[list[str]] | None:
    """The table's rows (header first) from a Markdown or CSV file; None if there is none."""
    if path.endswith(".csv"):
        rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
        return [[c.strip() for c in r] for r in rows] if len(rows) > 1 else None
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.fullmatch(r"\|[\s:|-]*\|?", line):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows if len(rows) > 1 else None


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number and "e" not in number.lower() else 0


def loss_cells(rows: list[list[str]]) -> dict[str, str]:
    """Run name -> the text of its loss cell (the first column whose header names a loss)."""
    header = [h.lower() for h in rows[0]]
    col = next((i for i, h in enumerate(header) if "loss" in h), None)
    if col is None:
        return {}
    return {r[0].strip("`* "): r[col] for r in rows[1:] if len(r) > col}


def split_pm(cell: str) -> tuple[str | None, str | None]:
    """``'1.234 ± 0.012'`` -> ('1.234', '0.012'); the mean alone -> ('1.234', None)."""
    nums = re.findall(_NUM, cell)
    if not nums:
        return None, None
    spread = nums[1] if len(nums) > 1 and re.search(r"±|\+/-|\+-", cell) else None
    return nums[0], spread


# --- checks ----------------------------------------------------------------------------------------
def _matches_loss(text: str, stats: dict[str, float], unit: str | None) -> bool:
    """Whether ``text`` is the run's mean loss in ``unit`` (either unit when None), as rounded."""
    try:
        value = float(text)
    except ValueError:
        return False
    tol = 0.5 * 10 ** -max(_decimals(text), 0) + 1e-9 if _decimals(text) else 0.5 + 1e-9
    means = {"nats": stats["mean"], "bits": stats["mean"] / LN2}
    return any(abs(value - means[u]) <= tol for u in ([unit] if unit else ["nats", "bits"]))


def _unit_of(text: str, stats: dict[str, float]) -> str | None:
    for unit in ("nats", "bits"):
        if _matches_loss(text, stats, unit):
            return unit
    return None


def deliverable(kind: str, files: dict[str, str]) -> tuple[str, str] | None:
    """The file that answers a request of ``kind`` (path, text), or None."""
    for path in sorted(files):
        text = files[path]
        if kind == "table" and path.endswith((".md", ".csv")) and parse_table(path, text):
            return path, text
        if kind == "config" and path.endswith((".json", ".yaml", ".yml")) and not path.startswith("figures/") \
                and parse_config(path, text) is not None:
            return path, text
        if kind == "plot" and path.endswith(".json") and '"yscale"' in text:
            return path, text
        if kind == "note" and path.endswith((".md", ".txt")):
            return path, text
    return None


def evaluate(request: dict[str, Any], files: dict[str, str], data: dict[str, Any],
             taken: set[str]) -> dict[str, Any]:
    """Checks one turn's deliverable: whether it does what was asked (``task``, 0..1) and, per
    dimension that applies, which option it follows (``follows``: dim -> option, or None when the
    deliverable shows none; dims that do not apply are absent).

    ``data`` holds the runs' statistics (``runs``) and the repository's original files; ``taken`` the
    paths that existed before this turn (the repository's and earlier deliverables).
    """
    kind = request["kind"]
    found = deliverable(kind, files)
    follows: dict[str, str | None] = {}
    if found is None:
        return {"task": 0.0, "follows": follows, "path": None}
    path, text = found
    follows["no_overwrite"] = "never" if not (set(files) & taken) else None
    if kind in ("table", "note"):
        follows["output_dir"] = next((o for o in ("results", "reports") if path.startswith(o + "/")), None)
    runs = data["runs"]
    if kind == "table":
        return _table(request, path, text, runs, follows)
    if kind == "note":
        return _note(request, text, runs, follows)
    if kind == "config":
        return _config(request, path, text, follows)
    return _plot(request, text, follows)


def _losses(cells: dict[str, str], runs: dict[str, Any], follows: dict[str, str | None]) -> bool:
    means = [split_pm(cells[r])[0] for r in cells if r in runs]
    spreads = [split_pm(cells[r])[1] for r in cells if r in runs]
    units = {_unit_of(m, runs[r]) for r, m in zip([r for r in cells if r in runs], means, strict=True) if m}
    follows["loss_units"] = units.pop() if len(units) == 1 and None not in units else None
    places = {_decimals(m) for m in means if m is not None}
    follows["precision"] = {2: "2dp", 4: "4dp"}.get(places.pop()) if len(places) == 1 else None
    follows["error_bars"] = "pm" if spreads and all(spreads) else "none" if not any(spreads) else None
    return bool(means) and all(m is not None for m in means)


def _table(request: dict[str, Any], path: str, text: str, runs: dict[str, Any],
           follows: dict[str, str | None]) -> dict[str, Any]:
    rows = parse_table(path, text) or []
    follows["table_format"] = "csv" if path.endswith(".csv") else "markdown"
    cells = loss_cells(rows)
    asked = request["runs"]
    ok_numbers = _losses(cells, runs, follows)
    listed = [r for r in cells if r in runs]
    if "baseline" not in asked:  # asked for, it says nothing about the preference
        follows["baseline"] = "include" if "baseline" in listed else "omit"
    means = {r: float(split_pm(cells[r])[0] or "nan") for r in listed}
    order = [r for r in listed if r != "baseline" or "baseline" in asked]
    by_loss = sorted(order, key=lambda r: means[r])
    as_asked = [r for r in asked if r in order]
    if by_loss != as_asked:  # where the two orders agree, the table cannot show which one was meant
        follows["sort_order"] = "best_first" if order == by_loss else "as_requested" if order == as_asked else None
    header = [h.lower() for h in rows[0]] if rows else []
    lr_col = next((i for i, h in enumerate(header) if h in ("lr", "learning rate", "learning_rate")), None)
    if lr_col is not None:
        cells_lr = [r[lr_col] for r in rows[1:] if len(r) > lr_col and re.fullmatch(_NUM, r[lr_col], re.IGNORECASE)]
        sci = [("e" in c.lower()) for c in cells_lr]
        follows["lr_notation"] = "sci" if sci and all(sci) else "decimal" if sci and not any(sci) else None
    if request.get("time"):
        follows["time_units"] = _time_units(header, rows, runs)
    task = sum(r in cells and _matches_loss(split_pm(cells[r])[0] or "", runs[r], None) for r in asked) / len(asked)
    if request.get("time") and follows.get("time_units") is None:
        task *= 0.5
    return {"task": task if ok_numbers else 0.0, "follows": follows, "path": path}


def _time_units(header: list[str], rows: list[list[str]], runs: dict[str, Any]) -> str | None:
    col = next((i for i, h in enumerate(header) if "time" in h), None)
    if col is None:
        return None
    unit = "hours" if re.search(r"\bh\b|hour", header[col]) else "minutes" if "min" in header[col] else None
    values = {r[0].strip("`* "): r[col] for r in rows[1:] if len(r) > col}
    for run, cell in values.items():
        if run in runs and unit:
            number = re.findall(_NUM, cell)
            want = runs[run]["minutes"] / (60.0 if unit == "hours" else 1.0)
            if not number or abs(float(number[0]) - want) > max(0.05 * want, 0.01):
                return None
    return unit


def _note(request: dict[str, Any], text: str, runs: dict[str, Any], follows: dict[str, str | None]) -> dict[str, Any]:
    best = min(request["runs"], key=lambda r: runs[r]["mean"])
    line = next((ln for ln in text.splitlines() if best in ln and re.search(_NUM, ln.replace(best, ""))), "")
    rest = line.replace(best, " ")
    numbers = re.findall(_NUM, rest)
    loss = next((n for n in numbers if _unit_of(n, runs[best])), None)
    if loss is not None:
        cell = rest[rest.index(loss):]
        _losses({best: cell}, runs, follows)
    else:
        follows.update(loss_units=None, precision=None, error_bars=None)
    if request.get("time"):
        match = re.search(rf"({_NUM})\s*(min(?:utes?)?|h(?:ours?)?|hrs?)\b", text)
        follows["time_units"] = None
        if match:
            unit = "hours" if match.group(2).startswith("h") else "minutes"
            want = runs[best]["minutes"] / (60.0 if unit == "hours" else 1.0)
            if abs(float(match.group(1)) - want) <= max(0.05 * want, 0.01):
                follows["time_units"] = unit
    task = 1.0 if loss is not None else 0.5 if best in text else 0.0
    return {"task": task, "follows": follows, "path": None}


def _config(request: dict[str, Any], path: str, text: str, follows: dict[str, str | None]) -> dict[str, Any]:
    config = parse_config(path, text) or {}
    follows["config_format"] = "json" if path.endswith(".json") else "yaml"
    raw = raw_value(text, "lr")
    follows["lr_notation"] = None if raw is None else "sci" if "e" in raw.lower() else "decimal"
    name = str(config.get("name", ""))
    follows["run_naming"] = "dashed" if re.fullmatch(r"[a-z]+-w\d+-lr[\d.e-]+", name) else \
        "snake" if re.fullmatch(r"[a-z]+_w\d+_lr[\d.e-]+", name) else None
    optimizer, decay = str(config.get("optimizer", "")).lower(), config.get("weight_decay", 0)
    follows["optimizer"] = "adamw" if optimizer == "adamw" and decay == 0.1 else \
        "adam" if optimizer == "adam" and not decay else None
    seeds = config.get("seeds")
    follows["seeds"] = "three" if seeds == [0, 1, 2] else "one" if seeds == [0] else None
    schedule = str(config.get("schedule", "")).lower()
    follows["scheduler"] = schedule if schedule in ("cosine", "constant") else None
    try:
        lr_ok = abs(float(config.get("lr", "nan")) - request["lr"]) < 1e-12
    except (TypeError, ValueError):
        lr_ok = False
    task = (lr_ok + (config.get("model") == request["model"])) / 2
    return {"task": task, "follows": follows, "path": path}


def _plot(request: dict[str, Any], text: str, follows: dict[str, str | None]) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except ValueError:
        return {"task": 0.0, "follows": follows, "path": None}
    follows["plot_yscale"] = spec.get("yscale") if spec.get("yscale") in ("log", "linear") else None
    follows["plot_format"] = spec.get("format") if spec.get("format") in ("svg", "pdf") else None
    plotted = [str(r) for r in spec.get("runs", [])] if isinstance(spec.get("runs"), list) else []
    if "baseline" not in request["runs"]:
        follows["baseline"] = "include" if "baseline" in plotted else "omit"
    task = sum(r in plotted for r in request["runs"]) / len(request["runs"])
    return {"task": task, "follows": follows, "path": None}


# --- the researcher --------------------------------------------------------------------------------
def violations(result: dict[str, Any], profile: dict[str, str]) -> list[str]:
    """The profile's dimensions this deliverable applies to and does not follow (in profile order)."""
    return [dim for dim, option in profile.items() if dim in result["follows"] and result["follows"][dim] != option]


def compliance(result: dict[str, Any], profile: dict[str, str]) -> float | None:
    """The share of the profile's applicable dimensions followed (None when none applies)."""
    applicable = [dim for dim in profile if dim in result["follows"]]
    if not applicable:
        return None
    followed: int = sum(result["follows"][d] == profile[d] for d in applicable)
    return followed / len(applicable)


def corrections(violated: list[str], corrected: list[str], profile: dict[str, str],
                modes: dict[str, str], examples: dict[str, str]) -> list[tuple[str, str]]:
    """At most two corrections for dimensions never corrected before: (dimension, what is said)."""
    out: list[tuple[str, str]] = []
    for dim in violated:
        if dim in corrected or len(out) == 2:
            continue
        option = profile[dim]
        if modes[dim] == "pointer" and dim in examples:
            out.append((dim, f"Have a look at how {examples[dim]} does it, and do it like that."))
        else:
            out.append((dim, DIMS[dim]["say"][option]))
    return out


def turn_value(result: dict[str, Any], profile: dict[str, str]) -> float:
    """0.3 for doing what was asked, 0.7 for following the preferences (all of it where none applies);
    nothing at all for a turn without the requested deliverable."""
    if result["task"] <= 0:
        return 0.0
    share = compliance(result, profile)
    return 0.3 * float(result["task"]) + 0.7 * (1.0 if share is None else share)


def replay(session: list[dict[str, Any]], turns: list[dict[str, Any]], profile: dict[str, str],
           modes: dict[str, str], examples: dict[str, str], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole session judged in order: per submitted turn its result, value, the violations, which
    of them repeat a correction already given, and the corrections the researcher gave after it."""
    taken = set(data["files"])
    corrected: list[str] = []
    out = []
    for k, files in enumerate(session):
        result = evaluate(turns[k], files, data, taken)
        violated = violations(result, profile)
        said = corrections(violated, corrected, profile, modes, examples)
        out.append({"turn": k + 1, "kind": turns[k]["kind"], "task": result["task"], "follows": result["follows"],
                    "value": turn_value(result, profile), "violations": violated,
                    "repeated": [d for d in violated if d in corrected], "corrections": said})
        corrected += [dim for dim, _ in said]
        taken |= set(files)
    return out
