"""Runs a task's ``protected/score.py`` inside the scoring sandbox (stdlib only; no rdbench import).

Usage: ``python shim.py SCORE_PY PROTECTED WORKSPACE PARAMS_JSON``

The scorer's own prints go to stderr; the result is the last stdout line, prefixed by
:data:`RESULT_MARKER`. Every process the scorer starts through ``subprocess`` or ``os.system`` runs in
a nested bubblewrap sandbox in which ``PROTECTED`` and the scorer's private directory are empty, so
the agent's code, run by the scorer, cannot read hidden data or reference outputs.
"""

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from typing import Any

RESULT_MARKER = "@@RDBENCH_RESULT@@ "
LIB_DIR_ENV = "RDBENCH_SCORER_LIB"
"""Folder of helper modules for the scorer (``rdbench_host``), put on its ``sys.path``."""
HOST_DIR_ENV = "RDBENCH_SCORER_HOST_DIR"
"""Folder of the socket to the harness's models: the scorer's alone, empty for its children."""


def _hiding_prefix(hidden: list[str]) -> list[str] | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    # a pid namespace per child: when the child exits, everything it started (daemons included)
    # dies with it, so nothing the agent's code leaves behind can touch what the scorer reads next
    prefix = [bwrap, "--dev-bind", "/", "/", "--unshare-pid", "--die-with-parent"]
    for path in hidden:
        prefix += ["--tmpfs", path]
    prefix.append("--")
    return prefix


def _wrap_subprocess(prefix: list[str]) -> None:
    original_init = subprocess.Popen.__init__

    def wrapped_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if kwargs.get("shell"):
            command = args if isinstance(args, str) else " ".join(map(str, args))
            args = [*prefix, kwargs.pop("executable", None) or "/bin/sh", "-c", command]
            kwargs["shell"] = False
        else:
            argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
            executable = kwargs.pop("executable", None)
            if executable is not None:
                argv[0] = executable
            args = [*prefix, *map(os.fsdecode, argv)]
        original_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = wrapped_init  # type: ignore[method-assign]

    def system(command: Any) -> int:
        return subprocess.call(command, shell=True)

    os.system = system


def _clean(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def main() -> None:
    score_py, protected, workspace, params_json = sys.argv[1:5]
    params = json.loads(params_json)
    private = tempfile.mkdtemp(prefix="rdbench-scorer-")
    os.environ["RDBENCH_SCORER_PRIVATE"] = private
    hidden = [protected, private]
    if os.environ.get(HOST_DIR_ENV):
        hidden.append(os.environ[HOST_DIR_ENV])
    if os.environ.get(LIB_DIR_ENV):
        sys.path.insert(0, os.environ[LIB_DIR_ENV])
    prefix = _hiding_prefix(hidden)
    if prefix is not None:
        _wrap_subprocess(prefix)
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        spec = importlib.util.spec_from_file_location("score", score_py)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {score_py}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, protected)
        spec.loader.exec_module(module)
        from pathlib import Path

        result = module.score(Path(workspace), Path(protected), params)
        if not isinstance(result, dict):
            raise TypeError(f"score() returned {type(result).__name__}, not a dict")
        out: dict[str, Any] = {
            "value": _clean(result.get("value")),
            "message": str(result.get("message", "")),
            "details": result.get("details") or {},
        }
    except BaseException as error:
        out = {
            "value": None,
            "message": f"the scorer failed: {type(error).__name__}: {error}"[:2000],
            "details": {"traceback": traceback.format_exc()[-8000:]},
        }
    text = json.dumps(out, default=str)
    os.write(real_stdout, ("\n" + RESULT_MARKER + text + "\n").encode())
    shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # don't wait for stray threads of the scorer

