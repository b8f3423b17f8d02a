"""Host-side services reachable from the sandbox: ``score``, ``score-log``, ``status``, ``submit``
and the task's own budgeted services (a judge, a code model, a metrics replay).

Each request arrives over the sample's host-call socket as ``(op, args)``; the reply's ``output`` is
printed by the command in the sandbox and its ``exit_code`` is the command's exit status.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from rdbench.harness.context import RunContext, ScoringUnavailable
from rdbench.scoring.log import EntrySource, ScoreEntry
from rdbench.task.spec import ServiceSpec, format_duration

Reply = dict[str, Any]
_modules: dict[Path, ModuleType] = {}


def format_entry(run: RunContext, entry: ScoreEntry) -> str:
    """One score entry as the agent sees it."""
    view = run.agent_view(entry)
    head = f"score #{entry.index} at {format_duration(entry.elapsed_s)}"
    if not run.visible:
        return f"{head}: recorded (scores are hidden for this task)"
    value = {"scorer_error": "scorer error (the task's or harness's fault; not counted)",
             "invalid": "invalid"}.get(entry.outcome) or f"{entry.value:.6g}"
    message = f" — {view['message']}" if view.get("message") else ""
    return f"{head}: {value}{message}"


def _load_module(path: Path) -> ModuleType:
    if path not in _modules:
        spec = importlib.util.spec_from_file_location(f"rdbench_service_{len(_modules)}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load service module {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[path] = module
    return _modules[path]


async def call_service(run: RunContext, service: ServiceSpec, request: dict[str, Any]) -> Reply:
    """Answer one query to a task service, counting it against the service's budget."""
    used = run.service_usage.get(service.name, 0)
    log = run.service_state.setdefault("_log", {}).setdefault(service.name, [])
    if used >= service.budget:
        log.append({"t": time.time(), "elapsed_s": run.elapsed_s(), "refused": True})
        return {
            "output": f"{service.name}: budget exhausted ({service.budget} queries per run); "
            "the query was refused",
            "exit_code": 3,
        }
    run.service_usage[service.name] = used + 1
    log.append({"t": time.time(), "elapsed_s": run.elapsed_s(), "request": request})
    state = run.service_state.setdefault(service.name, {})
    protected = run.materialized.protected
    module = _load_module(protected / service.module)
    params = {**run.params, "scale": run.scale}
    args: list[Any] = [request, protected, params, state]
    if len(inspect.signature(module.handle).parameters) == 5:
        # handle(request, protected, params, state, generate): generate(role, prompt, **config)
        # -> text, from the run's models (blocking; the handler runs in a worker thread)
        args.append(run.models.sync_generate(asyncio.get_running_loop()) if run.models else None)
    try:
        reply = await asyncio.to_thread(module.handle, *args)
    except Exception as error:
        return {"output": f"{service.name}: the service failed: {type(error).__name__}: {error}",
                "exit_code": 1}
    if not isinstance(reply, dict):
        return {"output": str(reply), "exit_code": 0}
    remaining = service.budget - run.service_usage[service.name]
    reply.setdefault("exit_code", 0)
    # on stderr (the client prints ``note`` there): stdout stays the service's answer, which may be
    # data a program reads (a judge's verdict, a sampled program)
    reply["note"] = f"({remaining} {service.name} queries left)"
    return reply


def make_handler(
    run: RunContext, on_submit: Callable[[], None] | None = None
) -> Callable[[str, dict[str, Any]], Any]:
    """The host-call handler for one run."""
    services = {s.name: s for s in run.task.spec.services}
    source: EntrySource = "human" if run.agent.startswith("human") else "agent"

    async def handle(op: str, args: dict[str, Any]) -> Reply:
        if op == "score":
            try:
                entry = await run.score(source=source)
            except ScoringUnavailable as why:
                return {"output": str(why), "exit_code": 3}
            return {"output": format_entry(run, entry), "exit_code": 0 if entry.valid else 2,
                    "entry": run.agent_view(entry)}
        if op in ("score-log", "score_log"):
            entries = run.score_log.entries
            if not entries:
                return {"output": "no score entries yet; run `score`", "exit_code": 0}
            lines = [format_entry(run, e) for e in entries]
            return {"output": "\n".join(lines), "exit_code": 0,
                    "entries": [run.agent_view(e) for e in entries]}
        if op == "status":
            status = run.status()
            text = (f"{status['task']} ({status['scale']}): "
                    f"{format_duration(status['elapsed_s'])} used, "
                    f"{format_duration(status['remaining_s'])} left of "
                    f"{format_duration(status['time_budget_s'])}; {status['score_calls']} score calls")
            return {"output": text, "exit_code": 0, "status": status}
        if op == "instructions":
            return {"output": run.instructions or "(no instructions recorded)", "exit_code": 0}
        if op == "submit":
            run.submitted = True
            answer = submission(args)
            if answer is not None:
                run.submission = answer
            if on_submit is not None:
                on_submit()
            return {"output": "submitted: the run ends now", "exit_code": 0}
        if op in services:
            return await call_service(run, services[op], args)
        known = ", ".join(["score", "score-log", "status", "submit", "instructions", *services])
        return {"output": f"unknown command {op!r}; available: {known}", "exit_code": 127}

    return handle


def submission(args: dict[str, Any]) -> str | None:
    """The answer of ``submit ANSWER`` (bare words joined by spaces), ``submit --answer TEXT`` or a
    JSON string or object ``{"answer": ...}`` on standard input; None when none was given."""
    if isinstance(args.get("answer"), str):
        return str(args["answer"])
    words = args.get("argv")
    if isinstance(words, list) and words:
        return " ".join(str(w) for w in words)
    given = args.get("input")
    if isinstance(given, str):
        return given.rstrip("\n")
    return None


def service_wrappers(directory: Path, names: list[str]) -> Path:
    """Write one small command per task service (``judge`` -> ``hostcall judge "$@"``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text(f'#!/bin/sh\nexec hostcall {name} "$@"\n')
        path.chmod(0o755)
    (directory / ".services.json").write_text(json.dumps(names))
    return directory
