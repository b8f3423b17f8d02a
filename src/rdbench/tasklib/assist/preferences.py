"""Sessions with a simulated researcher (for learn_preferences): a repository of recorded runs and
past deliverables, a hidden profile of preferences, ten requests, and a writer that produces a
deliverable for a request in any style.

A *style* gives every preference dimension (``protected/prefs.py``'s ``DIMS``) an option; the writer
(:func:`render`) turns a request and a style into files, and the checker (``prefs.evaluate``) reads
them back, so a style can be verified to round-trip. The repository's own past tables, notes, configs
and figure specs are written by the same writer: for an *inferable* preference every one of them
follows it; for the others they disagree (old files in another style), with at least one following it,
which the researcher can point to.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

MODEL = "mlp"
# what a stateless solver does: one fixed choice per dimension, files at fixed paths (it overwrites)
DEFAULT_STYLE = {"loss_units": "nats", "precision": "4dp", "error_bars": "none", "table_format": "markdown",
                 "baseline": "omit", "sort_order": "as_requested", "lr_notation": "decimal", "config_format": "json",
                 "run_naming": "snake", "optimizer": "adam", "seeds": "one", "scheduler": "cosine",
                 "plot_yscale": "linear", "plot_format": "svg", "time_units": "minutes", "output_dir": "results",
                 "no_overwrite": "overwrite"}


def runs_data(rng: random.Random) -> dict[str, dict[str, Any]]:
    """Ten recorded sweep runs (``r01``..``r10``) and ``baseline``: width, lr, three seeds' validation
    losses (nats), a mean, a standard deviation, training minutes and a validation curve."""
    runs: dict[str, dict[str, Any]] = {}
    names = ["baseline"] + [f"r{i:02d}" for i in range(1, 11)]
    for name in names:
        width = 64 if name == "baseline" else rng.choice([64, 128, 256, 512])
        lr = 1e-3 if name == "baseline" else rng.choice([1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
        base = 1.9 - 0.12 * math.log2(width / 64) + 0.35 * abs(math.log10(lr / 1e-3)) ** 1.5
        base += 0.15 if name == "baseline" else 0.0
        seeds = [round(base + rng.gauss(0, 0.02), 6) for _ in range(3)]
        mean = sum(seeds) / 3
        std = math.sqrt(sum((x - mean) ** 2 for x in seeds) / 2)
        minutes = round(width / 64 * rng.uniform(18, 30), 1)
        curve = [[step, round(mean + 2.5 * math.exp(-step / 300), 4)] for step in range(0, 2001, 200)]
        runs[name] = {"model": MODEL, "width": width, "lr": lr, "seeds": seeds, "mean": mean, "std": std,
                      "minutes": minutes, "curve": curve}
    return runs


def lr_text(lr: float, notation: str) -> str:
    """A learning rate as written in that notation (``3e-4`` or ``0.0003``)."""
    if notation == "sci":
        mantissa, exponent = f"{lr:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{lr:.10f}".rstrip("0")


def _loss(run: dict[str, Any], style: dict[str, str]) -> str:
    scale = 1.0 if style["loss_units"] == "nats" else 1.0 / math.log(2.0)
    places = 2 if style["precision"] == "2dp" else 4
    text = f"{run['mean'] * scale:.{places}f}"
    if style["error_bars"] == "pm":
        text += f" ± {run['std'] * scale:.{places}f}"
    return text


def _minutes(run: dict[str, Any], style: dict[str, str]) -> str:
    return f"{run['minutes'] / 60:.2f}" if style["time_units"] == "hours" else f"{run['minutes']:.1f}"


def table_rows(request: dict[str, Any], style: dict[str, str], runs: dict[str, Any]) -> list[str]:
    names = list(request["runs"])
    if style["baseline"] == "include" and "baseline" not in names:
        names.append("baseline")
    if style["sort_order"] == "best_first":
        names.sort(key=lambda r: runs[r]["mean"])
    return names


def render(request: dict[str, Any], style: dict[str, str], runs: dict[str, Any], turn: int) -> dict[str, str]:
    """The files answering ``request`` in ``style`` (paths relative to the workspace)."""
    kind = request["kind"]
    fresh = style["no_overwrite"] == "never"
    if kind == "table":
        names = table_rows(request, style, runs)
        unit = "nats" if style["loss_units"] == "nats" else "bits"
        header = ["run"] + (["lr"] if request.get("lr") else []) + [f"val loss ({unit})"]
        if request.get("time"):
            header.append("train time (h)" if style["time_units"] == "hours" else "train time (min)")
        rows = []
        for name in names:
            row = [name] + ([lr_text(runs[name]["lr"], style["lr_notation"])] if request.get("lr") else [])
            row.append(_loss(runs[name], style))
            if request.get("time"):
                row.append(_minutes(runs[name], style))
            rows.append(row)
        path = f"{style['output_dir']}/" + (f"turn{turn:02d}_table" if fresh else "table")
        if style["table_format"] == "csv":
            return {path + ".csv": "\n".join(",".join(r) for r in [header, *rows]) + "\n"}
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return {path + ".md": "\n".join(lines) + "\n"}
    if kind == "note":
        best = min(request["runs"], key=lambda r: runs[r]["mean"])
        unit = "nats" if style["loss_units"] == "nats" else "bits"
        text = f"# Which run is best\n\n{best} is best: validation loss {_loss(runs[best], style)} {unit}"
        if request.get("time"):
            text += f", trained in {_minutes(runs[best], style)} " + ("hours" if style["time_units"] == "hours" else "min")
        path = f"{style['output_dir']}/" + (f"turn{turn:02d}_note.md" if fresh else "note.md")
        return {path: text + ".\n"}
    if kind == "config":
        lr = lr_text(request["lr"], style["lr_notation"])
        width = request["width"]
        name = f"{MODEL}-w{width}-lr{lr}" if style["run_naming"] == "dashed" else f"{MODEL}_w{width}_lr{lr}"
        fields: list[tuple[str, str]] = [("name", name), ("model", MODEL), ("width", str(request["width"])), ("lr", lr),
                                         ("optimizer", style["optimizer"]),
                                         ("weight_decay", "0.1" if style["optimizer"] == "adamw" else "0"),
                                         ("schedule", style["scheduler"]),
                                         ("seeds", "[0, 1, 2]" if style["seeds"] == "three" else "[0]")]
        stem = f"configs/{name}" if fresh else "configs/new_run"
        if style["config_format"] == "yaml":
            return {stem + ".yaml": "".join(f"{k}: {v}\n" for k, v in fields)}
        quoted = {"name", "model", "optimizer", "schedule"}
        body = ",\n".join(f'  "{k}": ' + (f'"{v}"' if k in quoted else v) for k, v in fields)
        return {stem + ".json": "{\n" + body + "\n}\n"}
    names = list(request["runs"])
    if style["baseline"] == "include" and "baseline" not in names:
        names.append("baseline")
    fmt = style["plot_format"]
    out = f"figures/turn{turn:02d}_curves.{fmt}" if fresh else f"figures/curves.{fmt}"
    spec = {"runs": names, "yscale": style["plot_yscale"], "format": fmt, "out": out}
    return {out + ".json": json.dumps(spec, indent=1) + "\n", out: f"(figure of {', '.join(names)})\n"}


def requests(rng: random.Random, runs: dict[str, Any], profile: dict[str, str], count: int = 10,
             kinds_of: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """``count`` requests over the four kinds such that every profile dimension applies in at least
    three of them (where the kinds allow); run lists whose requested order is not the loss order."""
    sweep = [r for r in runs if r != "baseline"]
    kinds_of = kinds_of or {}
    for _ in range(200):
        kinds = [rng.choice(["table", "config", "plot", "note"]) for _ in range(count)]
        if all(sum(k in kinds_of.get(dim, []) for k in kinds) >= 3 for dim in profile):
            break
    combos = rng.sample([(lr, w) for lr in (2e-4, 5e-4, 2e-3, 5e-3, 2e-2, 5e-5) for w in (128, 256)], count)
    out = []
    for kind in kinds:
        picked = rng.sample(sweep, rng.choice([3, 4]))
        while picked == sorted(picked, key=lambda r: runs[r]["mean"]):
            rng.shuffle(picked)
        # a researcher who cares how times or learning rates are written asks about them more often
        time = rng.random() < (0.8 if "time_units" in profile else 0.3)
        if kind == "config":
            lr, width = combos.pop()  # no two configs alike: each gets a file of its own
            out.append({"kind": kind, "model": MODEL, "lr": lr, "width": width})
        elif kind == "table":
            out.append({"kind": kind, "runs": picked, "lr": rng.random() < (0.8 if "lr_notation" in profile else 0.4),
                        "time": time})
        elif kind == "note":
            out.append({"kind": kind, "runs": picked, "time": time})
        else:
            out.append({"kind": kind, "runs": picked[:3]})
    return out


def request_text(request: dict[str, Any]) -> str:
    """What the researcher says."""
    kind = request["kind"]
    if kind == "config":
        return (f"Could you set up a config for a new {request['model']} run, width {request['width']}, learning rate "
                f"{request['lr']:g}? Don't launch it.")
    names = ", ".join(request["runs"][:-1]) + " and " + request["runs"][-1]
    if kind == "table":
        extra = " and their learning rates" if request.get("lr") else ""
        extra += " and how long each trained" if request.get("time") else ""
        return f"Can you make me a table of the validation loss of {names}{extra}?"
    if kind == "note":
        extra = " and how long it trained" if request.get("time") else ""
        return f"Which of {names} did best? A short note with its validation loss{extra}, please."
    return f"Please plot the validation curves of {names} (tools/plot.py)."


def examples(rng: random.Random, runs: dict[str, Any], profile: dict[str, str], inferable: set[str],
             dims: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The repository's past deliverables, as (request, style) pairs: for an inferable profile
    dimension every one follows the profile; for the others the first, third... of the ten do and the
    rest do not (old files in another style); dimensions outside the profile vary freely."""
    items = []
    kinds = ["table", "table", "table", "note", "note", "config", "config", "config", "plot", "plot"]
    sweep = [r for r in runs if r != "baseline"]
    for i, kind in enumerate(kinds):
        style = {dim: rng.choice(spec["options"]) for dim, spec in dims.items()}
        style["no_overwrite"] = "never"
        for dim, option in profile.items():
            others = [o for o in dims[dim]["options"] if o != option]
            style[dim] = option if dim in inferable or not others or i % 2 == 0 else rng.choice(others)
        picked = rng.sample(sweep, 3)
        while picked == sorted(picked, key=lambda r: runs[r]["mean"]):
            rng.shuffle(picked)
        request: dict[str, Any] = {"kind": kind, "runs": picked, "lr": i % 2 == 0, "time": i % 3 == 0}
        if kind == "config":
            request = {"kind": "config", "model": MODEL, "lr": runs[picked[0]]["lr"], "width": runs[picked[0]]["width"]}
        items.append({"request": request, "style": style})
    return items


def past_path(path: str, index: int) -> str:
    """Where the ``index``-th past deliverable's file lives (dated names: no two collide)."""
    folder, _, name = path.rpartition("/")
    return f"{folder}/2024-{1 + index % 9:02d}-{10 + index}_{name.replace('turn00_', '')}"
