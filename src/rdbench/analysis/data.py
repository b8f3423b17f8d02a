"""Runs for analysis, read from Inspect logs, a CSV of score-log entries, or METR's RE-Bench data.

Every source becomes a list of :class:`Run`: its agent, task, length, and its score log as
normalised values over working time.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rdbench.scoring.normalise import normalise, transform_value
from rdbench.scoring.runs import INFO_FILE, as_record, read_run
from rdbench.task.spec import LogOffset

HUMAN_METR_LENGTH_S = 8 * 3600.0


class AnalysisInputError(ValueError):
    """Unreadable or inconsistent input; the message names the file and row."""


class Point(BaseModel):
    """One score-log entry: working time and normalised score (None = invalid)."""

    elapsed_s: float
    score: float | None


class Run(BaseModel):
    """One run of one agent on one task."""

    run_id: str
    agent: str
    task: str
    length_s: float = Field(description="the run's time budget (or its working time if longer)")
    aggregation: str = "best"
    points: list[Point] = Field(default_factory=list)
    final_only: bool = Field(default=False, description="only a final score is known (no time series)")
    cost_usd: float | None = None
    task_model_cost_usd: float | None = Field(
        default=None, description="the task's own models (e.g. a code model), apart from the agent's cost"
    )
    tokens: float | None = None
    score_calls: int = 0
    noise: float | None = Field(default=None, description="calibration noise in normalised units")
    source: str = ""
    invalid: bool = Field(default=False, description="failed its integrity check: scores as 0")
    scorer_errors: int = Field(default=0, description="entries where the scorer failed (not the agent's fault)")
    rdbench_run_id: str | None = Field(default=None, description="the harness's run id (run folder)")
    slot: str | None = Field(default=None, description="which run of a plan (attempts of one count once)")
    status: str = Field(default="finished", description="finished, or a run folder's killed/ended/running")
    started: float | None = Field(default=None, description="unix time the run started (run folders)")

    def is_human(self, human_agents: Iterable[str] = ()) -> bool:
        return self.agent == "human" or self.agent.startswith("human:") or self.agent in set(human_agents)


Progress = Callable[[str], None]


def _say(message: str) -> None:
    print(f"rdbench report: {message}", file=sys.stderr, flush=True)


def load_inputs(paths: list[Path], calibrations: Path | None = None, progress: Progress = _say) -> list[Run]:
    """Read every input: Inspect logs (files or folders), CSV files, METR ``.jsonl`` files, and run
    folders (``run.json`` + ``score_log.jsonl``, e.g. ``~/.cache/rdbench/runs``: runs whose process was
    killed before Inspect wrote their log). A run found both in a log and in its folder counts once,
    from the log."""
    cal = read_calibration_csv(calibrations) if calibrations else {}
    runs: list[Run] = []
    folder_runs: list[Run] = []
    for path in paths:
        if not path.exists():
            raise AnalysisInputError(f"{path}: no such file or folder")
        if path.is_dir():
            # a shared folder of `rdbench run --slurm`: its Inspect logs and run folders, not its plans,
            # calibrations and job files
            shared = (path / "plans").is_dir()
            roots = [path / "logs", path / "runs"] if shared else [path]
            files = sorted(p for root in roots if root.is_dir() for p in root.rglob("*")
                           if p.suffix in (".eval", ".json") and p.is_file())
            infos = [f for f in files if f.name == INFO_FILE]
            files = [f for f in files if f.name != INFO_FILE]
            progress(f"{path}: {len(files)} log files, {len(infos)} run folders")
            for i, file in enumerate(files):
                if i and i % 50 == 0:
                    progress(f"  read {i}/{len(files)} logs")
                try:
                    runs += read_inspect_log(file)
                except AnalysisInputError as error:
                    if not shared:
                        raise
                    # a job still writing its log, or killed while it did: its runs are read from
                    # their run folders, which hold every entry
                    progress(f"  skipped {file.name} (not readable now: a job's log in progress?): {error}")
            folder_runs += [r for r in (read_run_folder(f.parent) for f in infos) if r is not None]
        elif path.suffix == ".csv":
            runs += read_entries_csv(path, cal)
        elif path.suffix == ".jsonl":
            runs += read_metr_jsonl(path)
        elif path.suffix in (".eval", ".json"):
            runs += read_inspect_log(path)
        else:
            raise AnalysisInputError(f"{path}: unknown input type (want .eval/.json logs, .csv or .jsonl)")
    logged = {r.rdbench_run_id for r in runs if r.rdbench_run_id}
    runs += [r for r in folder_runs if r.rdbench_run_id not in logged]
    runs, superseded = one_run_per_slot(runs)
    if superseded:
        progress(f"{len(superseded)} earlier attempts of runs that were run again (killed jobs, "
                 "resumed) left out: each run counts once")
    progress(f"{len(runs)} runs")
    return runs


def one_run_per_slot(runs: list[Run]) -> tuple[list[Run], list[Run]]:
    """One run per slot (a run of a plan, e.g. ``rdbench run --slurm``), and the attempts left out.

    A slot's finished run counts (the first to start, should two have finished); a slot with none
    counts its latest attempt, as it ended (a killed run ends at its last score entry). Runs without
    a slot are all kept.
    """
    kept: list[Run] = []
    by_slot: dict[str, list[Run]] = {}
    for run in runs:
        if run.slot is None:
            kept.append(run)
        else:
            by_slot.setdefault(run.slot, []).append(run)
    left_out: list[Run] = []
    for attempts in by_slot.values():
        finished = sorted((r for r in attempts if r.status == "finished"), key=lambda r: r.started or 0.0)
        chosen = finished[0] if finished else max(attempts, key=lambda r: r.started or 0.0)
        kept.append(chosen)
        left_out += [r for r in attempts if r is not chosen]
    return kept, left_out


def read_run_folder(folder: Path) -> Run | None:
    """A run from its folder (``run.json``, ``score_log.jsonl``); None for an unreadable one."""
    view = read_run(folder)
    if view is None:
        return None
    record = as_record(view)
    return _run_from_record(record, f"{folder.name} ({view.status})", str(folder))


def read_inspect_log(path: Path) -> list[Run]:
    """Runs from an Inspect log written by rdbench (score ``rdbench``, metadata ``rdbench``)."""
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as error:
        raise AnalysisInputError(f"{path}: not a readable Inspect log ({error})") from error
    runs = []
    for index, sample in enumerate(log.samples or []):
        score = (sample.scores or {}).get("rdbench")
        if score is None or not score.metadata or "rdbench" not in score.metadata:
            continue
        record: dict[str, Any] = score.metadata["rdbench"]
        try:
            runs.append(_run_from_record(record, f"{path.name}#{index}:{sample.id}:{sample.epoch}",
                                         str(path)))
        except (KeyError, TypeError, ValueError) as error:
            raise AnalysisInputError(f"{path}: sample {sample.id}: malformed rdbench record ({error})") from error
    return runs


def _transform(raw: Any) -> Any:
    return LogOffset(**raw) if isinstance(raw, dict) else raw


def task_label(record: dict[str, Any]) -> str:
    """The task as analysis groups it: its name, ``@scale`` off the mini scale, and the task's model
    bindings (``[codemodel=...]``): runs on different scales or code models are different benchmarks
    (each normalised with its own calibration) and are never pooled."""
    label = str(record["task"])
    scale = record.get("scale")
    if scale and scale != "mini":
        label += f"@{scale}"
    models = record.get("task_models") or {}
    if models:
        label += "[" + ",".join(f"{role}={usage.get('model', '?')}" for role, usage in sorted(models.items())) + "]"
    return label


def _run_from_record(record: dict[str, Any], run_id: str, source: str) -> Run:
    cal = record.get("calibration")
    transform = _transform(record.get("transform", "none"))
    points = []
    for entry in record.get("score_log", []):
        value = entry.get("value")
        norm = None
        if cal is not None and value is not None:
            norm = normalise(value, cal["starting"], cal["reference"], transform)
        points.append(Point(elapsed_s=float(entry["elapsed_s"]), score=norm))
    integrity = record.get("integrity") or {}
    invalid = integrity.get("ok") is False
    if invalid:
        points = [Point(elapsed_s=p.elapsed_s, score=None) for p in points]
    noise = None
    if cal is not None and cal.get("noise") is not None:
        span = abs(transform_value(cal["reference"], transform) - transform_value(cal["starting"], transform))
        noise = cal["noise"] / span if span else None
    return Run(
        run_id=run_id,
        agent=str(record["agent"]),
        task=task_label(record),
        length_s=max(float(record["time_budget_s"]), 0.0),
        aggregation=str(record.get("aggregation", "best")),
        points=points,
        cost_usd=record.get("cost_usd"),
        task_model_cost_usd=record.get("task_model_cost_usd"),
        tokens=record.get("tokens"),
        score_calls=sum(1 for e in record.get("score_log", []) if e.get("source") in ("agent", "human")),
        noise=noise,
        source=source,
        invalid=invalid,
        scorer_errors=sum(1 for e in record.get("score_log", []) if e.get("kind") == "scorer_error"),
        rdbench_run_id=record.get("run_id"),
        slot=record.get("slot"),
        status=str(record.get("status") or "finished"),
        started=record.get("started"),
    )


def read_calibration_csv(path: Path) -> dict[str, dict[str, Any]]:
    """``task, direction, transform, starting, reference[, aggregation]`` per task."""
    out: dict[str, dict[str, Any]] = {}
    with _open_csv(path) as rows:
        for line, row in rows:
            try:
                transform: Any = row["transform"].strip() or "none"
                if transform.startswith("log_offset:"):
                    transform = LogOffset(log_offset=float(transform.split(":", 1)[1]))
                elif transform not in ("none", "log"):
                    raise ValueError(f"transform {transform!r} (want none, log or log_offset:C)")
                if row["direction"] not in ("lower", "higher"):
                    raise ValueError(f"direction {row['direction']!r} (want lower or higher)")
                aggregation = (row.get("aggregation") or "best").strip()
                if aggregation not in ("best", "final"):
                    raise ValueError(f"aggregation {aggregation!r} (want best or final)")
                out[row["task"]] = {"transform": transform, "direction": row["direction"],
                                    "starting": float(row["starting"]), "reference": float(row["reference"]),
                                    "aggregation": aggregation}
            except (KeyError, ValueError) as error:
                raise AnalysisInputError(f"{path}: row {line}: {error}") from None
    return out


def read_entries_csv(path: Path, calibrations: dict[str, dict[str, Any]]) -> list[Run]:
    """A CSV of score-log entries: ``run_id, agent, task, elapsed_s, score[, cost_usd][, length_s]``.

    Raw scores are normalised with the task's calibration; without one, ``score`` is taken as
    already normalised.
    """
    grouped: dict[str, Run] = {}
    with _open_csv(path) as rows:
        for line, row in rows:
            try:
                run_id, task, agent = row["run_id"], row["task"], row["agent"]
                elapsed = float(row["elapsed_s"])
                text = (row.get("score") or "").strip()
                raw = float(text) if text and text.lower() != "nan" else None
                length_text = (row.get("length_s") or "").strip()
                length = float(length_text) if length_text else elapsed
                cost_text = (row.get("cost_usd") or "").strip()
                cost = float(cost_text) if cost_text else None
            except KeyError as error:
                raise AnalysisInputError(f"{path}: row {line}: missing column {error}") from None
            except ValueError as error:
                raise AnalysisInputError(f"{path}: row {line}: {error}") from None
            cal = calibrations.get(task)
            score = raw
            if cal is not None:
                score = normalise(raw, cal["starting"], cal["reference"], cal["transform"])
            run = grouped.get(run_id)
            if run is None:
                run = grouped[run_id] = Run(
                    run_id=run_id, agent=agent, task=task, length_s=0.0,
                    aggregation=cal["aggregation"] if cal else "best", source=str(path),
                )
            elif run.agent != agent or run.task != task:
                raise AnalysisInputError(
                    f"{path}: row {line}: run {run_id} changes agent or task "
                    f"({run.agent}/{run.task} -> {agent}/{task})"
                )
            run.points.append(Point(elapsed_s=elapsed, score=score))
            run.score_calls += 1
            run.length_s = max(run.length_s, length)
            if cost is not None:
                run.cost_usd = cost
    for run in grouped.values():
        run.points.sort(key=lambda p: p.elapsed_s)
    return list(grouped.values())


def read_metr_jsonl(path: Path) -> list[Run]:
    """METR's published per-run data: one normalised final score per run; humans have time_limit 0."""
    runs = []
    with path.open() as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
                family = str(row["task_family"]).removeprefix("ai_rd_")
                human = row["alias"] == "human"
                length = HUMAN_METR_LENGTH_S if human else float(row["time_limit"])
                score = row["score"]
                score = None if score is None or (isinstance(score, float) and math.isnan(score)) else float(score)
            except (KeyError, ValueError, TypeError) as error:
                raise AnalysisInputError(f"{path}: line {line}: {error}") from None
            runs.append(Run(
                run_id=str(row["run_id"]), agent="human" if human else str(row["alias"]), task=family,
                length_s=length, aggregation="final", final_only=True,
                points=[Point(elapsed_s=length, score=score)],
                cost_usd=row.get("dollar_equivalent"), tokens=row.get("total_tokens"), source=str(path),
            ))
    return runs


class _open_csv:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Iterable[tuple[int, dict[str, str]]]:
        try:
            self.handle = self.path.open(newline="")
        except OSError as error:
            raise AnalysisInputError(f"{self.path}: cannot read ({error})") from None
        reader = csv.DictReader(self.handle)
        return ((i + 2, {k.strip(): (v or "") for k, v in row.items() if k}) for i, row in enumerate(reader))

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
