"""Start-up and seconds per turn of the real command-line agents (rdbench/cli presets).

Each installed CLI (Codex, Claude Code, Gemini CLI) runs in the bwrap sandbox on toy_count through
real Inspect, against an instant scripted model: TURNS replies that call the CLI's shell tool with
`echo turn N`, then a final answer. The baseline, measured in the same run, is a minimal stdlib
agent loop doing the same turns over the bridge's chat-completions API: its seconds per turn are
the harness's and the bridge's share; the ratio shows what each CLI adds.

From each run's log: start-up = launch of the command to the start of the first model call; per
turn = time between the starts of the first and the last model call, divided by their number less
one; exit = end of the last model call to the end of the process; harness = sample start to launch
(sandbox, bridge tools, proxy).

Usage: .venv/bin/python benchmarks/cli_agents.py [--turns 10] [--repeats 3] [--presets codex,claude]
Take figures when `uptime` shows a load near or below 1 (the script prints the load before and after).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model
from inspect_ai.tool import ToolChoice, ToolInfo

from rdbench.agents.cli import STORE_KEY, cli_agent
from rdbench.agents.cli_install import missing_reason
from rdbench.agents.cli_presets import PRESETS
from rdbench.harness.task import make_task
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).resolve().parent.parent / "tests" / "harness" / "toy_tasks"
SHELL_TOOLS = {"exec_command": "cmd", "Bash": "command", "run_shell_command": "command", "bash": "command"}

BASELINE = r'''#!/usr/bin/python3
"""A minimal agent loop: ask, run the tool call, send the result, until a text answer."""
import json, os, subprocess, urllib.request

def chat(messages):
    body = {"model": os.environ["RDBENCH_MODEL"], "messages": messages, "tools": [{"type": "function",
            "function": {"name": "bash", "description": "run a shell command", "parameters": {
            "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]}
    request = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json",
        "Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["choices"][0]["message"]

messages = [{"role": "user", "content": open(os.environ["RDBENCH_PROMPT_FILE"]).read()}]
while True:
    reply = chat(messages)
    messages.append(reply)
    if not reply.get("tool_calls"):
        print(reply["content"])
        break
    for call in reply["tool_calls"]:
        command = json.loads(call["function"]["arguments"])["command"]
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True).stdout
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": out})
'''


def script(turns: int) -> Any:
    """An instant model: `turns` shell-tool calls, then a final answer."""

    def reply(input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
              config: GenerateConfig) -> ModelOutput:
        shell = next((t.name for t in tools if t.name in SHELL_TOOLS), None)
        done = sum(1 for m in input if m.role == "tool")
        if shell is not None and done < turns:
            return ModelOutput.for_tool_call(MODEL, shell, {SHELL_TOOLS[shell]: f"echo turn {done}"})
        return ModelOutput.from_content(MODEL, "finished")

    return reply


def measure(label: str, turns: int, log_dir: str, **agent_args: Any) -> dict[str, Any]:
    """One run; its timings from the log."""
    agent = cli_agent(time_limit_s=600, **agent_args)
    task = make_task("toy_count", budget=900, solver=agent, agent_name="cli")
    [log] = inspect_eval(task, model=get_model(MODEL, custom_outputs=script(turns)), log_dir=log_dir,
                         display="none")
    assert log.samples, log.error
    sample = log.samples[0]
    cli = sample.store[STORE_KEY]
    calls = [e for e in sample.events if e.event == "model"]
    if cli["reason"] != "exited" or cli["exit_code"] != 0 or len(calls) < 2:
        raise RuntimeError(f"{label}: the run did not complete: {cli['reason']} {cli['exit_code']}, "
                           f"{len(calls)} model calls; output: {cli['log_tail'][-1000:]}")
    starts = [e.timestamp.timestamp() for e in calls]
    last_end = calls[-1].completed.timestamp() if calls[-1].completed else starts[-1]
    launched = float(cli["started_at"])
    return {
        "harness_s": launched - sample.events[0].timestamp.timestamp(),
        "startup_s": starts[0] - launched,
        "per_turn_s": (starts[-1] - starts[0]) / (len(starts) - 1),
        "exit_s": launched + cli["elapsed_s"] - last_end,
        "model_events": len(calls),
        "version": cli.get("cli_version"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", default=",".join(sorted(PRESETS)))
    args = parser.parse_args()
    ensure_tiktoken_cache()
    os.environ.setdefault("RDBENCH_TASKS_PATH", str(TOY))
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average)")
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline_agent.py"
        baseline.write_text(BASELINE)
        plan: list[tuple[str, dict[str, Any]]] = [
            ("baseline", {"command": "baseline_agent.py", "install": [str(baseline)]})]
        for name in args.presets.split(","):
            reason = missing_reason(name)
            if reason:
                print(f"{name}: skipped ({reason})")
                continue
            plan.append((name, {"preset": name}))
        for repeat in range(args.repeats):
            for label, agent_args in plan:  # interleaved, so that load changes hit every agent alike
                began = time.monotonic()
                result = measure(label, args.turns, str(Path(folder) / "logs"), **agent_args)
                runs.setdefault(label, []).append(result)
                print(f"  {label} #{repeat + 1}: {result} ({time.monotonic() - began:.1f} s)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    base = statistics.median(r["per_turn_s"] for r in runs["baseline"])
    print(f"\nmedians of {args.repeats} runs, {args.turns} tool turns against an instant model:")
    print("| agent | version | harness start (s) | CLI start-up to 1st call (s) | model events "
          "| s per turn | x baseline | exit after last call (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, results in runs.items():
        med = {key: statistics.median(r[key] for r in results)
               for key in ("harness_s", "startup_s", "per_turn_s", "exit_s", "model_events")}
        print(f"| {label} | {results[0]['version'] or '-'} | {med['harness_s']:.2f} | "
              f"{med['startup_s']:.2f} | {med['model_events']:.0f} | {med['per_turn_s']:.2f} | "
              f"{med['per_turn_s'] / base:.1f} | {med['exit_s']:.2f} |")


if __name__ == "__main__":
    main()
