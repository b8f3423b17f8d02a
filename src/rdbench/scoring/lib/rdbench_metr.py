"""Runs one step of a METR Task Standard family inside its root sandbox (stdlib only).

Usage: ``python -I rdbench_metr.py CALL_DIR`` with ``CALL_DIR/request.json``::

    {"op": "setup" | "install" | "start" | "intermediate_score" | "score" | "aggregate" | "teardown",
     "family": NAME, "task": TASK_NAME | null, "submission": str | null, "score_log": [...] | null,
     "env": {...required environment variables...}, "sanitize_home": bool}

The family's module is imported from ``/root`` (the cwd). Nothing the agent left in ``/home/agent``
is on ``sys.path`` (``-I``: no script folder, no user site, no ``PYTHON*`` variables). With
``sanitize_home``, links in ``/home/agent`` that lead outside it are removed first (the scoring
steps see a copy-on-write view of the agent's home: the agent's own files are untouched), so the
family's code never reads ``/root`` or ``/protected`` through a link the agent planted.

The result is one line on the original standard output, prefixed by :data:`RESULT_MARKER`; the
family's prints (and anything the processes it starts write) go to standard error. The process is
not dumpable, so no process it starts can reach that descriptor through ``/proc``.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import inspect
import json
import math
import os
import pathlib
import sys
import traceback
from typing import Any

RESULT_MARKER = "@@RDBENCH_METR@@ "
AGENT_HOME = "/home/agent"
PR_SET_DUMPABLE = 4


def _non_dumpable() -> None:
    with contextlib.suppress(OSError, AttributeError):  # every Linux libc has prctl
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def sanitize_home(home: str = AGENT_HOME) -> list[str]:
    """Remove every link under ``home`` that resolves outside it; returns their paths."""
    removed: list[str] = []
    root = os.path.realpath(home)
    for top, dirs, files in os.walk(home, followlinks=False):
        for name in [*dirs, *files]:
            path = os.path.join(top, name)
            if not os.path.islink(path):
                continue
            target = os.path.realpath(path)
            if target != root and not target.startswith(root + os.sep):
                os.unlink(path)
                removed.append(os.path.relpath(path, home))
    return removed


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: non-finite floats as None, unknown objects as their repr."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    for attribute in ("item", "tolist"):  # numpy scalars and arrays
        method = getattr(value, attribute, None)
        if callable(method):
            try:
                return plain(method())
            except (TypeError, ValueError):
                break
    return repr(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _intermediate(result: Any) -> dict[str, Any] | None:
    """The standard's forms of an intermediate score as ``{score, message, details}``."""
    if result is None:
        return None
    if isinstance(result, dict):
        message = result.get("message", {})
        return {"score": _number(result.get("score")), "message": plain(message),
                "details": plain(result.get("details") or {})}
    if isinstance(result, tuple | list) and result:
        return {"score": _number(result[0]), "message": plain(result[1] if len(result) > 1 else {}),
                "details": {}}
    return {"score": _number(result), "message": {}, "details": {}}


def _chown_home_after_start(family: Any) -> bool:
    """After ``start``, give ``/home/agent`` to the agent, as METR's drivers do: except files of
    the ``protected`` group, and top-level hidden folders (but ``.ssh``) with their contents."""
    if getattr(family, "skip_chown_after_start", False):
        return False
    import grp
    import pwd

    agent = pwd.getpwnam("agent")
    try:
        protected: int | None = grp.getgrnam("protected").gr_gid
    except KeyError:
        protected = None
    home = pathlib.Path(AGENT_HOME)
    for top, dirs, files in os.walk(home, followlinks=False):
        here = pathlib.Path(top)
        if here == home:
            # top-level hidden folders (caches, tools) stay as start left them, but .ssh
            dirs[:] = [d for d in dirs if not d.startswith(".") or d == ".ssh"]
        for name in [*dirs, *files]:
            path = here / name
            info = path.lstat()
            if path.is_symlink() or (protected is not None and protected != agent.pw_gid
                                     and info.st_gid == protected):
                continue
            os.chown(path, agent.pw_uid, agent.pw_gid, follow_symlinks=False)
    os.chown(home, agent.pw_uid, agent.pw_gid)
    return True


def _call_teardown(family: Any, task: Any) -> None:
    method = family.teardown
    try:
        takes_task = len(inspect.signature(method).parameters) >= 1
    except (TypeError, ValueError):
        takes_task = True
    if takes_task:
        method(task)
    else:
        method()


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Do ``request`` (see the module docstring); never raises."""
    stage = "loading the family's module"
    out: dict[str, Any] = {"ok": True, "result": None}
    try:
        if request.get("sanitize_home"):
            stage = "checking /home/agent for links"
            out["links_removed"] = sanitize_home()
        stage = "loading the family's module"
        module = importlib.import_module(request["family"])
        family = getattr(module, "TaskFamily", None)
        if family is None:
            raise LookupError(f"{request['family']}.py defines no TaskFamily class")
        op = request["op"]
        task: Any = None
        if op not in ("setup", "install"):
            stage = "get_tasks()"
            tasks = family.get_tasks()
            stage = "finding the task"
            if request["task"] not in tasks:
                raise LookupError(f"get_tasks() has no task {request['task']!r} (it has {sorted(tasks)})")
            task = tasks[request["task"]]
        if op == "setup":
            stage = "get_tasks()"
            tasks = family.get_tasks()
            if not isinstance(tasks, dict) or not tasks:
                raise TypeError(f"get_tasks() returned {type(tasks).__name__} {plain(tasks)!r:.200}, "
                                "not a non-empty dict of task name -> task")
            instructions = {}
            permissions = {}
            for name, value in tasks.items():
                stage = f"get_instructions({name!r})"
                instructions[str(name)] = str(family.get_instructions(value))
                stage = f"get_permissions({name!r})"
                getter = getattr(family, "get_permissions", None)
                permissions[str(name)] = [str(p) for p in (getter(value) if getter else [])]
            methods = [m for m in ("install", "start", "score", "intermediate_score", "aggregate_scores",
                                   "teardown") if callable(getattr(family, m, None))]
            out["result"] = {
                "tasks": [str(name) for name in tasks],
                "instructions": instructions,
                "permissions": permissions,
                "required_environment_variables": [str(v) for v in
                                                   getattr(family, "required_environment_variables", [])],
                "methods": methods,
                "standard_version": str(getattr(family, "standard_version", "")),
            }
        elif op == "install":
            stage = "install()"
            if callable(getattr(family, "install", None)):
                family.install()
        elif op == "start":
            stage = "start(t)"
            if callable(getattr(family, "start", None)):
                family.start(task)
            stage = "giving /home/agent to the agent after start(t)"
            out["result"] = {"chowned": _chown_home_after_start(family)}
        elif op == "intermediate_score":
            stage = "intermediate_score(t)"
            if not callable(getattr(family, "intermediate_score", None)):
                raise LookupError("the family has no intermediate_score")
            out["result"] = _intermediate(family.intermediate_score(task))
        elif op == "aggregate":
            stage = "aggregate_scores(t, score_log)"
            log = [{**entry, "score": float("nan") if entry.get("score") is None else entry["score"]}
                   for entry in request.get("score_log") or []]
            out["result"] = {"score": _number(family.aggregate_scores(task, log))}
        elif op == "score":
            stage = "score(t, submission)"
            value = family.score(task, request.get("submission") or "")
            out["result"] = {"score": _number(value), "none": value is None}
        elif op == "teardown":
            stage = "teardown()"
            if callable(getattr(family, "teardown", None)):
                _call_teardown(family, task)
        else:
            raise ValueError(f"unknown step {op!r}")
    except BaseException as error:
        out = {"ok": False, "stage": stage, "error": f"{type(error).__name__}: {error}"[:2000],
               "missing_module": getattr(error, "name", None) if isinstance(error, ImportError) else None,
               "traceback": traceback.format_exc()[-6000:], "links_removed": out.get("links_removed")}
    return out


def main() -> None:
    call_dir = pathlib.Path(sys.argv[1])
    real_stdout = os.dup(1)  # not inherited by the processes the family starts
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _non_dumpable()
    request = json.loads((call_dir / "request.json").read_text())
    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    os.chdir("/root")
    sys.path.insert(0, "/root")
    # after the environment's packages: rdbench_scorer (nested sandboxes) for the protected-scoring
    # stand-in, which the environment itself holds
    sys.path.append(str(pathlib.Path(__file__).resolve().parent))
    out = run(request)
    sys.stderr.flush()
    text = json.dumps(plain(out), allow_nan=False)
    os.write(real_stdout, ("\n" + RESULT_MARKER + text + "\n").encode())


if __name__ == "__main__":
    main()
    os._exit(0)  # don't wait for stray threads of the family's code
