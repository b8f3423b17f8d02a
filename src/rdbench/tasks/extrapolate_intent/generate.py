"""extrapolate_intent instance generator: a small project, a terse request, the clues that make one
implementation the intended one, the reference implementation and the oracle.

Validation (every instance): every dimension at stake reads, from the project's files alone, as the
intended option (``intent.clues``), and its twin without the clue (``intent.twin``) admits both
options; the project's tests pass before and after the reference; on the validation seed the
reference passes every check (explicit, each implied, no regression), the literal textbook
implementation fails at least one implied check, and each alternative that differs from the
reference in one dimension only still does the explicit thing but fails that dimension's check (the
clue decides it). A draw that fails is recorded and redrawn.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

from rdbench.tasklib.assist import intent, intent_ask

HERE = Path(__file__).parent
VALIDATION_SEED = 0
PROTECTED = ("logger.py", "tests/test_project.py")


def load_checks(name: str = "checks") -> ModuleType:
    """protected/checks.py, the scorer's own checks (or another module of protected/, by name)."""
    spec = importlib.util.spec_from_file_location(f"extrapolate_intent_{name}_gen", HERE / "protected" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def judge_local(checks: ModuleType, kind: str, want: dict[str, str], files: dict[str, str],
                oracle: dict[str, Any], base: dict[str, Any], seed: int) -> dict[str, Any]:
    """The checks of ``files`` on ``seed`` (subprocess runs: the generator's runner)."""
    runs = checks.plan(kind, want, base, seed, oracle["log"])
    params = {"lr": base["lr"], "lr_decay": base["lr_decay"], "patience": checks.patience_for(oracle["log"], want)}
    result: dict[str, Any] = checks.judge(kind, want, intent.run_local(files, runs), oracle, params)
    return result


def oracle_of(checks: ModuleType, kind: str, files: dict[str, str], want: dict[str, str],
              base: dict[str, Any], seed: int) -> dict[str, Any]:
    """The oracle's outputs on ``seed``."""
    oracle_files = {**files, "train.py": intent.implementation("oracle", want, want, kind in intent.LR_LOGGED, kind)}
    out: dict[str, Any] = intent.run_local(oracle_files, checks.oracle_runs(kind, base, seed))["oracle"]
    return out


def problems(checks: ModuleType, kind: str, want: dict[str, str], files: dict[str, str],
             reference: dict[str, str]) -> list[str]:
    """Why the instance breaks the family's rule (empty when it holds); see the module docstring."""
    found: list[str] = []
    read = intent.clues(files)
    for dim in checks.AT_STAKE[kind]:
        if read[dim] != {want[dim]}:
            found.append(f"{dim}: the files read as {sorted(read[dim])}, intended {want[dim]}")
        if len(intent.clues(intent.twin(files, dim))[dim]) < 2:
            found.append(f"{dim}: the twin without the clue still admits one option only")
    if not intent.run_tests(files) or not intent.run_tests(reference):
        found.append("the project's tests fail (before or after the reference)")
    base = json.loads(files["config.json"])
    oracle = oracle_of(checks, kind, files, want, base, VALIDATION_SEED)
    ref = judge_local(checks, kind, want, reference, oracle, base, VALIDATION_SEED)
    if checks.value(ref, True) != 1.0 or not ref["off_unchanged"]:
        found.append(f"the reference fails: {ref}")
    textbook = {**files, "train.py": intent.implementation(kind, want, {**want, **intent.TEXTBOOK[kind]})}
    lit = judge_local(checks, kind, want, textbook, oracle, base, VALIDATION_SEED)
    if all(lit["implied"].values()):
        found.append("the textbook implementation passes every implied check")
    for dim in checks.AT_STAKE[kind]:
        alt_options = {**want, dim: checks.other(dim, want[dim])}
        alt = judge_local(checks, kind, want, {**files, "train.py": intent.implementation(kind, want, alt_options)},
                          oracle, base, VALIDATION_SEED)
        if not alt["explicit"] or alt["implied"][dim]:
            found.append(f"{dim}: the alternative {alt_options[dim]} is not told apart by its check ({alt})")
    return found


def draw(rng: random.Random, checks: ModuleType) -> tuple[str, dict[str, str]]:
    """A request kind and the project's intended option in every dimension."""
    kind = rng.choice(checks.KINDS)
    want = {"log_naming": rng.choice(["slash", "underscore"]), "config_style": rng.choice(["nested", "flat"]),
            "judged_metric": rng.choice(["val_acc", "val_loss"]), "ckpt_dir": rng.choice(["checkpoints", "ckpt"]),
            "exact_resume": rng.choice(["exact", "weights_only"]), "lr_value": rng.choice(["scheduled", "base"]),
            "test_once": rng.choice(["end_only", "every_epoch"]), "keep_last": rng.choice(["keep_last", "keep_all"])}
    want.update(warmup_decay=rng.choice(["after", "from_start"]), eval_records=rng.choice(["every_epoch", "eval_only"]),
                progress_unit=rng.choice(["examples", "steps"]), clip_mode=rng.choice(["norm", "value"]))
    want.update(holdout_rows=rng.choice(["tail", "head"]), holdout_size=rng.choice(["rows100", "fifth"]),
                anneal_shape=rng.choice(["cosine", "linear"]), step_agg=rng.choice(["mean", "last"]))
    return kind, want


def build(seed: int) -> dict[str, Any]:
    """Draws one instance and validates it (see the module docstring); redraws what fails."""
    checks = load_checks()
    rng = random.Random(seed)
    rejected: list[str] = []
    for _ in range(20):
        kind, want = draw(rng, checks)
        if all(want.get(d) == o for d, o in intent.TEXTBOOK[kind].items()):
            rejected.append(f"{kind}: the intent is the textbook's")
            continue
        lr_decay = rng.choice([0.8, 0.85, 0.9])
        files = intent.project(want, {d: want[d] for d in intent.NOTE_DIMS}, lr_decay, rng,
                               lr_logged=kind in intent.LR_LOGGED, kind=kind)
        reference = {**files, "train.py": intent.implementation(kind, want, want)}
        if kind in checks.SWITCHED:  # the reference writes the new option into the config, switched off
            config = json.loads(files["config.json"])
            config.update(checks.switch(kind, want["config_style"], False, checks.PARAMS[kind]))
            reference["config.json"] = json.dumps(config, indent=1) + "\n"
        why = problems(checks, kind, want, files, reference)
        if why:
            rejected.append(f"{kind}: {why[0]}")
            continue
        return {"kind": kind, "intent": want, "files": files, "reference": reference, "rejected": rejected}
    raise RuntimeError(f"seed {seed}: no valid instance in 20 draws: {rejected[-5:]}")


CLUE_WHERE = {"config_style": "config.json (how the optional `augment` feature is switched)",
              "log_naming": "train.py (the metric keys of the epoch record)",
              "lr_value": "config.json (`lr_decay` below 1: the rate changes every epoch)"}


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance under ``out`` (workspace/, protected/, reference/, instructions.md)."""
    checks = load_checks()
    inst = build(seed)
    kind, want, files = inst["kind"], inst["intent"], inst["files"]
    for sub in ("workspace", "protected/oracle", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (out / "workspace" / path).parent.mkdir(parents=True, exist_ok=True)
        (out / "workspace" / path).write_text(text)
    for path in ("train.py", "config.json"):
        if inst["reference"][path] != files[path]:
            (out / "reference" / path).write_text(inst["reference"][path])
    oracle = {"train.py": intent.implementation("oracle", want, want, kind in intent.LR_LOGGED, kind),
              "data.py": files["data.py"],
              "logger.py": files["logger.py"]}
    for path, text in oracle.items():
        (out / "protected" / "oracle" / path).write_text(text)
    shutil.copy2(HERE / "protected" / "checks.py", out / "protected" / "checks.py")  # complete on its own
    clues = {dim: {"option": want[dim],
                   "where": CLUE_WHERE.get(dim, "NOTES.md"),
                   "clue": intent.NOTES[dim][want[dim]] if dim in intent.NOTES else CLUE_WHERE[dim]}
             for dim in checks.AT_STAKE[kind]}
    if "lr_value" in clues and want["lr_value"] == "base":  # the note overrides the schedule
        clues["lr_value"].update(where="NOTES.md", clue=intent.BASE_RATE_NOTE)
    label = {"kind": kind, "intent": want, "at_stake": list(checks.AT_STAKE[kind]), "clues": clues,
             "base_config": json.loads(files["config.json"]),
             "protected_sha256": {p: hashlib.sha256(files[p].encode()).hexdigest() for p in PROTECTED},
             "rejected": inst["rejected"]}
    (out / "protected" / "label.json").write_text(json.dumps(label, indent=1))
    (out / "instructions.md").write_text(f"\n## Your request\n\nThe researcher asks: {intent.REQUESTS[kind]}.\n")
    if params.get("ask"):
        add_asking(seed, out, params, label, {**files, **{p: inst["reference"][p] for p in ("train.py", "config.json")}})
    return {"kind": kind, "at_stake": {d: want[d] for d in checks.AT_STAKE[kind]}, "rejected": inst["rejected"]}


def add_asking(seed: int, out: Path, params: dict[str, Any], label: dict[str, Any], reference: dict[str, str]) -> None:
    """The ask variant's additions (only where the scale's params say ``ask``; the instance is the same):
    the service's key, topics and answers (``protected/ask.json``), ``submit_project.py`` in the
    workspace, the reference's receipt (no question asked) and the instructions for asking."""
    asking, checks = load_checks("asking"), load_checks()
    key = f"{random.Random(seed ^ 0xA5C0DE).getrandbits(128):032x}"
    setup = intent_ask.setup(key, list(checks.DIMS), label["at_stake"], label["intent"])
    (out / "protected" / "ask.json").write_text(json.dumps(setup, indent=1))
    (out / "workspace" / "submit_project.py").write_text(intent_ask.HELPER)
    project = {path: text.encode() for path, text in {**reference, "submit_project.py": intent_ask.HELPER}.items()}
    (out / "reference" / asking.RECEIPT_FILE).write_text(asking.sign(key, 0, asking.digest_of(project)) + "\n")
    with open(out / "instructions.md", "a") as handle:
        handle.write(intent_ask.instructions(list(checks.DIMS), int(params.get("ask_questions", 5)),
                                             float(params.get("ask_cost", 0.1))))
