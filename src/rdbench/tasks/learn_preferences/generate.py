"""learn_preferences instance generator: a repository of runs and past deliverables, a hidden profile
of six preferences, ten requests, the researcher's session file, and a reference of signed perfect
turns. Every instance is validated: the writer's output reads back as the style it was written in,
inferable preferences are followed by every past file and the others by some but not all, every
pointer names a file that follows its preference, and every preference applies in at least three
turns."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

from rdbench.tasklib.assist import preferences

HERE = Path(__file__).parent
PROFILE_SIZE = 6


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"learn_preferences_{name}_gen", HERE / "protected" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def full_style(profile: dict[str, str]) -> dict[str, str]:
    """A style that follows ``profile`` and, elsewhere, the stateless defaults (files never overwritten)."""
    return {**preferences.DEFAULT_STYLE, "no_overwrite": "never", **profile}


def repository(rng: random.Random, runs: dict[str, Any], profile: dict[str, str], inferable: set[str],
               prefs: ModuleType) -> tuple[dict[str, str], dict[str, str], list[str], list[dict[str, Any]]]:
    """The past deliverables' files, the pointer for each profile dimension, why the repository is
    unusable (empty when it is usable), and each past deliverable's request and paths."""
    files: dict[str, str] = {}
    past: list[dict[str, Any]] = []
    followed: dict[str, list[tuple[str, str | None]]] = {dim: [] for dim in profile}
    problems = []
    for index, item in enumerate(preferences.examples(rng, runs, profile, inferable, prefs.DIMS)):
        rendered = preferences.render(item["request"], item["style"], runs, 0)
        renamed = {preferences.past_path(path, index): text for path, text in rendered.items()}
        for path in list(renamed):
            if path.endswith(".json") and '"yscale"' in renamed[path]:  # the spec names its figure
                spec = json.loads(renamed[path])
                spec["out"] = path[: -len(".json")]
                renamed[path] = json.dumps(spec, indent=1) + "\n"
        result = prefs.evaluate(item["request"], renamed, {"runs": runs, "files": []}, set())
        for dim, option in item["style"].items():
            if dim in result["follows"] and dim != "no_overwrite" and result["follows"][dim] != option:
                problems.append(f"past file {sorted(renamed)[0]} reads as {dim}={result['follows'][dim]}, "
                                f"written as {option}")
        for dim in profile:
            if dim in result["follows"]:
                followed[dim].append((result["path"] or sorted(renamed)[0], result["follows"][dim]))
        files.update(renamed)
        past.append({"request": item["request"], "paths": sorted(renamed)})
    pointers = {}
    for dim, option in profile.items():
        seen = followed[dim]
        agreeing = [path for path, got in seen if got == option]
        if agreeing:
            pointers[dim] = agreeing[0]
        if dim in inferable and len(agreeing) != len(seen):
            problems.append(f"inferable {dim} is not followed by every past file")
        if dim not in inferable and dim != "no_overwrite" and seen and (not agreeing or len(agreeing) == len(seen)):
            problems.append(f"{dim} should be ambiguous in the repository: followed by some past files, not all")
    return files, pointers, problems, past


def build(seed: int) -> dict[str, Any]:
    """Draws one session and checks it (see the module docstring); redraws what fails."""
    prefs = _load("prefs")
    rng = random.Random(seed)
    rejected: list[str] = []
    for _ in range(30):
        runs = preferences.runs_data(rng)
        dims = sorted(prefs.DIMS)
        profile = {dim: rng.choice(prefs.DIMS[dim]["options"]) for dim in rng.sample(dims, PROFILE_SIZE)}
        shown = [d for d in profile if d != "no_overwrite"]
        inferable = set(rng.sample(shown, len(shown) // 2))
        modes = {dim: "explicit" if dim == "no_overwrite" else rng.choice(["explicit", "pointer"]) for dim in profile}
        kinds_of = {dim: prefs.DIMS[dim]["kinds"] for dim in profile}
        turns = preferences.requests(rng, runs, profile, 10, kinds_of)
        files, pointers, more, past = repository(rng, runs, profile, inferable, prefs)
        problems = more + [f"no past file shows {dim}={profile[dim]} to point to" for dim in profile
                           if modes[dim] == "pointer" and dim not in pointers]
        data = {"runs": {n: {k: r[k] for k in ("mean", "std", "minutes")} for n, r in runs.items()},
                "files": sorted(files) + ["README.md", "submit.py", "tools/plot.py", "answer.json"]
                + [f"runs/{n}/metrics.json" for n in runs]}
        perfect = [preferences.render(t, full_style(profile), runs, k + 1) for k, t in enumerate(turns)]
        judged = prefs.replay(perfect, turns, profile, modes, pointers, data)
        problems += [f"the perfect turn {j['turn']} scores {j['value']:.3f}" for j in judged if j["value"] < 1.0]
        # a preference must be at stake in at least three turns (it applies, and the turn can show it)
        problems += [f"{dim} is at stake in fewer than 3 turns" for dim in profile
                     if sum(dim in j["follows"] for j in judged) < 3]
        if not problems:
            return {"runs": runs, "profile": profile, "inferable": sorted(inferable), "modes": modes, "turns": turns,
                    "files": files, "pointers": pointers, "data": data, "perfect": perfect, "past": past,
                    "rejected": rejected}
        rejected.extend(problems[:3])
    raise RuntimeError(f"seed {seed}: no valid session in 30 draws: {rejected[-5:]}")


README = """# Sweep repository

- `runs/<run>/metrics.json`: recorded runs (`baseline` and the sweep `r01`..`r10`): config, the
  validation loss of each of three seeds (nats), training minutes, the validation curve.
- `results/`, `reports/`: tables and notes from earlier work; `configs/`: run configs;
  `figures/`: figures (`tools/plot.py` writes FIGURE and its spec FIGURE.json).
- `submit.py FILE ...`: send a turn's deliverable to the researcher (`researcher --submit`) and keep
  the signed receipt in answer.json.
"""


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance under ``out`` (workspace/, protected/, reference/)."""
    inst = build(seed)
    service = _load("researcher_service")
    prefs = _load("prefs")
    key = f"{random.Random(seed ^ 0xC0FFEE).getrandbits(128):032x}"
    ws = out / "workspace"
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for name, run in inst["runs"].items():
        (ws / "runs" / name).mkdir(parents=True, exist_ok=True)
        record = {"model": run["model"], "width": run["width"], "lr": run["lr"],
                  "seeds": [{"seed": i, "val_loss": v} for i, v in enumerate(run["seeds"])],
                  "train_minutes": run["minutes"], "curve": run["curve"]}
        (ws / "runs" / name / "metrics.json").write_text(json.dumps(record, indent=1) + "\n")
    for path, text in inst["files"].items():
        (ws / path).parent.mkdir(parents=True, exist_ok=True)
        (ws / path).write_text(text)
    (ws / "README.md").write_text(README)
    (ws / "answer.json").write_text(json.dumps({"answered": False, "turns": []}) + "\n")
    texts = [preferences.request_text(t) for t in inst["turns"]]
    session = {"key": key, "profile": inst["profile"], "modes": inst["modes"], "pointers": inst["pointers"],
               "inferable": inst["inferable"], "turns": inst["turns"], "request_texts": texts, "data": inst["data"],
               "past": inst["past"]}
    (out / "protected" / "session.json").write_text(json.dumps(session, indent=1))
    for module in ("prefs.py", "researcher_service.py"):  # the folder is complete on its own (benchmarks)
        shutil.copy2(HERE / "protected" / module, out / "protected" / module)
    turns = [{"receipt": service.sign(key, k, prefs.digest({"files": files})), "files": files}
             for k, files in enumerate(inst["perfect"], start=1)]
    (out / "reference" / "answer.json").write_text(json.dumps({"turns": turns}, indent=1) + "\n")
    return {"profile": inst["profile"], "inferable": inst["inferable"], "modes": inst["modes"],
            "kinds": [t["kind"] for t in inst["turns"]], "rejected": inst["rejected"]}
