"""extrapolate_intent's projects and checks (rdbench.tasklib.assist.intent, protected/checks.py): every
request kind's reference passes, each one-dimension alternative fails exactly where its clue decides,
the textbook fails an implied check, clues read from the files alone and vanish in the twins, hedged
implementations are not rewarded, and validation rejects instances that break the family's rule."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from rdbench.tasklib.assist import baselines, intent
from tests.tasks.modules import load_module

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "extrapolate_intent"
GENERATE = load_module(TASK / "generate.py")
CHECKS = GENERATE.load_checks()
SEED = 11  # the scoring seed of these checks (the generator validates on 0)


def _want(**over: str) -> dict[str, str]:
    return {"log_naming": "slash", "config_style": "nested", "judged_metric": "val_acc", "ckpt_dir": "checkpoints",
            "exact_resume": "exact", "lr_value": "scheduled", "test_once": "end_only", "keep_last": "keep_last",
            "warmup_decay": "after", "eval_records": "every_epoch", "progress_unit": "examples", "clip_mode": "norm",
            "holdout_rows": "tail", "holdout_size": "rows100", "anneal_shape": "cosine",
            "step_agg": "mean", **over}


def _project(want: dict[str, str], lr_decay: float = 0.9, kind: str | None = None) -> dict[str, str]:
    return intent.project(want, {d: want[d] for d in intent.NOTE_DIMS}, lr_decay, random.Random(0),
                          lr_logged=kind in intent.LR_LOGGED, kind=kind)


def _judge(kind: str, want: dict[str, str], files: dict[str, str]) -> dict[str, Any]:
    base = json.loads(files["config.json"])
    oracle = GENERATE.oracle_of(CHECKS, kind, files, want, base, SEED)
    result: dict[str, Any] = GENERATE.judge_local(CHECKS, kind, want, files, oracle, base, SEED)
    return result


# one project style per kind, so that both namings and both config styles are covered
STYLES = {"early_stopping": _want(config_style="flat", judged_metric="val_acc"),
          "log_lr": _want(log_naming="underscore"),
          "resume": _want(config_style="nested", ckpt_dir="ckpt"),
          "report_test": _want(log_naming="underscore", judged_metric="val_loss", test_once="every_epoch"),
          "checkpoint_every": _want(config_style="flat", keep_last="keep_all"),
          "report_best": _want(log_naming="slash", judged_metric="val_loss"),
          "warmup": _want(config_style="nested", warmup_decay="after"),
          "eval_every": _want(config_style="flat", eval_records="every_epoch"),
          "log_progress": _want(log_naming="underscore", progress_unit="examples"),
          "best_so_far": _want(log_naming="slash", judged_metric="val_acc"),
          "grad_clip": _want(config_style="flat", clip_mode="value"),
          "held_out": _want(log_naming="underscore", holdout_rows="head", holdout_size="fifth"),
          "anneal": _want(config_style="nested", anneal_shape="cosine"),
          "log_grad_norm": _want(log_naming="underscore", step_agg="mean")}
# and the other option of the dimensions whose option was once always the same
CASES = [*((kind, want) for kind, want in sorted(STYLES.items())),
         ("resume", _want(config_style="flat", ckpt_dir="checkpoints", exact_resume="weights_only")),
         ("log_lr", _want(log_naming="slash", lr_value="base")),
         ("held_out", _want(log_naming="slash", holdout_rows="tail", holdout_size="rows100")),
         ("anneal", _want(config_style="flat", anneal_shape="linear", log_naming="underscore")),
         ("log_grad_norm", _want(log_naming="slash", step_agg="last"))]


@pytest.mark.parametrize(("kind", "want"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_the_reference_passes_and_each_alternative_fails_where_its_clue_decides(kind: str, want: dict[str, str]) -> None:
    files = _project(want, kind=kind)
    ref = _judge(kind, want, {**files, "train.py": intent.implementation(kind, want, want)})
    assert ref["explicit"] and all(ref["implied"].values()) and ref["off_unchanged"], ref
    assert set(ref["implied"]) == set(CHECKS.AT_STAKE[kind])
    assert CHECKS.value(ref, True) == 1.0 and CHECKS.value(ref, False) == pytest.approx(0.8)
    for dim in CHECKS.AT_STAKE[kind]:
        alt = _judge(kind, want, {**files, "train.py": intent.implementation(
            kind, want, {**want, dim: CHECKS.other(dim, want[dim])})})
        assert alt["explicit"] and not alt["implied"][dim], (dim, alt)
        assert 0.4 <= CHECKS.value(alt, True) < 1.0
    textbook = baselines.textbook_intent(files, kind)
    assert textbook["train.py"] == intent.implementation(kind, want, {**want, **intent.TEXTBOOK[kind]})
    lit = _judge(kind, want, textbook)
    assert lit["explicit"] and not all(lit["implied"].values()), lit
    start = _judge(kind, want, files)  # the project as it came: the request is not done
    assert not start["explicit"] and CHECKS.value(start, True) == 0.0


def test_clues_are_read_from_the_files_and_their_twins_admit_both_options() -> None:
    for want, kind in ((_want(), None),
                       (_want(log_naming="underscore", config_style="flat", judged_metric="val_loss", ckpt_dir="ckpt",
                              test_once="every_epoch", keep_last="keep_all", warmup_decay="from_start",
                              eval_records="eval_only", progress_unit="steps", exact_resume="weights_only",
                              lr_value="base", clip_mode="value", holdout_rows="head", holdout_size="fifth",
                              anneal_shape="linear", step_agg="last"), "warmup")):
        files = _project(want, kind=kind)
        read = intent.clues(files)
        assert all(read[dim] == {want[dim]} for dim in CHECKS.DIMS), read
        for dim in CHECKS.DIMS:
            twin = intent.twin(files, dim)
            assert intent.clues(twin)[dim] == set(CHECKS.DIMS[dim]), dim
            # the twin loses that clue only
            assert all(intent.clues(twin)[d] == {want[d]} for d in CHECKS.DIMS if d != dim), dim


def test_hedged_implementations_are_not_rewarded() -> None:
    want = _want(log_naming="slash", judged_metric="val_acc")
    files = _project(want)
    both_keys = intent.implementation("log_lr", want, want).replace(
        '        record["train/lr"] = lr\n', '        record["train/lr"] = lr\n        record["train_lr"] = lr\n')
    lr = _judge("log_lr", want, {**files, "train.py": both_keys})
    assert lr["explicit"] and lr["implied"] == {"log_naming": False, "lr_value": True}, lr
    every = intent.implementation("report_test", want, want).replace(
        '    final["test/acc"] = evaluate(w, b, splits["test"])[1]\n',
        '    final["test/loss"], final["test/acc"] = evaluate(w, b, splits["test"])\n')
    test = _judge("report_test", want, {**files, "train.py": every})
    assert test["explicit"] and not test["implied"]["judged_metric"] and test["implied"]["log_naming"], test


def test_validation_rejects_instances_that_break_the_rule() -> None:
    want = _want(log_naming="underscore")
    files = _project(want)
    reference = {**files, "train.py": intent.implementation("log_lr", want, want)}
    assert GENERATE.problems(CHECKS, "log_lr", want, files, reference) == []
    # a flat learning rate: the twin's ambiguity is the instance itself (the clue is missing), and
    # the alternative that logs the configured rate is no longer told apart
    flat = _project(want, lr_decay=1.0)
    found = GENERATE.problems(CHECKS, "log_lr", want, flat, {**flat, "train.py": reference["train.py"]})
    assert any("lr_value: the files read as" in p for p in found), found
    assert any("lr_value: the alternative base is not told apart" in p for p in found), found
    # a reference that is not the intended implementation
    wrong = {**files, "train.py": intent.implementation("log_lr", want, {**want, "log_naming": "slash"})}
    assert any("the reference fails" in p for p in GENERATE.problems(CHECKS, "log_lr", want, files, wrong))
    # an intent the textbook meets in full (flat switch, validation loss): nothing to extrapolate
    plain = _want(config_style="flat", judged_metric="val_loss")
    es = _project(plain)
    found = GENERATE.problems(CHECKS, "early_stopping", plain, es,
                              {**es, "train.py": intent.implementation("early_stopping", plain, plain)})
    assert found == ["the textbook implementation passes every implied check"], found
    # an edit that breaks the project's tests
    broken = {**reference, "train.py": reference["train.py"].replace('"val_acc": val_acc}', '"acc": val_acc}', 1)}
    assert any("tests fail" in p for p in GENERATE.problems(CHECKS, "log_lr", want, files, broken))


def test_generated_instances_are_deterministic_and_record_their_clues(tmp_path: Path) -> None:
    first = GENERATE.generate(3, tmp_path / "a", {})
    again = GENERATE.generate(3, tmp_path / "b", {})
    assert first == again
    for rel in ("workspace/train.py", "workspace/NOTES.md", "protected/label.json", "instructions.md"):
        assert (tmp_path / "a" / rel).read_text() == (tmp_path / "b" / rel).read_text(), rel
    label = json.loads((tmp_path / "a" / "protected" / "label.json").read_text())
    assert set(label["clues"]) == set(label["at_stake"]) == set(CHECKS.AT_STAKE[label["kind"]])
    for dim, clue in label["clues"].items():
        assert clue["option"] == label["intent"][dim]
        if clue["where"] == "NOTES.md":
            assert clue["clue"] in (tmp_path / "a" / "workspace" / "NOTES.md").read_text()


def test_the_work_of_a_scoring_call_does_not_depend_on_the_intent() -> None:
    """A hidden score must not leak the intent through what a call runs: the plan's runs and their
    epochs depend on the kind only."""
    base = json.loads(_project(_want())["config.json"])
    oracle_log = [{"epoch": e, "train/loss": 1.0, "val/loss": 1.0 - e / 100, "val/acc": min(0.5, e / 10)}
                  for e in range(30)]
    for kind in CHECKS.KINDS:
        shapes = set()
        for style in ("nested", "flat"):
            for metric in ("val_acc", "val_loss"):
                runs = CHECKS.plan(kind, _want(config_style=style, judged_metric=metric), base, SEED, oracle_log)
                shapes.add(tuple((name, config["epochs"]) for name, config in runs))
        assert len(shapes) == 1, (kind, shapes)


# Other reasonable implementations of the intended option (not the reference's arithmetic): the
# checks of these kinds judge behaviour within tolerances, so each must pass every implied check.
# Each variant: the intent and its edits (line of the reference -> replacement).
VARIANTS: dict[str, list[tuple[dict[str, str], list[tuple[str, str]]]]] = {
    "warmup": [  # a ramp from zero, full at the warm-up's end, the decay counted from there
        (_want(warmup_decay="after"), [("lr = cfg[\"lr\"] * ((epoch + 1) / (epochs + 1) if epoch < epochs\n",
                                        "lr = cfg[\"lr\"] * (epoch / epochs if epoch < epochs\n")]),
        # full at the warm-up's last epoch, the decay counted from that epoch
        (_want(warmup_decay="after"), [("lr = cfg[\"lr\"] * ((epoch + 1) / (epochs + 1) if epoch < epochs\n"
                                        "                              else cfg[\"lr_decay\"] ** (epoch - epochs))",
                                        "lr = cfg[\"lr\"] * ((epoch + 1) / epochs if epoch < epochs - 1\n"
                                        "                              else cfg[\"lr_decay\"] ** (epoch - epochs + 1))")]),
        # a ramp from zero on the decaying schedule
        (_want(warmup_decay="from_start"), [("lr = lr * (epoch + 1) / epochs", "lr = lr * epoch / epochs")])],
    "eval_every": [  # epochs 0, k, 2k..., the last one not evaluated separately
        (_want(eval_records=records), [("(epoch + 1) % every == 0 or epoch == cfg[\"epochs\"] - 1", "epoch % every == 0")])
        for records in ("every_epoch", "eval_only")],
    "report_best": [  # ties of the best accuracy broken towards the later epoch, the epoch under another name
        (_want(judged_metric="val_acc", log_naming="underscore"),
         [('record["val_acc"] > best["val_acc"]', 'record["val_acc"] >= best["val_acc"]')]),
        (_want(judged_metric="val_loss", log_naming="slash"), [('"best/epoch"', '"best_val/epoch"')])],
    "log_progress": [  # examples counted at the epoch's start; steps counted in the batch loop
        (_want(progress_unit="examples"), [('        seen += len(x_train)\n        record["train/examples"] = seen\n',
                                            '        record["progress/examples"] = seen\n        seen += len(x_train)\n')]),
        (_want(progress_unit="steps", log_naming="underscore"),
         [('        seen += -(-len(x_train) // cfg["batch_size"])\n', ""),
          ("            b -= lr * grad.sum(axis=0)\n", "            b -= lr * grad.sum(axis=0)\n            seen += 1\n")])],
    "best_so_far": [  # another key, the running best kept with a comparison
        (_want(judged_metric="val_loss", log_naming="underscore"),
         [('        best = record["val_loss"] if best is None else min(best, record["val_loss"])\n'
           '        record["val_best_loss"] = best\n',
           '        if best is None or record["val_loss"] < best:\n            best = record["val_loss"]\n'
           '        record["best_val_loss"] = best\n')])],
    "grad_clip": [  # the norm of each parameter clipped apart; torch's clip_grad_norm_ (an epsilon, always scaled)
        (_want(clip_mode="norm"), [("                norm = float(np.sqrt((gw ** 2).sum() + (gb ** 2).sum()))\n"
                                    "                if norm > threshold:\n"
                                    "                    gw, gb = gw * (threshold / norm), gb * (threshold / norm)\n",
                                    "                gw = gw * min(1.0, threshold / float(np.linalg.norm(gw)))\n"
                                    "                gb = gb * min(1.0, threshold / float(np.linalg.norm(gb)))\n")]),
        (_want(clip_mode="norm"), [("                if norm > threshold:\n"
                                    "                    gw, gb = gw * (threshold / norm), gb * (threshold / norm)\n",
                                    "                scale = min(1.0, threshold / (norm + 1e-6))\n"
                                    "                gw, gb = gw * scale, gb * scale\n")]),
        # the weights' gradient clipped by value, the bias's left as it is
        (_want(clip_mode="value"), [("gw, gb = np.clip(gw, -threshold, threshold), np.clip(gb, -threshold, threshold)",
                                     "gw = np.clip(gw, -threshold, threshold)")])],
    "anneal": [  # at zero in the last epoch; the cosine through math and a half-angle identity
        (_want(anneal_shape="linear"), [('(1.0 - epoch / cfg["epochs"])', '(1.0 - epoch / (cfg["epochs"] - 1))')]),
        (_want(anneal_shape="cosine"), [('0.5 * (1.0 + float(np.cos(np.pi * epoch / cfg["epochs"])))',
                                         '__import__("math").cos(__import__("math").pi * epoch / (2 * cfg["epochs"])) ** 2')])],
    "log_grad_norm": [  # the root mean square of the epoch's norms; the weights' gradient only; the norm of
        # the last step kept in a variable (np.linalg.norm over both parameters)
        (_want(step_agg="mean"), [("float(np.mean(norms))", "float(np.sqrt(np.mean(np.square(norms))))")]),
        (_want(step_agg="mean", log_naming="underscore"),
         [(" + (grad.sum(axis=0) ** 2).sum())))", ")))"), ('"train_grad_norm"', '"grad_norm/train"'.replace("/", "_"))]),
        (_want(step_agg="last"),
         [("            norms.append(float(np.sqrt(((xb.T @ grad) ** 2).sum() + (grad.sum(axis=0) ** 2).sum())))\n",
           "            norms = [float(np.linalg.norm(np.concatenate([(xb.T @ grad).ravel(), grad.sum(axis=0)])))]\n")])],
    "held_out": [  # the fifth as a fraction, the split by index arrays; the tail's 100 rows by their positions
        (_want(holdout_rows="head", holdout_size="fifth"),
         [("    n = len(x_all) // 5  # the held-out rows\n", "    n = int(0.2 * len(x_all))\n"),
          ("x_all[:n], y_all[:n], x_all[n:], y_all[n:]",
           "x_all[np.arange(n)], y_all[np.arange(n)], x_all[np.arange(n, len(x_all))], y_all[n:]")]),
        (_want(holdout_rows="tail", holdout_size="rows100"),
         [("x_all[-n:], y_all[-n:], x_all[:-n], y_all[:-n]",
           "x_all[len(x_all) - n:], y_all[len(y_all) - n:], x_all[:len(x_all) - n], y_all[:len(y_all) - n]")])],
}


@pytest.mark.parametrize(("kind", "index"), [(k, i) for k, v in sorted(VARIANTS.items()) for i in range(len(v))])
def test_other_implementations_of_the_intended_option_pass(kind: str, index: int) -> None:
    want, edits = VARIANTS[kind][index]
    files = _project(want, kind=kind)
    text = intent.implementation(kind, want, want)
    for old, new in edits:
        assert text.count(old) == 1, old  # the variant is a real edit of the reference
        text = text.replace(old, new)
    result = _judge(kind, want, {**files, "train.py": text})
    assert result["explicit"] and all(result["implied"].values()) and result["off_unchanged"], result


def test_hedged_counts_and_running_bests_are_not_rewarded() -> None:
    want = _want(log_naming="slash", judged_metric="val_acc", progress_unit="steps")
    files = _project(want)
    both = intent.implementation("best_so_far", want, want).replace(
        '        record["val/best_acc"] = best\n',
        '        record["val/best_acc"] = best\n        record["val/best_loss"] = min(r["val/loss"] for r in seen)\n')
    both = both.replace("    best = None\n", "    best = None\n    seen = []\n").replace(
        '        best = record["val/acc"]', '        seen.append(dict(record))\n        best = record["val/acc"]')
    result = _judge("best_so_far", want, {**files, "train.py": both})
    assert result["explicit"] and result["implied"] == {"log_naming": False, "judged_metric": False}, result
    counts = intent.implementation("log_progress", want, want).replace(
        '        record["train/steps"] = seen\n', '        record["train/steps"] = seen\n'
        '        record["train/examples"] = seen * cfg["batch_size"]\n')
    result = _judge("log_progress", want, {**files, "train.py": counts})
    assert result["explicit"] and result["implied"] == {"log_naming": False, "progress_unit": False}, result


def test_report_best_cuts_the_run_where_the_two_metrics_disagree() -> None:
    """The plan's run length: the longest whose best epochs by accuracy and by loss differ, neither
    being the last (else "the best" and "the last", or the two metrics, would not be told apart)."""
    acc = [0.5, 0.7, 0.6, 0.6, 0.65, 0.6, 0.75, 0.6]
    loss = [0.9, 0.8, 0.7, 0.72, 0.71, 0.69, 0.6, 0.65]
    log = [{"epoch": e, "val/acc": a, "val/loss": x} for e, (a, x) in enumerate(zip(acc, loss, strict=True))]
    assert CHECKS.best_epochs(log) == {"val_acc": {6}, "val_loss": {6}}  # 8 or 7 epochs: one best epoch
    assert CHECKS.best_epochs(log[:6]) == {"val_acc": {1}, "val_loss": {5}}  # 6: the loss's best is the last
    assert CHECKS.best_horizon(log) == 5 and CHECKS.best_epochs(log[:5]) == {"val_acc": {1}, "val_loss": {2}}
    ties = [{"epoch": e, "val_acc": 0.6 if e in (1, 3) else 0.5, "val_loss": 1 - e / 10} for e in range(6)]
    assert CHECKS.best_epochs(ties)["val_acc"] == {1, 3}
    improving = [{"epoch": e, "val/acc": e / 10, "val/loss": 1 - e / 10} for e in range(8)]
    assert CHECKS.best_horizon(improving) == 8  # none: the whole run (the dimension is not told apart)


def test_the_oracle_clips_its_twins_at_the_threshold_the_plan_sets() -> None:
    """The oracle's clipped twins (intent) and the plan's threshold (checks) are one number."""
    threshold = CHECKS.PARAMS["grad_clip"]["threshold"]
    assert threshold == intent.CLIP_THRESHOLD
    assert str(intent.CLIP_THRESHOLD) in intent.implementation("oracle", _want(), _want())


def test_a_held_out_split_carved_in_the_data_module_passes_and_other_evals_do_not() -> None:
    """held_out is judged by the numbers: the split may be carved in data.py (the project's tests
    allow a third split), while a random split, an eval on the test split or on the training rows
    (the project as it came) reproduce none of the oracle's twins."""
    want = _want(log_naming="slash", holdout_rows="tail", holdout_size="fifth")
    files = _project(want, kind="held_out")
    data = files["data.py"].replace(
        '    return {"train": (x[:600], y[:600]), "test": (x[600:], y[600:])}\n',
        '    return {"train": (x[:480], y[:480]), "val": (x[480:600], y[480:600]), "test": (x[600:], y[600:])}\n')
    train = files["train.py"].replace('evaluate(w, b, splits["train"])  # no validation split yet: the training rows',
                                      'evaluate(w, b, splits["val"])')
    in_data = {**files, "data.py": data, "train.py": train}
    assert data != files["data.py"] and train != files["train.py"] and intent.run_tests(in_data)
    base = json.loads(files["config.json"])  # the scorer's oracle runs the project's own data.py
    oracle = GENERATE.oracle_of(CHECKS, "held_out", files, want, base, SEED)
    result = GENERATE.judge_local(CHECKS, "held_out", want, in_data, oracle, base, SEED)
    assert result["explicit"] and all(result["implied"].values()), result
    reference = intent.implementation("held_out", want, want)
    shuffled = reference.replace("    x_val, y_val, x_train, y_train = ",
                                 "    perm = np.random.default_rng(cfg[\"data_seed\"]).permutation(len(x_all))\n"
                                 "    x_all, y_all = x_all[perm], y_all[perm]\n    x_val, y_val, x_train, y_train = ")
    on_test = files["train.py"].replace('evaluate(w, b, splits["train"])  # no validation split yet: the training rows',
                                        'evaluate(w, b, splits["test"])')
    for text in (shuffled, on_test):
        assert text != files["train.py"]
        result = _judge("held_out", want, {**files, "train.py": text})
        assert not result["explicit"] and CHECKS.value(result, True) == 0.0, result


def test_every_dimension_has_its_metric_and_its_ask_topics() -> None:
    """A dimension added to the checks must be counted by metrics.py (else its instances would fail
    there) and must have keywords the ask service matches questions by."""
    from rdbench.tasklib.assist import intent_ask

    metrics = load_module(TASK / "metrics.py")
    assert tuple(metrics.DIMS) == tuple(CHECKS.DIMS)
    assert all(intent_ask.KEYWORDS.get(dim) for dim in CHECKS.DIMS)
    asking = load_module(TASK / "protected" / "asking.py")
    topics = intent_ask.topics(list(CHECKS.DIMS))
    for question, dim in (("Which rows go into the held-out split: the head or the tail?", "holdout_rows"),
                          ("How big should the held-out split be?", "holdout_size"),
                          ("Cosine or linear annealing?", "anneal_shape"),
                          ("Should the logged gradient norm be the epoch's average?", "step_agg"),
                          ("Clip by the norm or by value?", "clip_mode"),
                          ("Should I keep the last checkpoint only?", "keep_last"),
                          ("Should the resumed run replay the batch order exactly?", "exact_resume")):
        assert asking.match(question, topics) == [dim], question


def test_a_hedged_gradient_norm_is_not_rewarded() -> None:
    want = _want(log_naming="slash", step_agg="mean")
    files = _project(want)
    both = intent.implementation("log_grad_norm", want, want).replace(
        '        record["train/grad_norm"] = float(np.mean(norms))\n',
        '        record["train/grad_norm"] = float(np.mean(norms))\n        record["train/grad_norm_last"] = norms[-1]\n')
    result = _judge("log_grad_norm", want, {**files, "train.py": both})
    assert result["explicit"] and result["implied"] == {"log_naming": False, "step_agg": False}, result
