"""extrapolate_intent's hidden checks (stdlib only): shared by the scorer, the generator's validation
and the tests, so that the instance the generator validated is judged by the same code.

A check never runs code. It plans the runs of the project (configs, in order; the runner executes
them: the scorer in a nested sandbox, the generator in a subprocess) and judges what the runs left:
each run's ``log.jsonl`` records (written by the project's hash-protected logger), its
``results.json`` and the files in its output folder. The oracle (the clean project, which also writes
its test metrics and the validation losses of two twins trained with clipped gradients) runs the same
configs first on the same seed and is the yardstick: with the feature
off, the agent's numbers must be the oracle's, and a feature that is not meant to change training
must leave the logged numbers as they were.

Kinds and what is at stake in them (the dimensions whose intended option the project's clues fix):

| kind | explicit behaviour | implied (dimension: options) |
|---|---|---|
| early_stopping | the run stops at the epoch an early-stopping rule with the given patience says | config_style: nested, flat; judged_metric: val_acc, val_loss |
| log_lr | every epoch's record carries the learning rate | log_naming: slash, underscore; lr_value: scheduled, base |
| resume | a run interrupted and resumed ends with epochs 0..E-1 logged once, continuing from where it stopped | config_style; ckpt_dir: checkpoints, ckpt; exact_resume: exact, weights_only |
| report_test | results.json carries a test metric of the final model | log_naming; judged_metric; test_once: end_only, every_epoch |
| checkpoint_every | checkpoint files are written during the run | config_style; ckpt_dir; keep_last: keep_last, keep_all |
| report_best | results.json holds a best epoch (by a validation metric) and its validation numbers | log_naming (the epoch's key); judged_metric |
| warmup | the first epoch trains differently, the logged rate stays at most the configured one during the warm-up and follows a decaying schedule after it | config_style; warmup_decay: after, from_start |
| eval_every | validation numbers are logged on a regular subset of the epochs only, unchanged | config_style; eval_records: every_epoch, eval_only |
| log_progress | every record carries a running count of the training done (steps or examples) | log_naming; progress_unit: examples, steps |
| best_so_far | every record carries the best validation score up to its epoch | log_naming; judged_metric |
| grad_clip | training with the threshold follows the oracle's twin clipped by norm or by value | config_style; clip_mode: norm, value |
| anneal | the logged rate starts at the configured one and is annealed to zero by the run's end, and training follows it | config_style; anneal_shape: cosine, linear |
| log_grad_norm | every record carries the gradient's norm: the epoch's mean over its steps or its last step's, within a tolerance | log_naming; step_agg: mean, last |
| held_out | the run is one of the oracle's held-out twins: trained on the training rows less a held-out split and evaluated on that split (rows never trained on) | holdout_rows: tail, head; holdout_size: rows100, fifth |

The checks of the later kinds judge behaviour within tolerances, not a formula: any ramp of the
warm-up (linear from zero or not, ending at the last warm-up epoch or the one after it), ties of the best
accuracy broken either way, evaluation on epochs k-1, 2k-1... or 0, k, 2k... (with or without the
last epoch) all pass, so that the check judges the intent and not the arithmetic; a count of the
training done may be taken at the end of an epoch or at its start. Gradient clipping is told apart by
the run's validation losses: the oracle trains two twins on the same batches, one clipped by the
global norm and one by value, and a run is of the kind whose twin it follows within a quarter of the
twins' gap (measured: clipping per parameter, or the weights only, or with an epsilon stays within a
tenth of the gap of the norm twin; clipping by value the weights only, within a tenth of the value
twin; no clipping at all is more than a third of the gap from either). A held-out split is judged
by the numbers alone: the oracle trains the project on each of the four contiguous splits (the
last or first 100 rows or fifth of the training rows held out) and a run must reproduce one of them
exactly (training loss, validation loss and accuracy of every epoch, and the results), which it can
only do by training on exactly the other rows and evaluating on those; where the split is carved
(``train.py`` or ``data.py``) and how it is written does not matter. An annealed rate is read from
the log (to zero at the run's end or at its last epoch). A logged gradient norm is of the option
whose oracle series (the epoch's mean of the steps' global norms, or the last step's) it follows
within half the series' gap (measured on 12 seeds: the root mean square, the weights' gradient only
or np.linalg.norm stay within 0.27 of the gap of their option and at least 0.80 from the other).
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

KINDS = ("early_stopping", "log_lr", "resume", "report_test", "checkpoint_every", "report_best", "warmup",
         "eval_every", "log_progress", "best_so_far", "grad_clip", "held_out",
         "anneal", "log_grad_norm")
DIMS: dict[str, tuple[str, ...]] = {
    "config_style": ("nested", "flat"),
    "judged_metric": ("val_acc", "val_loss"),
    "log_naming": ("slash", "underscore"),
    "ckpt_dir": ("checkpoints", "ckpt"),
    "exact_resume": ("exact", "weights_only"),
    "lr_value": ("scheduled", "base"),
    "test_once": ("end_only", "every_epoch"),
    "keep_last": ("keep_last", "keep_all"),
    "warmup_decay": ("after", "from_start"),
    "eval_records": ("every_epoch", "eval_only"),
    "progress_unit": ("examples", "steps"),
    "clip_mode": ("norm", "value"),
    "holdout_rows": ("tail", "head"),
    "holdout_size": ("rows100", "fifth"),
    "anneal_shape": ("cosine", "linear"),
    "step_agg": ("mean", "last"),
}
AT_STAKE: dict[str, tuple[str, ...]] = {
    "early_stopping": ("config_style", "judged_metric"),
    "log_lr": ("log_naming", "lr_value"),
    "resume": ("config_style", "ckpt_dir", "exact_resume"),
    "report_test": ("log_naming", "judged_metric", "test_once"),
    "checkpoint_every": ("config_style", "ckpt_dir", "keep_last"),
    "report_best": ("log_naming", "judged_metric"),
    "warmup": ("config_style", "warmup_decay"),
    "eval_every": ("config_style", "eval_records"),
    "log_progress": ("log_naming", "progress_unit"),
    "best_so_far": ("log_naming", "judged_metric"),
    "grad_clip": ("config_style", "clip_mode"),
    "held_out": ("holdout_rows", "holdout_size"),
    "anneal": ("config_style", "anneal_shape"),
    "log_grad_norm": ("log_naming", "step_agg"),
}
PARAMS: dict[str, dict[str, float]] = {"early_stopping": {"patience": 3}, "checkpoint_every": {"every": 2},
                                     "resume": {}, "log_lr": {}, "report_test": {}, "report_best": {},
                                     "warmup": {"epochs": 3}, "eval_every": {"every": 3}, "log_progress": {},
                                     "best_so_far": {}, "grad_clip": {"threshold": 0.02},
                                     "held_out": {}, "anneal": {}, "log_grad_norm": {}}  # as the oracle's twins
SWITCHED = ("early_stopping", "resume", "checkpoint_every", "warmup", "eval_every", "grad_clip", "anneal")  # the config turns them on and off
EPOCHS = {"early_stopping": 30, "log_lr": 8, "resume": 10, "report_test": 8, "checkpoint_every": 7,
          "report_best": 24, "warmup": 8, "eval_every": 8, "log_progress": 6, "best_so_far": 10,
          "grad_clip": 8, "held_out": 8, "anneal": 8, "log_grad_norm": 8}
NORM_TOL = 0.5  # log_grad_norm: a logged norm follows the epoch mean or last step within this share of their gap
CLIP_TOL = 0.25  # grad_clip: a run follows a twin within this share of the twins' gap (see the module docstring)
PROGRESS_BATCH = 25  # log_progress: a batch size that divides the 500 training rows (no partial batch to count)
MIN_BEST_EPOCHS = 5  # report_best: the shortest run the plan cuts the oracle's to (see best_horizon)
INTERRUPT_AT = 4  # resume: the first run stops after this many epochs
OWN_OUTPUTS = ("log.jsonl", "results.json")
TOL = 1e-9


def keys(naming: str) -> dict[str, str]:
    """The project's metric keys under a naming convention."""
    sep = "/" if naming == "slash" else "_"
    return {name: name.replace("_", sep, 1) for name in ("train_loss", "val_loss", "val_acc", "train_lr",
                                                          "test_acc", "test_loss")}


def switch(kind: str, style: str, enabled: bool, params: dict[str, Any]) -> dict[str, Any]:
    """The config entries that turn feature ``kind`` on or off in ``style``."""
    if style == "nested":
        return {kind: {"enabled": enabled, **params}}
    return {kind: enabled, **{f"{kind}_{k}": v for k, v in params.items()}}


def other(dim: str, option: str) -> str:
    """The other option of a two-option dimension."""
    return next(o for o in DIMS[dim] if o != option)


def plan(kind: str, intent: dict[str, str], base: dict[str, Any], seed: int,
         oracle_log: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The agent's runs for one scoring (name, config), in the order they must run. The configs are
    ``base`` (the project's config) with a fresh seed, their own output folder and the feature's
    switch. The number of runs depends on the kind only, never on the intent (hidden scores must not
    leak it through the work done)."""
    rng = random.Random(seed)
    common = {**base, "seed": rng.randrange(1, 10**6), "data_seed": rng.randrange(1, 10**6),
              "epochs": EPOCHS[kind]}
    for key in list(common):  # the project's own switches stay as they are; the feature's are set below
        if key == kind or key.startswith(f"{kind}_"):
            del common[key]
    style = intent.get("config_style", "nested")
    runs: list[tuple[str, dict[str, Any]]] = []

    def add(name: str, **extra: Any) -> None:
        runs.append((name, {**common, "out_dir": f"out/{name}", **extra}))

    if kind in SWITCHED:
        params = dict(PARAMS[kind])
        if kind == "early_stopping" and oracle_log is not None:
            params["patience"] = patience_for(oracle_log, intent)
        if kind == "resume":  # off after an interrupted run: it must start from scratch
            add("off", **switch(kind, style, True, params), epochs=INTERRUPT_AT)
        add("off", **switch(kind, style, False, params))
        if kind == "resume":
            for name, st in (("on", style), ("alt", other("config_style", style))):
                add(name, **switch(kind, st, True, params), epochs=INTERRUPT_AT)
                add(name, **switch(kind, st, True, params))
        else:
            add("on", **switch(kind, style, True, params))
            add("alt", **switch(kind, other("config_style", style), True, params))
    elif kind == "report_best":  # a run as long as best_horizon says (the oracle's log decides, not the intent)
        # on a flat rate the curves keep moving, so that the best epochs by accuracy and by loss differ
        # on ~97% of seeds (~85% under the project's decay: measured on 80 seeds)
        add("on", epochs=best_horizon(oracle_log) if oracle_log is not None else EPOCHS[kind], lr_decay=1.0)
    elif kind == "log_progress":
        add("on", batch_size=PROGRESS_BATCH)
    else:
        add("on")
    return runs


def oracle_runs(kind: str, base: dict[str, Any], seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The oracle's runs: the plan's seed and data with the feature's keys left out (the clean project
    ignores them anyway)."""
    config = next(c for _, c in plan(kind, {}, base, seed) if c["epochs"] == EPOCHS[kind])
    return [("oracle", {**{k: v for k, v in config.items() if not (k == kind or k.startswith(f"{kind}_"))},
                        "out_dir": "out/oracle"})]


def stop_epoch(log: list[dict[str, Any]], key: str, higher: bool, patience: int) -> int | None:
    """The epoch at which early stopping on ``key`` with ``patience`` ends the run (None: never)."""
    best: float | None = None
    best_epoch = 0
    for record in log:
        value = float(record[key])
        if best is None or (value > best if higher else value < best):
            best, best_epoch = value, int(record["epoch"])
        elif int(record["epoch"]) - best_epoch >= patience:
            return int(record["epoch"])
    return None


def _metric_key(names: dict[str, str], metric: str) -> tuple[str, bool]:
    return (names["val_acc"], True) if metric == "val_acc" else (names["val_loss"], False)


def patience_for(oracle_log: list[dict[str, Any]], intent: dict[str, str]) -> int:
    """A patience under which the two metrics stop the run at different epochs (so the monitored
    metric shows), the intended one before the end; the default patience when none does."""
    names = keys(intent["log_naming"])
    for patience in (3, 2, 4, 1, 5):
        stops = {m: stop_epoch(oracle_log, *_metric_key(names, m), patience) for m in DIMS["judged_metric"]}
        if stops["val_acc"] != stops["val_loss"] and stops[intent.get("judged_metric", "val_acc")] is not None:
            return patience
    return int(PARAMS["early_stopping"]["patience"])


def _val_keys(log: list[dict[str, Any]]) -> tuple[str, str]:
    """The validation accuracy and loss keys of a log of the project (either naming)."""
    naming = "slash" if log and "val/acc" in log[0] else "underscore"
    return keys(naming)["val_acc"], keys(naming)["val_loss"]


def best_epochs(log: list[dict[str, Any]]) -> dict[str, set[int]]:
    """The best epochs of a log by each validation metric (every epoch that ties the best accuracy;
    the lowest loss's epoch)."""
    acc_key, loss_key = _val_keys(log)
    top = max(float(r[acc_key]) for r in log)
    low = min(float(r[loss_key]) for r in log)
    return {"val_acc": {int(r["epoch"]) for r in log if float(r[acc_key]) == top},
            "val_loss": {int(r["epoch"]) for r in log if float(r[loss_key]) == low}}


def best_horizon(oracle_log: list[dict[str, Any]]) -> int:
    """report_best: the longest run (at least MIN_BEST_EPOCHS epochs, at most the oracle's) whose best
    epochs by accuracy and by loss are different epochs and neither is the last, so that the metric
    judged and "best, not last" both show; the oracle's length when none is (the dimension then does
    not tell the options apart on that seed, and a correct report still passes)."""
    for epochs in range(len(oracle_log), MIN_BEST_EPOCHS - 1, -1):
        best = best_epochs(oracle_log[:epochs])
        if not best["val_acc"] & best["val_loss"] and epochs - 1 not in best["val_acc"] | best["val_loss"]:
            return epochs
    return len(oracle_log)


def _new_series(log: list[dict[str, Any]], known: list[str]) -> dict[str, list[float]]:
    """The keys a log's records add to the project's own (all numbers, in every record), with their values."""
    added = [k for k in (log[0] if log else {}) if k not in ("epoch", *known)]
    out = {}
    for key in added:
        values = [r.get(key) for r in log]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[key] = [float(r[key]) for r in log]
    return out


def _named(key: str, naming: str) -> bool:
    """Whether a new key follows the project's naming: a slash (train/steps) or, without one, an
    underscore (train_steps); a bare word follows neither."""
    return "/" in key if naming == "slash" else "_" in key and "/" not in key


def _same(a: dict[str, Any], b: dict[str, Any], names: list[str]) -> bool:
    try:
        return all(math.isclose(float(a[n]), float(b[n]), rel_tol=TOL, abs_tol=TOL) for n in names)
    except (KeyError, TypeError, ValueError):
        return False


def _same_log(mine: list[dict[str, Any]] | None, theirs: list[dict[str, Any]], names: list[str]) -> bool:
    return mine is not None and len(mine) == len(theirs) and \
        all(_same(a, b, ["epoch", *names]) for a, b in zip(mine, theirs, strict=True))


def _prefix_of(mine: list[dict[str, Any]] | None, theirs: list[dict[str, Any]], names: list[str]) -> bool:
    return bool(mine) and mine is not None and len(mine) <= len(theirs) and \
        all(_same(a, b, ["epoch", *names]) for a, b in zip(mine, theirs, strict=False))


def _ckpts(out: dict[str, Any]) -> list[str]:
    return [f for f in out.get("files", []) if f not in OWN_OUTPUTS]


def judge(kind: str, intent: dict[str, str], outputs: dict[str, dict[str, Any]], oracle: dict[str, Any],
          params: dict[str, Any]) -> dict[str, Any]:
    """The checks of one scoring. ``outputs`` maps run names to {log, results, files} (None where a run
    left nothing readable), ``oracle`` is the oracle's; ``params`` the plan's feature parameters
    (patience...). Returns {explicit: bool, implied: {dim: bool}, off_unchanged: bool, notes: [...]}"""
    names = keys(intent["log_naming"])
    base_names = [names["train_loss"], names["val_loss"], names["val_acc"]]
    olog, ores = oracle["log"], oracle["results"]
    final = {names["val_acc"]: ores[names["val_acc"]], names["val_loss"]: ores[names["val_loss"]]}
    notes: list[str] = []
    implied: dict[str, bool] = {}
    explicit = False
    off_ok = True
    if kind in SWITCHED:
        off = outputs.get("off", {})
        off_log = off.get("log")
        if kind == "resume" and off_log is not None:  # after an interrupted run: off means from scratch
            off_log = off_log[INTERRUPT_AT:] if [r.get("epoch") for r in off_log[:INTERRUPT_AT]] == \
                list(range(INTERRUPT_AT)) else None
        off_ok = _same_log(off_log, olog, base_names) and _same(off.get("results") or {}, final, list(final))
        if not off_ok:
            notes.append("with the feature off, the run's numbers are not the project's")
    if kind == "early_stopping":
        patience = int(params["patience"])
        stops = {m: stop_epoch(olog, *_metric_key(names, m), patience) for m in DIMS["judged_metric"]}

        def stops_as(out: dict[str, Any], metric: str) -> bool:
            log = out.get("log")
            return _prefix_of(log, olog, base_names) and log is not None and \
                stops[metric] is not None and int(log[-1]["epoch"]) == stops[metric]

        works = {n: any(stops_as(outputs.get(n, {}), m) for m in DIMS["judged_metric"]) for n in ("on", "alt")}
        explicit = any(works.values())
        implied["config_style"] = works["on"] and off_ok
        implied["judged_metric"] = any(stops_as(outputs.get(n, {}), intent["judged_metric"]) for n in ("on", "alt"))
        notes.append(f"patience {patience}: stops {stops}")
    elif kind == "log_lr":
        out = outputs.get("on", {})
        log = out.get("log") or []
        off_ok = _same_log(log, olog, base_names)
        candidates = [k for k in (log[0] if log else {}) if re.search(r"(^|[/_])(lr|learning_rate)$", k)]
        explicit = bool(log) and any(all(isinstance(r.get(k), (int, float)) for r in log) for k in candidates)
        # one key (no hedging), named the project's way: train/lr or opt/learning_rate; train_lr or
        # learning_rate (a bare "lr" follows neither)
        form = r"^\w+/(lr|learning_rate)$" if intent["log_naming"] == "slash" else r"^(\w+_lr|(\w+_)?learning_rate)$"
        implied["log_naming"] = len(candidates) == 1 and re.match(form, candidates[0]) is not None
        lr0, decay = float(params["lr"]), float(params["lr_decay"])
        rate = (lambda e: lr0 * decay ** e) if intent["lr_value"] == "scheduled" else (lambda e: lr0)
        implied["lr_value"] = explicit and any(
            all(math.isclose(float(r[k]), rate(int(r["epoch"])), rel_tol=1e-6) for r in log)
            for k in candidates if all(isinstance(r.get(k), (int, float)) for r in log))
    elif kind == "resume":
        def resumed(out: dict[str, Any]) -> bool:
            log = out.get("log") or []
            if [int(r.get("epoch", -1)) for r in log] != list(range(EPOCHS["resume"])):
                return False
            first = log[INTERRUPT_AT]  # the resumed run's first epoch starts from the trained weights
            try:
                return abs(float(first[names["train_loss"]]) - float(olog[INTERRUPT_AT][names["train_loss"]])) < \
                    abs(float(first[names["train_loss"]]) - float(olog[0][names["train_loss"]]))
            except (KeyError, TypeError, ValueError):
                return False

        works = {n: resumed(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(works.values())
        implied["config_style"] = works["on"] and off_ok
        done = [n for n in ("on", "alt") if works[n]]
        implied["ckpt_dir"] = any(any(f.startswith(f"{intent['ckpt_dir']}/") for f in _ckpts(outputs[n]))
                                  and not any(f.startswith(f"{other('ckpt_dir', intent['ckpt_dir'])}/")
                                              for f in _ckpts(outputs[n])) for n in done)
        exact = any(_same_log(outputs[n].get("log"), olog, base_names) and bool(outputs[n].get("results"))
                    and _same(outputs[n]["results"], final, list(final))
                    for n in done)
        # weights only: the resumed run draws its batches afresh, so it is not the uninterrupted run
        implied["exact_resume"] = exact if intent["exact_resume"] == "exact" else explicit and not exact
    elif kind == "report_test":
        out = outputs.get("on", {})
        log, res = out.get("log") or [], out.get("results") or {}
        off_ok = _same_log(log, olog, base_names) and _same(res, final, list(final))
        truth = {"acc": ores["_oracle_test_acc"], "loss": ores["_oracle_test_loss"]}
        matches = {k: m for k, v in res.items() if "test" in k.lower() and isinstance(v, (int, float))
                   for m, t in truth.items() if math.isclose(float(v), float(t), rel_tol=1e-6, abs_tol=1e-9)}
        explicit = bool(matches)
        prefix = names["test_acc"][:5]  # test/ or test_
        implied["judged_metric"] = explicit and set(matches.values()) == {intent["judged_metric"][4:]}
        implied["log_naming"] = explicit and all(k.startswith(prefix) for k in matches)
        per_epoch = bool(log) and all(any("test" in k.lower() for k in r) for r in log)
        none_per_epoch = not any("test" in k.lower() for r in log for k in r)
        implied["test_once"] = explicit and (none_per_epoch if intent["test_once"] == "end_only" else per_epoch)
    elif kind == "checkpoint_every":
        def saved(out: dict[str, Any]) -> bool:
            return bool(_ckpts(out)) and _same_log(out.get("log"), olog, base_names)

        works = {n: saved(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(works.values())
        off_files = _ckpts(outputs.get("off", {}))
        if off_files:
            off_ok = False
            notes.append(f"with the feature off, the run still wrote {off_files[:3]}")
        implied["config_style"] = works["on"] and off_ok
        done = [n for n in ("on", "alt") if works[n]]
        implied["ckpt_dir"] = any(all(f.startswith(f"{intent['ckpt_dir']}/") for f in _ckpts(outputs[n]))
                                  for n in done)
        want_one = intent["keep_last"] == "keep_last"
        implied["keep_last"] = any((len(_ckpts(outputs[n])) == 1) if want_one else (len(_ckpts(outputs[n])) >= 2)
                                   for n in done)
    elif kind == "report_best":
        out = outputs.get("on", {})
        log, res = out.get("log") or [], out.get("results") or {}
        horizon = best_horizon(olog)
        prefix = olog[:horizon]
        off_ok = _same_log(log, prefix, base_names)
        best = best_epochs(prefix)
        numbers = [float(v) for v in res.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]

        def reported(epoch: int) -> bool:  # its validation loss and accuracy are among the results' numbers
            return all(any(math.isclose(v, float(prefix[epoch][k]), rel_tol=TOL, abs_tol=TOL) for v in numbers)
                       for k in (names["val_loss"], names["val_acc"]))

        matched = {e for e in best["val_acc"] | best["val_loss"] if reported(e)}
        epoch_keys = [k for k, v in res.items() if "epoch" in k.lower() and isinstance(v, (int, float))
                      and not isinstance(v, bool)]
        explicit = any(float(res[k]) in matched for k in epoch_keys)
        implied["judged_metric"] = explicit and matched <= best[intent["judged_metric"]]
        form = r"^\w+/epoch$" if intent["log_naming"] == "slash" else r"^\w+_epoch$"
        implied["log_naming"] = explicit and len(epoch_keys) == 1 and re.match(form, epoch_keys[0]) is not None
        notes.append(f"{horizon} epochs: best epochs {dict((m, sorted(e)) for m, e in best.items())}")
    elif kind == "warmup":
        warm, lr0, decay = int(PARAMS["warmup"]["epochs"]), float(params["lr"]), float(params["lr_decay"])
        epochs = EPOCHS["warmup"]

        def close(a: float, b: float) -> bool:
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)

        def schedule(out: dict[str, Any]) -> str | None:
            """The warm-up's schedule ("after", "from_start"), None where no warm-up shows."""
            log = out.get("log") or []
            if [r.get("epoch") for r in log] != list(range(epochs)) or _same(log[0], olog[0], [names["train_loss"]]):
                return None  # every epoch logged once, and the first epoch trained differently
            for key in [k for k in log[0] if re.search(r"(^|[/_])(lr|learning_rate)$", k)]:
                try:
                    rates = [float(r[key]) for r in log]
                except (KeyError, TypeError, ValueError):
                    continue
                if any(not 0 <= rate <= lr0 * (1 + 1e-6) for rate in rates[:warm]):
                    continue
                if any(all(close(rates[e], lr0 * decay ** (e - start)) for e in range(warm, epochs))
                       for start in (warm, warm - 1)):  # the decay counted from the warm-up's end
                    return "after"
                if all(close(rates[e], lr0 * decay ** e) for e in range(warm, epochs)):
                    return "from_start"
            return None

        shapes = {n: schedule(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(shapes.values())
        implied["config_style"] = shapes["on"] is not None and off_ok
        implied["warmup_decay"] = intent["warmup_decay"] in shapes.values()
        notes.append(f"warm-up schedules seen: {shapes}")
    elif kind == "eval_every":
        every, epochs = int(PARAMS["eval_every"]["every"]), EPOCHS["eval_every"]
        regular = [{e for e in range(epochs) if (e + 1 - offset) % every == 0} - {epochs - 1} for offset in (0, 1)]

        def records(out: dict[str, Any]) -> str | None:
            """Which epochs the log keeps ("every_epoch", "eval_only"; "other"), None where the validation
            numbers are not those of a regular subset of the epochs, unchanged."""
            log = out.get("log") or []
            logged = [r.get("epoch") for r in log]
            if not log or not all(type(e) is int for e in logged) or logged != sorted(set(logged)) or not set(logged) <= set(range(epochs)):
                return None
            val = [names["val_loss"], names["val_acc"]]
            evaluated = [int(r["epoch"]) for r in log if all(k in r for k in val)]
            if any(any(k in r for k in val) and not all(k in r for k in val) for r in log) or \
                    not all(_same(r, olog[int(r["epoch"])], [names["train_loss"]]) for r in log) or \
                    not all(_same(r, olog[int(r["epoch"])], val) for r in log if int(r["epoch"]) in evaluated) or \
                    set(evaluated) - {epochs - 1} not in regular:
                return None
            return "every_epoch" if logged == list(range(epochs)) else "eval_only" if logged == evaluated else "other"

        kept = {n: records(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(kept.values())
        implied["config_style"] = kept["on"] is not None and off_ok
        implied["eval_records"] = intent["eval_records"] in kept.values()
        notes.append(f"epochs logged: {kept}")
    elif kind == "log_grad_norm":
        log = outputs.get("on", {}).get("log") or []
        off_ok = _same_log(log, olog, base_names)
        series = _new_series(log, base_names) if off_ok else {}
        refs = {agg: [float(r[f"_oracle/grad_norm_{agg}"]) for r in olog] for agg in DIMS["step_agg"]}

        def apart(a: list[float], b: list[float]) -> float:
            """The largest gap between two per-epoch series, relative to the epoch's mean norm."""
            return max(abs(x - y) / m for x, y, m in zip(a, b, refs["mean"], strict=True))

        gap = apart(refs["mean"], refs["last"])
        fits = {key: {agg for agg in DIMS["step_agg"] if apart(values, refs[agg]) <= NORM_TOL * gap}
                for key, values in series.items()}  # NaN compares false: no fit
        fits = {key: aggs for key, aggs in fits.items() if aggs}
        explicit = bool(fits)
        implied["step_agg"] = explicit and set().union(*fits.values()) == {intent["step_agg"]}
        implied["log_naming"] = explicit and len(series) == 1 and _named(next(iter(series)), intent["log_naming"])
        notes.append(f"added keys matched: {fits} (gap between the epoch mean and the last step {gap:.3g})")
    elif kind in ("log_progress", "best_so_far"):
        log = outputs.get("on", {}).get("log") or []
        off_ok = _same_log(log, olog, base_names)
        series = _new_series(log, base_names) if off_ok else {}
        if kind == "log_progress":
            rows = 500  # the project's training split
            each_epoch = {"examples": rows, "steps": rows // PROGRESS_BATCH}
            expected = {f"{unit}@{end}": [float(n * (e + end)) for e in range(len(log))]
                        for unit, n in each_epoch.items() for end in (1, 0)}  # counted at the epoch's end or start
        else:
            acc, loss = [float(r[names["val_acc"]]) for r in log], [float(r[names["val_loss"]]) for r in log]
            expected = {"val_acc@": [max(acc[:e + 1]) for e in range(len(log))],
                        "val_loss@": [min(loss[:e + 1]) for e in range(len(log))]}
        fits = {key: {option.split("@")[0] for option, want in expected.items()
                      if all(math.isclose(v, w, rel_tol=TOL, abs_tol=TOL) for v, w in zip(values, want, strict=True))}
                for key, values in series.items()}
        fits = {key: options for key, options in fits.items() if options}  # the added keys that fit an option
        explicit = bool(fits)
        dim = "progress_unit" if kind == "log_progress" else "judged_metric"
        implied[dim] = explicit and set().union(*fits.values()) == {intent[dim]}
        implied["log_naming"] = explicit and len(series) == 1 and _named(next(iter(series)), intent["log_naming"])
        notes.append(f"added keys matched: {fits}")
    elif kind == "grad_clip":
        epochs, modes = EPOCHS["grad_clip"], DIMS["clip_mode"]
        twins = {m: [float(r[f"_oracle/{m}_val_loss"]) for r in olog] for m in modes}
        gap = max(abs(a - b) for a, b in zip(*twins.values(), strict=True))

        def follows(out: dict[str, Any]) -> str | None:
            """The twin the run follows (None: neither, or no clipping at all)."""
            log = out.get("log") or []
            if [r.get("epoch") for r in log] != list(range(epochs)) or _same_log(log, olog, base_names):
                return None
            try:
                mine = [float(r[names["val_loss"]]) for r in log]
            except (KeyError, TypeError, ValueError):
                return None
            dist = {m: max(abs(a - b) for a, b in zip(mine, twins[m], strict=True)) for m in modes}
            near = min(modes, key=lambda m: dist[m])
            return near if dist[near] <= CLIP_TOL * gap else None  # NaN compares false: neither

        kinds = {n: follows(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(kinds.values())
        implied["config_style"] = kinds["on"] is not None and off_ok
        implied["clip_mode"] = intent["clip_mode"] in kinds.values()
        notes.append(f"clipping followed: {kinds} (twins' gap {gap:.3g})")
    elif kind == "anneal":
        lr0, epochs = float(params["lr"]), EPOCHS["anneal"]

        def anneal_rate(shape: str, e: int, t: int) -> float:
            return lr0 * (0.5 * (1.0 + math.cos(math.pi * e / t)) if shape == "cosine" else 1.0 - e / t)

        def annealed(out: dict[str, Any]) -> str | None:
            """The shape the logged rate follows to zero at the run's end or its last epoch (None: neither,
            or training did not follow the rate)."""
            log = out.get("log") or []
            if [r.get("epoch") for r in log] != list(range(epochs)) or _same(log[1], olog[1], [names["train_loss"]]):
                return None  # every epoch logged once, and the second epoch trained with another rate
            for key in [k for k in log[0] if re.search(r"(^|[/_])(lr|learning_rate)$", k)]:
                try:
                    rates = [float(r[key]) for r in log]
                except (KeyError, TypeError, ValueError):
                    continue
                for shape in DIMS["anneal_shape"]:
                    if any(all(math.isclose(rates[e], anneal_rate(shape, e, t), rel_tol=1e-6, abs_tol=1e-12)
                               for e in range(epochs)) for t in (epochs, epochs - 1)):
                        return shape
            return None

        shapes = {n: annealed(outputs.get(n, {})) for n in ("on", "alt")}
        explicit = any(shapes.values())
        implied["config_style"] = shapes["on"] is not None and off_ok
        implied["anneal_shape"] = intent["anneal_shape"] in shapes.values()
        notes.append(f"annealing seen: {shapes}")
    elif kind == "held_out":  # there is no "off": the eval moves to the held-out rows for good
        out = outputs.get("on", {})
        log, res = out.get("log") or [], out.get("results") or {}
        measured = ("train_loss", "val_loss", "val_acc")
        held_splits = [(rows, size) for rows in DIMS["holdout_rows"] for size in DIMS["holdout_size"]]

        def reproduces(rows: str, size: str) -> bool:
            """Whether the run is the oracle's twin trained without, and evaluated on, that split."""
            if [r.get("epoch") for r in log] != list(range(EPOCHS["held_out"])):
                return False
            try:
                want = [{names[m]: float(olog[e][f"_oracle/{rows}_{size}/{m}"]) for m in measured}
                        for e in range(len(log))]
            except (KeyError, TypeError, ValueError):
                return False
            return all(_same(r, w, list(w)) for r, w in zip(log, want, strict=True)) and \
                _same(res, want[-1], [names["val_loss"], names["val_acc"]])

        reproduced = [split for split in held_splits if reproduces(*split)]
        explicit = bool(reproduced)
        implied["holdout_rows"] = explicit and all(rows == intent["holdout_rows"] for rows, _ in reproduced)
        implied["holdout_size"] = explicit and all(size == intent["holdout_size"] for _, size in reproduced)
        notes.append(f"held-out split reproduced: {reproduced or 'none of the four'}")
    return {"explicit": explicit, "implied": implied, "off_unchanged": off_ok, "notes": notes}


def value(checks: dict[str, Any], tests_pass: bool) -> float:
    """An instance's value: nothing unless the explicit behaviour works; then 0.4 plus 0.6 times the
    share of implied checks passed, minus 0.2 for each regression (the project's tests fail; with the
    feature off the numbers change)."""
    if not checks["explicit"]:
        return 0.0
    implied = checks["implied"]
    share = sum(implied.values()) / len(implied) if implied else 1.0
    return max(0.0, 0.4 + 0.6 * share - 0.2 * (not tests_pass) - 0.2 * (not checks["off_unchanged"]))
