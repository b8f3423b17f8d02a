"""Runs a task's ``protected/score.py`` inside the scoring sandbox (stdlib only; no rdbench import).

Usage: ``python shim.py SCORE_PY PROTECTED WORKSPACE CALL_DIR``

``CALL_DIR/params.json`` holds the call's parameters (with the seed of its hidden inputs); like
``PROTECTED``, the scorer's private folder and the harness's socket folder it is hidden from every
process the scorer starts, which run in nested sandboxes with their own ``/proc`` (the scorer toolkit,
``rdbench_scorer``, mounted beside this file, does that and fails closed).

The scorer's own prints go to stderr; the result is the last stdout line, prefixed by
:data:`RESULT_MARKER`, with a ``kind``: ``scored``, ``invalid`` (the agent's fault) or
``scorer_error`` (the scorer's: an exception other than ``rdbench_scorer.Invalid``, a sandbox that
could not be made).
"""

import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

RESULT_MARKER = "@@RDBENCH_RESULT@@ "
LIB_DIR_ENV = "RDBENCH_SCORER_LIB"
"""Folder of helper modules for the scorer (``rdbench_scorer``, ``rdbench_host``), put on its ``sys.path``."""
HOST_DIR_ENV = "RDBENCH_SCORER_HOST_DIR"
"""Folder of the socket to the harness's models: the scorer's alone, empty for its children."""
EXTRA_HIDDEN_ENV = "RDBENCH_SCORER_EXTRA_HIDDEN"
"""More colon-separated paths the harness hides from the scorer's children (e.g. a full ``/proc``)."""


def _error(message: str) -> dict[str, Any]:
    return {"kind": "scorer_error", "value": None, "message": message[:2000],
            "details": {"traceback": traceback.format_exc()[-8000:]}}


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats (which JSON cannot hold) as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def main() -> None:
    score_py, protected, workspace, call_dir = sys.argv[1:5]
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    private = tempfile.mkdtemp(prefix="rdbench-scorer-")
    os.chmod(private, 0o700)
    out: dict[str, Any]
    try:
        params = json.loads(Path(call_dir, "params.json").read_text())
        hidden = [protected, call_dir, private]
        for key in (HOST_DIR_ENV,):
            if os.environ.get(key):
                hidden.append(os.environ[key])
        hidden += [p for p in os.environ.get(EXTRA_HIDDEN_ENV, "").split(":") if p]
        os.environ["RDBENCH_SCORER_PRIVATE"] = private
        os.environ["RDBENCH_SCORER_HIDDEN"] = ":".join(hidden)
        lib = os.environ.get(LIB_DIR_ENV)
        if lib:
            sys.path.insert(0, lib)
        import rdbench_scorer

        try:
            rdbench_scorer.install_guard()  # fails closed: no nested sandbox, no scoring
            spec = importlib.util.spec_from_file_location("score", score_py)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {score_py}")
            module = importlib.util.module_from_spec(spec)
            sys.modules["score"] = module  # dataclasses and pickling look modules up by name
            sys.path.insert(0, protected)
            spec.loader.exec_module(module)
            out = rdbench_scorer.run_scorer_module(module, Path(workspace), Path(protected), params)
            out["details"]["scorer_work"] = {k: round(v, 3) for k, v in rdbench_scorer.work.items()}
        except rdbench_scorer.Invalid as error:  # raised at import time, say
            out = rdbench_scorer.invalid(error.message, **error.details)
        except rdbench_scorer.ScorerError as error:
            out = _error(f"scorer error: {error}")
        except BaseException as error:
            out = _error(f"scorer error: the scorer failed: {type(error).__name__}: {error}")
    except BaseException as error:
        out = _error(f"scorer error: the scoring shim failed: {type(error).__name__}: {error}")
    text = json.dumps(_finite(out), default=str, allow_nan=False)
    os.write(real_stdout, ("\n" + RESULT_MARKER + text + "\n").encode())
    shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # don't wait for stray threads of the scorer
