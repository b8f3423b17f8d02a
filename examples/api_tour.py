"""A tour of rdbench's Python API (docs/api.md): every public function, on the scaling_law task.

Runs offline in a minute or two: a scripted Inspect model (``mockllm``) plays the agent. Usage::

    python examples/api_tour.py [OUT_DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

import rdbench


def main(out: Path) -> None:
    print("rdbench", rdbench.__version__)
    print("RE-Bench counterparts:", ", ".join(rdbench.list_tasks(tag="rebench")))

    task = rdbench.load_task("scaling_law")
    scale = task.spec.scale("mini")
    print(f"{task.name} v{task.spec.version}: {task.spec.description} (mini budget {scale.time_budget:.0f} s)")

    # score a folder as a run's `score` call would: the task's files plus an answer of ours
    folder = out / "my_workspace"
    shutil.copytree(task.root / "workspace", folder, dirs_exist_ok=True)
    (folder / "answer.json").write_text(json.dumps({"n_embd": 24, "steps": 13509, "loss": 2.45}))
    result = rdbench.score_folder(task, folder)
    print(f"score_folder: {result.kind} {result.value}: {result.message}")
    (folder / "answer.json").write_text(json.dumps({"n_embd": 48, "steps": 12000, "loss": 2.5}))
    result = rdbench.score_folder(task, folder)
    print(f"score_folder: {result.kind}: {result.message}")

    # calibrate (not stored, to leave this machine's calibration alone)
    report = rdbench.calibrate(task, repeats=1, save=False)
    print(f"calibrate: starting {report.starting}, reference {report.reference}, ok {report.ok}")

    # one run of the Inspect task with a scripted model that scores once and stops
    model = get_model("mockllm/model", custom_outputs=[
        ModelOutput.for_tool_call(model="mockllm/model", tool_name="score", tool_arguments={}),
        ModelOutput.from_content("mockllm/model", "done"),
    ])
    logs = out / "logs"
    [log] = inspect_eval(rdbench.make_task(task, budget="5m"), model=model, log_dir=str(logs), display="none")
    print(f"make_task + inspect eval: {log.status}")

    runs = rdbench.read_runs([logs])
    print(f"read_runs: {len(runs)} run(s), agent {runs[0].agent}, task {runs[0].task}")
    page = rdbench.build_report([logs], out / "report", budgets=["5m"])
    print(f"build_report: {page}")

    results = rdbench.redteam(task, attacks=["over_budget"])
    print(f"redteam: {results[0].attack} caught: {results[0].caught}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rdbench-api-"))
    main(target)
