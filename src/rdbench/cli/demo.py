"""``rdbench demo``: calibrate a mini task and run an agent on it, offline, then show the results.

With an API key in the environment (``ANTHROPIC_API_KEY`` or ``OPENAI_API_KEY``) or ``--model``, a
real model drives rdbench's agent. Without one, the embedded offline model (SmolLM2-135M through
llama.cpp's server) is tried; where it cannot run, a scripted demonstration agent (Inspect's
``mockllm``) replays a known improvement, so every part of the harness still runs for real: sandbox,
score calls, protected scoring, normalisation, the Inspect log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import Any

import click

from rdbench.cli.common import Args, call, debug_option, progress

TASK = "optimize_kernel"
FASTER = r'''import ctypes, subprocess, tempfile, os
import numpy as np
SRC = """
#include <stdint.h>
void ps(const int32_t *x, int32_t *y, int64_t n) {
  uint32_t acc = 0, odd = 0;
  for (int64_t i = 0; i < n; i++) { acc += (uint32_t)x[i] & (0u - odd); y[i] = (int32_t)acc; odd ^= x[i] > 0; }
}
"""
_d = tempfile.mkdtemp()
open(os.path.join(_d, "ps.c"), "w").write(SRC)
subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", os.path.join(_d, "ps.so"), os.path.join(_d, "ps.c")], check=True)
_lib = ctypes.CDLL(os.path.join(_d, "ps.so"))
_lib.ps.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
def prefix_sum(x):
    x = np.ascontiguousarray(x, dtype=np.int32)
    y = np.empty_like(x)
    if x.size:
        _lib.ps(x.ctypes.data, y.ctypes.data, x.size)
    return y
'''


@click.command("demo", short_help="run an agent on a mini task offline and show the results",
               help="Runs an agent on a mini task offline (the local model, or a scripted agent) and "
               "shows its score log and report.")
@click.option("--model", help="Inspect model to use (default: from API keys, else offline)")
@click.option("--budget", default="5m", show_default=True, help="the agent's working time")
@click.option("--log-dir", default="logs/demo", show_default=True, help="where the Inspect log goes")
@click.option("--scripted", is_flag=True, help="use the scripted demonstration agent")
@debug_option
def command(**options: Any) -> int:
    return call(run, options)


def _default_model() -> str | None:
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-sonnet-4-0"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai/gpt-4o"
    return None


def _scripted_model() -> Any:
    from inspect_ai.model import ModelOutput, get_model

    name = "mockllm/model"

    def bash(cmd: str) -> ModelOutput:
        return ModelOutput.for_tool_call(model=name, tool_name="bash", tool_arguments={"command": cmd})

    script = [
        bash("head -20 solution.py; head -30 /home/agent/score.py"),
        ModelOutput.for_tool_call(model=name, tool_name="score", tool_arguments={}),
        bash("cat > solution.py <<'PY'\n" + FASTER + "PY\npython -c 'import solution, numpy as np; "
             "print(solution.prefix_sum(np.array([1, 2, -3, 4], dtype=np.int32)))'"),
        ModelOutput.for_tool_call(model=name, tool_name="score", tool_arguments={}),
        ModelOutput.from_content(name, "The single-pass C version is much faster; done."),
    ]
    return get_model(name, custom_outputs=script)


@contextlib.contextmanager
def _offline_model() -> Iterator[str | None]:
    """The embedded local model's name, or None where it cannot run here."""
    try:
        from rdbench.agents.localmodel import LocalModelServer, probe
    except ImportError:
        yield None
        return
    server = None
    try:
        server = LocalModelServer()  # the offline extra missing: MissingExtraError, says which
        server.start()
        probe(server)
    except Exception as error:
        progress(f"the offline model could not run here ({str(error)[:200]}); "
                 "using the scripted demonstration agent")
        if server is not None:
            server.stop()
        yield None
        return
    try:
        yield server.model
    finally:
        server.stop()


def run(args: Args) -> int:
    from inspect_ai import eval as inspect_eval

    from rdbench.cli.run import print_results
    from rdbench.harness.agents import agent_or_default
    from rdbench.harness.task import make_task
    from rdbench.scoring.calibration import load_calibration
    from rdbench.scoring.check import check_task
    from rdbench.task.loader import load_task

    task = load_task(TASK)
    if load_calibration(TASK, "mini", version=task.spec.version) is None:
        progress(f"calibrating {TASK} on this machine (scores the starting and reference solutions)")
        report = asyncio.run(check_task(task, repeats=1, progress=progress))
        if report.saved and report.starting is not None and report.reference is not None:
            progress(f"calibration: starting {report.starting:.1f} ms, reference {report.reference:.1f} ms")
        else:
            progress(f"calibration not stored ({'; '.join(report.problems) or report.storage}); the run "
                     f"is not normalised: `rdbench check {TASK}` on an idle machine fixes that")
    model_name = args.model or _default_model()
    with contextlib.ExitStack() as stack:
        model: Any = model_name
        label = model_name
        if model is None and not args.scripted:
            model = stack.enter_context(_offline_model())
            label = model
        scripted = model is None
        if scripted:
            model, label = _scripted_model(), "scripted demonstration agent (mockllm)"
        progress(f"running {TASK} (mini, budget {args.budget}) with {label}")
        # The scripted model ends its script with a plain answer, so it runs in the harness's plain
        # react loop (which stops there); real models get rdbench's research agent.
        inspect_task = make_task(task, budget=args.budget,
                                 solver=None if scripted else agent_or_default("react"),
                                 agent_name="scripted-demo" if scripted else "react", progress=progress)
        logs = inspect_eval(inspect_task, model=model, log_dir=args.log_dir, display="plain")
    return print_results(logs)
