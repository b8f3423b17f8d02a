"""The ``rdbench`` Inspect scorer: the run's score from its score log, normalised, with its record."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    mean,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

from rdbench.harness.context import RUN_ID_KEY, RunContext, current_run, model_name, release
from rdbench.scoring.calibration import load_calibration
from rdbench.scoring.cost import recorded_cost, usage_cost
from rdbench.scoring.identity import display_name
from rdbench.scoring.integrity import compare, hash_files
from rdbench.scoring.machine import machine_record
from rdbench.scoring.models import ModelGateway
from rdbench.scoring.normalise import aggregate, normalise
from rdbench.scoring.provenance import provenance
from rdbench.scoring.record import RECORD_KEY, IntegrityReport, RunRecord


async def final_record(run: RunContext, state: TaskState | None = None) -> RunRecord:
    """Finish a run: final scoring where needed, integrity, aggregation, normalisation."""
    spec = run.task.spec
    scoring = spec.scoring
    if run.hooks is not None:
        # a METR family: its own final scoring (aggregate_scores, or score on the submission)
        chosen = await run.hooks.final(run, state)
        entries = run.score_log.entries
        integrity = IntegrityReport()
        calibration = run.hooks.calibration(run)
    else:
        agent_entries = [e for e in run.score_log.entries if e.source != "final"]
        if scoring.aggregation == "final" or not agent_entries:
            await run.score(source="final")
        entries = run.score_log.entries
        async with run.sandbox.workspace_snapshot() as workspace:
            after = hash_files(workspace, scoring.protected_files)
        integrity = compare(run.integrity_before, after)
        chosen = aggregate(entries, scoring.direction, scoring.aggregation)
        calibration = load_calibration(run.task.name, run.scale, run.model_binding, version=spec.version)
    raw = chosen.value if chosen is not None else None
    normalised = None
    if integrity.ok and calibration is not None:
        normalised = normalise(raw, calibration.starting, calibration.reference, scoring.transform)
    if not integrity.ok:
        raw = None
    tokens = state.token_usage if state is not None else None
    cost = None
    try:
        from inspect_ai.model._model import sample_model_usage

        usage = sample_model_usage()
        cost = recorded_cost(usage) if usage else None
    except Exception:
        cost = None
    agent, options = _agent_that_ran(run)
    return RunRecord(
        run_id=run.run_id,
        slot=None if run.info is None else run.info.slot,
        task=run.task.name,
        task_version=spec.version,
        scale=run.scale,
        instance=run.materialized.instance,
        agent=agent,
        agent_options=options,
        model=None if state is None else model_name(state),
        machine=machine_record(),
        direction=scoring.direction,
        transform=scoring.transform_json(),
        aggregation=scoring.aggregation,
        time_budget_s=run.time_budget_s,
        working_time_s=run.elapsed_s(),
        raw_score=raw,
        normalised_score=normalised,
        chosen_entry=None if chosen is None else chosen.index,
        calibration=calibration,
        score_log=entries,
        integrity=integrity,
        tokens=tokens,
        cost_usd=cost,
        service_usage=dict(run.service_usage),
        task_models={} if run.models is None else run.models.summary(),
        task_model_cost_usd=None if run.models is None else _task_model_cost(run.models),
        provenance=provenance(run.materialized, run.environment),
    )


def _agent_that_ran(run: RunContext) -> tuple[str, dict[str, Any]]:
    """The agent as the task named it, unless Inspect ran another solver in its place (``inspect
    eval --solver``): then that one, by its name (its arguments are in the log's ``eval.solver_args``)."""
    try:
        from inspect_ai._util.registry import registry_unqualified_name
        from inspect_ai.log._samples import sample_active

        active = sample_active()
        ran = None if active is None else active.agent_name
    except Exception:
        return run.agent, run.agent_options
    if ran and run.solver_name and ran != registry_unqualified_name(run.solver_name):
        return _qualified(ran), {}
    return run.agent, run.agent_options


def _qualified(unqualified: str) -> str:
    """The registry name shown for an agent Inspect knows by its unqualified name (rdbench's own
    first, then Inspect's built-ins), as reports show the log's ``eval.solver``."""
    from inspect_ai._util.registry import registry_info, registry_lookup

    for candidate in (f"rdbench/{unqualified}", unqualified):
        for kind in ("agent", "solver"):
            found = registry_lookup(kind, candidate)
            if found is not None:
                return display_name(str(registry_info(found).name))
    return unqualified


def _task_model_cost(models: ModelGateway) -> float | None:
    usage = {tally.model: tally.as_model_usage() for tally in models.usage.values() if tally.calls}
    return usage_cost(usage) if usage else 0.0


@scorer(metrics=[mean(), stderr()], name="rdbench")
def rdbench_scorer() -> Scorer:
    """Score a run: value = normalised score (NaN when undefined), metadata = the RunRecord."""

    async def score(state: TaskState, target: Target) -> Score:
        run = current_run(state.store.get(RUN_ID_KEY))
        try:
            record = await final_record(run, state)
            run.record_end(record.raw_score, record.normalised_score)
        finally:
            release(run)
        value = record.normalised_score
        chosen = next((e for e in record.score_log if e.index == record.chosen_entry), None)
        explanation = "no valid score" if chosen is None else chosen.message
        if not record.integrity.ok:
            explanation = f"INVALID: protected files changed: {', '.join(record.integrity.changed)}"
        elif record.calibration is None and run.hooks is not None:
            explanation += (" (not normalised: give the family a sidecar with its starting and reference "
                            "scores, docs/metr-tasks.md)")
        elif record.calibration is None:
            explanation += f" (not normalised: run `rdbench check {record.task}` to calibrate)"
        return Score(
            value=math.nan if value is None else value,
            answer=None if record.raw_score is None else f"{record.raw_score:.6g}",
            explanation=explanation,
            metadata={RECORD_KEY: record.model_dump(mode="json"),
                      "rdbench_task_root": str(run.task.root)},
        )

    return score


@metric(name="family")
def family_metric(metrics_py: str) -> Metric:
    """A task family's own metrics (``metrics.py``) over the samples' final scores."""

    def compute(scores: list[SampleScore]) -> Any:
        spec = importlib.util.spec_from_file_location("rdbench_family_metrics", metrics_py)
        if spec is None or spec.loader is None:
            return {}
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        results = []
        for sample_score in scores:
            meta = sample_score.score.metadata or {}
            record = meta.get(RECORD_KEY) or {}
            log = record.get("score_log") or []
            chosen = next((e for e in log if e.get("index") == record.get("chosen_entry")), None)
            results.append({"value": record.get("raw_score"),
                            "details": (chosen or {}).get("details") or {}})
        values = module.metrics(results)
        return {k: float(v) for k, v in values.items()}

    return compute
