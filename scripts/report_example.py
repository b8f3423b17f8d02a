"""Real runs behind the report screenshot in docs/analysis.md, and the report itself.

Every run goes through the real harness, sandbox and scorer on scaling_law (mini; its final answer
counts, so every score here is the end-of-run scoring): rdbench's react agent driven by a scripted
model (three runs, each writing a different answer) and by the offline SmolLM2 model (two 3-minute runs),
and a scripted person in the human mode (pexpect). One more run, of find_bug (never calibrated),
shows how the report lists an uncalibrated run. Then `rdbench report` and a headless Chromium
screenshot.

    .venv/bin/python scripts/report_example.py OUT_DIR      # about 15 minutes on 2 quiet cores

OUT_DIR gets logs/, report/ and report/screenshot.png. The runs use their own rdbench cache
(OUT_DIR/cache) with the task environments and prepared assets of ~/.cache/rdbench linked in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BUDGET = "1m"
GOOD = {"n_embd": 24, "steps": 13509, "loss": 2.4408}  # the reference answer
OFF = {"n_embd": 24, "steps": 13509, "loss": 2.60}  # the right width, a poor prediction


def scripted_runs(logs: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.agents.react import research_agent
    from rdbench.harness.task import make_task

    def bash(cmd: str) -> ModelOutput:
        return ModelOutput.for_tool_call(model="mockllm/model", tool_name="bash", tool_arguments={"command": cmd})

    score = ModelOutput.for_tool_call(model="mockllm/model", tool_name="score", tool_arguments={})
    for answer in (GOOD, OFF, None):
        write = [] if answer is None else [bash(f"echo '{json.dumps(answer)}' > answer.json && python check_answer.py")]
        script = [bash("cat answer.json"), *write, score, bash("submit")]
        model = get_model("mockllm/model", custom_outputs=script)
        inspect_eval(make_task("scaling_law", budget=BUDGET, solver=research_agent(), agent_name="react"),
                     model=model, log_dir=str(logs), display="plain")
    # a task without a calibration on this machine: listed in the report, not counted
    model = get_model("mockllm/model", custom_outputs=[bash("ls"), bash("submit")])
    inspect_eval(make_task("find_bug", budget=BUDGET, instances=1, solver=research_agent(), agent_name="react"),
                 model=model, log_dir=str(logs), display="plain")


def offline_runs(logs: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from rdbench.agents.localmodel import LocalModelServer, probe
    from rdbench.agents.react import research_agent
    from rdbench.harness.task import make_task

    with LocalModelServer() as server:
        probe(server)
        # longer runs: a turn of SmolLM2 takes seconds on two quiet cores and can take a minute on a
        # loaded machine
        task = make_task("scaling_law", budget="3m", solver=research_agent(), agent_name="react")
        inspect_eval(task, model=server.model, log_dir=str(logs), display="plain", epochs=2, max_tokens=96)


def human_run(logs: Path) -> None:
    import pexpect

    child = pexpect.spawn(sys.executable, ["-m", "rdbench.cli.human", "scaling_law", "--budget", BUDGET,
                                           "--name", "scripted", "--log-dir", str(logs)],
                          encoding="utf-8", timeout=600)
    child.expect(r"left\] ~/workspace\$ ")
    answer = {"n_embd": 24, "steps": 13509, "loss": 2.50}
    child.sendline(f"echo '{json.dumps(answer)}' > answer.json; score")
    child.expect("time is up", timeout=600)
    child.expect(pexpect.EOF)


def main(out: Path) -> None:
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for shared in ("envs", "tasks"):
        link = cache / shared
        if not link.exists():
            link.symlink_to(Path.home() / ".cache" / "rdbench" / shared)
    os.environ["RDBENCH_CACHE_DIR"] = str(cache)
    logs = out / "logs"
    rdbench = [sys.executable, "-m", "rdbench.cli.main"]
    subprocess.run([*rdbench, "check", "scaling_law", "--repeats", "2"], check=True)
    scripted_runs(logs)
    offline_runs(logs)
    human_run(logs)
    report = out / "report"
    subprocess.run([*rdbench, "report", str(logs), "--out", str(report), "--budgets", "1m,2m,4m"], check=False)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={out / 'chrome'}", f"--screenshot={report / 'screenshot.png'}",
                        "--window-size=1400,2700", (report / "index.html").as_uri()],
                       check=True, capture_output=True, timeout=120)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
