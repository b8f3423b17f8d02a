"""The ``cli`` agent: an external command-line agent (Codex, Claude Code, Gemini CLI, your own
script) runs inside the task's bwrap sandbox, and its model API is reachable only through the
harness.

How it works:

- Inspect's sandbox agent bridge (``inspect_ai.agent.sandbox_agent_bridge``) injects Inspect's
  sandbox tools into the sandbox and starts their model proxy on ``localhost:PORT`` (loopback is
  the only network the sandbox has). The proxy speaks the OpenAI (chat completions and responses),
  Anthropic and Google APIs and forwards every request through a sandbox service to the eval's
  model on the host, so each call is an Inspect ``ModelEvent``, counted in the sample's usage and
  cost. No API key enters the sandbox.
- The command runs under a small stdlib launcher (``LAUNCHER``, in :mod:`rdbench.agents.cli_sandbox`)
  that makes itself a child subreaper, so everything the agent starts, even double-forked or
  ``setsid`` daemons, stays in its process tree. At the time budget, on ``submit``, or at the cost limit, the harness kills
  that whole tree (``KILL_TREE``) from a separate process, and the bridge serves no further model
  call; when the command exits on its own, the launcher kills what it left behind.
- Whatever ends the run (the agent's exit, the budget, ``submit``, the cost limit, one of
  Inspect's limits, a cancellation or an error), the record (store key ``rdbench:cli``), the end
  of the agent's output and a summary message are written in a cleanup step that always runs
  (:mod:`rdbench.agents.cli_record`).
- The agent sees the task's instructions in ``$RDBENCH_PROMPT_FILE`` and has the sandbox commands
  ``score``, ``score-log``, ``status`` and ``submit`` on PATH, like a person in ``rdbench human``.

Getting the CLI into the sandbox: ``/usr`` is bound read-only, so a CLI installed under ``/usr``
(``sudo npm install -g @openai/codex``, what ``make setup`` does as root) is already on the
sandbox's PATH; a Python CLI can be added to the task environment's requirements; or pass
``install=[host paths]`` and they are copied into the sandbox per run (files to a ``bin`` folder on
PATH, folders to ``/tmp/rdbench-cli/opt/NAME`` with their ``bin`` on PATH).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.agent import Agent, AgentState, agent, sandbox_agent_bridge
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelOutput,
    get_model,
    get_model_info,
)
from inspect_ai.tool import ToolChoice, ToolInfo
from inspect_ai.util import SandboxEnvironment, sandbox

from rdbench._extras import MissingExtraError
from rdbench.agents.cli_presets import EXTRA, PRESETS, Preset
from rdbench.agents.cli_record import Outcome, explain_end
from rdbench.agents.cli_record import describe_cli_run as describe_cli_run
from rdbench.agents.cli_sandbox import CLI_VERSION, KILLER, LAUNCHER, WAIT_FOR_PORT
from rdbench.agents.cost import over_cost_limit, record_cost
from rdbench.errors import UserError
from rdbench.harness.context import RunContext, current_run
from rdbench.sandbox.api import AGENT_HOME, WORKSPACE

logger = logging.getLogger(__name__)

BRIDGE_POLL_S = 0.2
"""How often the host serves the bridge's model requests in a bwrap sandbox (Inspect's bridge: 2 s)."""
CLI_DIR = "/tmp/rdbench-cli"
"""Sandbox folder of the launcher, the prompt, the agent's log and installed files."""
DEFAULT_PORT = 13131
POLL_S = 0.25
STORE_KEY = "rdbench:cli"
BRIDGE_API_KEY = "rdbench-bridge"
"""Placeholder key: clients insist on one; the proxy ignores it and no real key enters the sandbox."""
FINISH_TIMEOUT_S = 30
"""Longest the cleanup step waits on the sandbox (reading the output tail, killing leftovers)."""

PROMPT_NOTE = """

---
You are running as a command-line agent inside rdbench's sandbox, in {workspace}.
Shell commands on PATH: `score` (score the workspace now; every call is logged), `score-log`
(your scores so far), `status` (time used and left) and `submit` (end the run now).
You have {budget:.0f} s of working time; when it is spent your process is killed and the
workspace is scored as it is. Your best valid score counts.
"""



def fast_bridge_polling() -> bool:
    """Make Inspect's bridge serve model requests from bwrap sandboxes every ``BRIDGE_POLL_S``.

    The bridge's model service polls the sandbox for requests every 2 s (a fixed argument in
    Inspect 0.3.285), so each model call of the external agent waited about 2 s on average
    (measured: 1.98 s per call against an instant model). An exec in the bwrap sandbox is a cheap
    Unix-socket round trip, so the service's poll is wrapped to run every 0.2 s there, as the
    provider's ``default_polling_interval`` allows; other sandboxes keep Inspect's interval.
    Returns False when Inspect's internals differ and nothing was changed.
    """
    try:
        from inspect_ai.agent._bridge.sandbox import service as bridge_service
    except ImportError:
        return False
    original = getattr(bridge_service, "sandbox_service", None)
    if original is None or not hasattr(bridge_service, "MODEL_SERVICE"):
        return False
    if getattr(original, "rdbench_fast", False):
        return True

    async def sandbox_service(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("name") == bridge_service.MODEL_SERVICE and _is_bwrap(kwargs.get("sandbox")):
            kwargs["polling_interval"] = BRIDGE_POLL_S
        return await original(*args, **kwargs)

    sandbox_service.rdbench_fast = True  # type: ignore[attr-defined]
    setattr(bridge_service, "sandbox_service", sandbox_service)  # noqa: B010 - a module global of Inspect
    return True


def _is_bwrap(sbx: object) -> bool:
    from rdbench.sandbox.api import SandboxSetupError, research_sandbox

    if not isinstance(sbx, SandboxEnvironment):
        return False
    try:
        research_sandbox(sbx)  # rdbench's sandboxes answer an exec in milliseconds
    except SandboxSetupError:
        return False
    return True



@dataclass
class Stopper:
    """Decides when the agent must stop: its time, ``submit``, or the cost limit."""

    run: RunContext
    limit_s: float
    cost_limit: float | None
    launched: float | None = None
    stopped: str | None = None

    def reason(self) -> str | None:
        """``budget``, ``submitted`` or ``cost_limit`` once the agent must stop, else None.

        The first reason sticks: a run that had to stop stays stopped.
        """
        if self.stopped is None:
            late = self.launched is not None and time.monotonic() - self.launched >= self.limit_s
            if late or self.run.remaining_s() <= 0:
                self.stopped = "budget"
            elif self.run.submitted:
                self.stopped = "submitted"
            elif over_cost_limit(self.cost_limit):
                self.stopped = "cost_limit"
        return self.stopped


@dataclass(frozen=True)
class EvalModel:
    """The name and context window the CLI is told about."""

    name: str
    context_window: int | None


def eval_model(name: str | None, context_window: int | None) -> EvalModel:
    """The eval model's name (without the provider) and input window, unless given.

    The bridge serves every name with the eval's model; telling the CLI the real name lets it use
    the right model metadata (Codex, Claude Code and Gemini CLI warn on the placeholder
    ``inspect`` and fall back to defaults such as a 1M-token window). The window comes from
    Inspect's model database (``get_model_info``); None when Inspect does not know the model.
    """
    model = get_model()
    if context_window is None:
        info = get_model_info(model)
        context_window = None if info is None else info.input_tokens
    return EvalModel(name=name or model.name, context_window=context_window)


def command_text(command: object) -> str:
    """The agent's bash command line from what the caller passed.

    ``inspect eval -S command='echo a,b'`` hands the agent ``['echo a', 'b']``: Inspect splits a
    plain ``-S`` value at its commas, and nothing else, so joining the pieces with commas gives
    back exactly what was typed.

    Raises:
        ValueError: Neither a string nor a list of strings.
    """
    if isinstance(command, str):
        return command
    if isinstance(command, list | tuple) and command and all(isinstance(p, str) for p in command):
        return ",".join(command)
    raise UserError(f"rdbench/cli command= must be a bash command line (a string); got {command!r}")


def install_paths(install: object) -> list[str]:
    """``install=`` as a list of host paths (Inspect passes one path without a comma as a string).

    Raises:
        ValueError: Not a path or a list of paths.
    """
    if install is None:
        return []
    if isinstance(install, str):
        return [install]
    if isinstance(install, list | tuple) and all(isinstance(p, str) for p in install):
        return list(install)
    raise UserError(f"rdbench/cli install= must be a host path or a list of them; got {install!r}")


def resolve_command(command: object, preset: str | None) -> tuple[str, Preset | None]:
    """The bash command line of the agent, and its preset (None for ``command=``).

    Raises:
        ValueError: Neither or both of ``command`` and ``preset`` given, an unknown preset, or a
            command that is not a string.
    """
    if (command is None) == (preset is None):
        raise UserError(
            "rdbench/cli needs exactly one of command=\"...\" (a bash command line) or "
            f"preset=NAME (one of {', '.join(sorted(PRESETS))})"
        )
    if preset is not None:
        if preset not in PRESETS:
            raise UserError(f"unknown rdbench/cli preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        return PRESETS[preset].command, PRESETS[preset]
    return command_text(command), None


def require_bridge_packages(preset: Preset) -> None:
    """Fail early, with the fix, when the host lacks a Python package the bridge needs for the
    preset's API (otherwise every request of the CLI fails inside the sandbox).

    Raises:
        MissingExtraError: A package is missing (one line, naming the extra and the package).
    """
    for package in preset.bridge_packages:
        try:
            found = importlib.util.find_spec(package.module) is not None
        except ModuleNotFoundError:  # a missing parent package (google)
            found = False
        if not found:
            raise MissingExtraError(
                f"rdbench/cli preset={preset.name}: Inspect's agent bridge needs the Python package "
                f"{package.pip.split('>')[0]} to serve the {preset.api} API: "
                f"pip install 'rdbench[{EXTRA}]' (or pip install '{package.pip}')",
                extra=EXTRA, module=package.module,
            )


def agent_env(port: int, model: EvalModel, limit_s: float) -> dict[str, str]:
    """Environment pointing the usual API clients at the in-sandbox model proxy."""
    base = f"http://localhost:{port}"
    env = {
        "OPENAI_BASE_URL": f"{base}/v1",
        "OPENAI_API_BASE": f"{base}/v1",
        "OPENAI_API_KEY": BRIDGE_API_KEY,
        "ANTHROPIC_BASE_URL": base,
        "ANTHROPIC_API_KEY": BRIDGE_API_KEY,
        "GOOGLE_GEMINI_BASE_URL": base,
        "GEMINI_API_KEY": BRIDGE_API_KEY,
        "NO_PROXY": "localhost,127.0.0.1",
        "RDBENCH_MODEL": model.name,
        "RDBENCH_PROMPT_FILE": f"{CLI_DIR}/prompt.md",
        "RDBENCH_TIME_LIMIT_S": str(int(limit_s)),
        "RDBENCH_WORKSPACE": WORKSPACE,
    }
    if model.context_window:
        env["RDBENCH_CONTEXT_WINDOW"] = str(model.context_window)
    return env


async def install_files(sbx: SandboxEnvironment, paths: list[str]) -> list[str]:
    """Copy host files and folders into the sandbox; returns the folders to put on PATH.

    Raises:
        FileNotFoundError: A path does not exist on the host.
        RuntimeError: Unpacking a folder in the sandbox failed.
    """
    extra = [f"{CLI_DIR}/bin"]
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            target = f"{CLI_DIR}/bin/{path.name}"
            await sbx.write_file(target, path.read_bytes())
            await sbx.exec(["chmod", "755", target])
        elif path.is_dir():
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                tar.add(path, arcname=path.name)
            result = await sbx.exec(["sh", "-c", f"mkdir -p {CLI_DIR}/opt && tar xzf - -C {CLI_DIR}/opt"],
                                    input=buffer.getvalue())
            if not result.success:
                raise RuntimeError(f"copying {path} into the sandbox failed: {result.stderr}")
            if (path / "bin").is_dir():
                extra.append(f"{CLI_DIR}/opt/{path.name}/bin")
        else:
            raise FileNotFoundError(f"rdbench/cli install: {path} does not exist on the host")
    return extra


async def find_cli(sbx: SandboxEnvironment, preset: Preset, extra_path: list[str], outcome: Outcome) -> None:
    """Record where the preset's CLI is in the sandbox and its version.

    Raises:
        RuntimeError: The CLI is not on the sandbox's PATH.
    """
    found = await sbx.exec(["/usr/bin/python3", "-I", "-S", "-c", CLI_VERSION, preset.binary,
                            preset.npm_package, ":".join(extra_path)], timeout=60)
    with contextlib.suppress(ValueError, IndexError):
        report = json.loads(found.stdout.strip().splitlines()[-1])
        outcome.cli_path, outcome.cli_version = report["path"], report["version"]
    outcome.tested_version = preset.tested_version
    if outcome.cli_path is None:
        raise RuntimeError(
            f"rdbench/cli preset={preset.name}: `{preset.binary}` is not on the sandbox's PATH; the "
            f"sandbox sees the host's /usr, so install it as root: sudo npm install -g "
            f"{preset.npm_spec} (or pass install=[its folder])"
        )
    if outcome.cli_version not in (None, preset.tested_version):
        logger.warning("rdbench/cli: %s %s is installed; the preset was tested with %s",
                       preset.binary, outcome.cli_version, preset.tested_version)


def _prompt(state: AgentState, budget_s: float) -> str:
    task = "\n\n".join(m.text for m in state.messages if m.role == "user")
    return task + PROMPT_NOTE.format(workspace=WORKSPACE, budget=budget_s)


async def _kill(sbx: SandboxEnvironment, launcher_pid: int | None, outcome: Outcome) -> None:
    """Kill the launcher's process tree from a separate process (isolated Python, no site)."""
    if launcher_pid is None:
        return
    result = await sbx.exec(["/usr/bin/python3", "-I", "-S", "-c", KILLER, str(launcher_pid)],
                            timeout=60)
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
        outcome.killed, outcome.left = int(report["killed"]), int(report["left"])
    except (IndexError, ValueError, KeyError):
        outcome.launch_error = f"killer: {result.stderr.strip()[-500:]}"


async def run_command(
    sbx: SandboxEnvironment,
    stopper: Stopper,
    command: str,
    env: dict[str, str],
    outcome: Outcome,
) -> None:
    """Run the agent's command until it exits, the budget is spent, it submits, or cost runs out.

    The budget is the earlier of ``stopper.limit_s`` wall seconds from launch and the run's
    working-time budget. Whatever ends the run, even a cancellation, the agent's whole process tree
    is gone when this returns or raises; ``outcome`` says how it ended.
    """
    done = anyio.Event()
    stopper.launched = launched = time.monotonic()
    outcome.started_at = time.time()

    async def launch() -> None:
        try:
            # the daemon's timeout is a backstop only: it kills the launcher's process group
            result = await sbx.exec(
                ["/usr/bin/python3", "-I", "-S", f"{CLI_DIR}/launch.py", CLI_DIR, command],
                env=env, cwd=WORKSPACE, timeout=int(stopper.limit_s) + 120, timeout_retry=False,
            )
            outcome.exit_code = result.returncode
        except TimeoutError as error:
            outcome.launch_error = str(error)
        finally:
            done.set()

    launcher_pid: int | None = None
    outcome.reason = "exited"
    completed = False
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(launch)
            while not done.is_set():
                if launcher_pid is None:
                    launcher_pid = await _read_pid(sbx)
                reason = stopper.reason()
                if reason is not None:
                    outcome.reason = reason
                    if launcher_pid is None:  # killed before it wrote its pid: wait for it
                        launcher_pid = await _read_pid(sbx, wait_s=10)
                    await _kill(sbx, launcher_pid, outcome)
                    break
                record_cost()
                with anyio.move_on_after(POLL_S):
                    await done.wait()
            await done.wait()
        completed = True
    finally:
        outcome.elapsed_s = time.monotonic() - launched
        # Cancelled (by one of Inspect's limits, say) or failed: the launch task was cancelled
        # too (and set `done`), but the agent's processes run on in the sandbox; end them.
        if not completed:
            outcome.reason = "cancelled"
            with anyio.CancelScope(shield=True), anyio.move_on_after(FINISH_TIMEOUT_S):
                await _kill(sbx, launcher_pid or await _read_pid(sbx), outcome)
    if outcome.reason == "exited":
        await _read_exit(sbx, outcome)
        # told to stop (a model call refused at the cost limit, say), it exited before the kill
        outcome.reason = stopper.stopped or "exited"


async def _read_pid(sbx: SandboxEnvironment, wait_s: float = 0.0) -> int | None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return int((await sbx.read_file(f"{CLI_DIR}/launcher.pid")).strip())
        except (FileNotFoundError, ValueError):
            if time.monotonic() >= deadline:
                return None
            await anyio.sleep(0.05)


async def _read_exit(sbx: SandboxEnvironment, outcome: Outcome) -> None:
    try:
        report = json.loads(await sbx.read_file(f"{CLI_DIR}/exit.json"))
        outcome.exit_code = int(report["exit_code"])
        outcome.killed, outcome.left = int(report["leftovers_killed"]), int(report["left"])
    except (FileNotFoundError, ValueError, KeyError):
        pass


async def finish(
    sbx: SandboxEnvironment,
    run: RunContext,
    state: AgentState,
    outcome: Outcome,
    script: str,
    limit_s: float,
    cost_limit: float | None,
    log_tail_chars: int,
) -> None:
    """Keep the record, the end of the agent's output and a summary message (never raises)."""
    with contextlib.suppress(Exception), anyio.move_on_after(FINISH_TIMEOUT_S):
        tail = await sbx.exec(["tail", "-c", str(log_tail_chars), f"{CLI_DIR}/agent.log"], timeout=20)
        outcome.log_tail = tail.stdout if tail.success else ""
    with contextlib.suppress(Exception):
        record_cost()
    if run.store is not None:
        run.store.set(STORE_KEY, outcome.record(script))
    limit = outcome.inspect_limit or {}
    budget = (f"was killed at its time budget ({limit_s:.0f} s)" if not limit else
              f"was stopped at Inspect's working-time limit ({limit.get('limit')} s)")
    how = {"exited": f"exited with status {outcome.exit_code}",
           "budget": budget,
           "submitted": "was stopped after `submit`",
           "cost_limit": f"was stopped at the cost limit (${cost_limit})",
           "limit": f"was stopped by Inspect's {limit.get('type')} limit ({limit.get('limit')})",
           "cancelled": "was cancelled",
           "error": f"ended with an error ({outcome.error})"}[outcome.reason]
    hint = ""
    if "agent bridge requires optional dependencies" in outcome.log_tail:
        hint = f"\nThe bridge lacks a Python package for the agent's API: pip install 'rdbench[{EXTRA}]'."
    state.messages.append(ChatMessageAssistant(
        content=f"[rdbench/cli] `{(script.split() or [''])[0]}` {how} "
        f"after {outcome.elapsed_s:.1f} s; {len(run.score_log.entries)} score calls; "
        f"{outcome.refused_calls} model calls refused after the end.{hint} "
        f"Last output:\n{outcome.log_tail[-2000:]}",
        source="generate",
    ))


@agent(name="cli")  # Inspect prefixes the package: rdbench/cli
def cli_agent(
    command: str | list[str] | None = None,
    preset: str | None = None,
    env: dict[str, str] | None = None,
    install: str | list[str] | None = None,
    model: str | None = None,
    context_window: int | None = None,
    time_limit_s: float | None = None,
    cost_limit: float | None = None,
    port: int = DEFAULT_PORT,
    startup_timeout_s: float = 60.0,
    log_tail_chars: int = 20_000,
) -> Agent:
    """An external command-line agent run in the task's sandbox, its model calls bridged to Inspect.

    Args:
        command: Bash command line that runs the agent (e.g. ``my-agent "$(cat
            "$RDBENCH_PROMPT_FILE")"``); exclusive with ``preset``. A list of strings (what
            ``inspect eval -S command=...`` makes of a value with commas) is joined with commas.
        preset: A known CLI: ``codex``, ``claude`` or ``gemini`` (see ``cli_presets.PRESETS``).
        env: Extra environment for the agent (over the bridge's and the preset's).
        install: Host files or folders copied into the sandbox for this run (see module doc).
        model: Model name the agent is told to use (``$RDBENCH_MODEL``); default: the eval's
            model name without its provider (e.g. ``gpt-5``). The bridge serves every name with the
            eval's model; the name matters to the CLI's own model metadata.
        context_window: Input tokens the CLI may fill before compacting (``$RDBENCH_CONTEXT_WINDOW``,
            and each preset's own setting); default: Inspect's figure for the eval's model, none
            when Inspect does not know it.
        time_limit_s: Stop the agent after this many seconds even if budget remains.
        cost_limit: Stop the agent when the run's priced model cost (USD) reaches this; from then
            on the bridge answers the agent's model calls itself, without calling the model.
        port: Port of the in-sandbox model proxy.
        startup_timeout_s: How long to wait for the proxy to listen.
        log_tail_chars: How much of the end of the agent's output to keep in the log.
    """
    # Neither given is an error only when the agent runs, so that a task can name rdbench/cli as
    # its agent while `inspect eval --solver rdbench/cli -S command=...` supplies the command.
    resolved = None if command is None and preset is None else resolve_command(command, preset)
    paths = install_paths(install)
    if context_window is not None and (isinstance(context_window, bool) or not isinstance(
            context_window, int) or context_window <= 0):
        raise UserError(f"rdbench/cli context_window= must be a positive number of tokens, "
                         f"not {context_window!r}")

    async def execute(state: AgentState) -> AgentState:
        script, chosen = resolved or resolve_command(command, preset)
        run = current_run()
        sbx = sandbox()
        told = eval_model(model, context_window)
        outcome = Outcome(preset=None if chosen is None else chosen.name, model=told.name,
                          context_window=told.context_window)
        limit_s = run.remaining_s() if time_limit_s is None else min(time_limit_s, run.remaining_s())
        stopper = Stopper(run=run, limit_s=limit_s, cost_limit=cost_limit)

        async def guard(model: Model, messages: list[ChatMessage], tools: list[ToolInfo],
                        tool_choice: ToolChoice | None, config: GenerateConfig) -> ModelOutput | None:
            # no model call is served once the agent must stop (it is being killed meanwhile)
            why = stopper.reason()
            if why is None:
                return None
            outcome.refused_calls += 1
            return ModelOutput.from_content(
                model.name, f"[rdbench] the run is over ({why}): no more model calls; stop now.")

        try:
            if chosen is not None:
                require_bridge_packages(chosen)
            await sbx.exec(["mkdir", "-p", f"{CLI_DIR}/bin"])
            await sbx.write_file(f"{CLI_DIR}/launch.py", LAUNCHER)
            await sbx.write_file(f"{CLI_DIR}/prompt.md", _prompt(state, limit_s))
            extra_path = await install_files(sbx, paths)
            preset_env: dict[str, str] = {}
            if chosen is not None:
                await find_cli(sbx, chosen, extra_path, outcome)
                setup = chosen.setup(f"http://localhost:{port}", told.name, told.context_window)
                for relative, text in setup.home_files.items():
                    await sbx.write_file(f"{AGENT_HOME}/{relative}", text)
                preset_env = {**chosen.env, **setup.env}
            variables = {**agent_env(port, told, limit_s), **preset_env, **(env or {}),
                         "RDBENCH_CLI_EXTRA_PATH": ":".join(extra_path)}
            fast_bridge_polling()
            async with sandbox_agent_bridge(state, port=port, filter=guard):
                ready = await sbx.exec(["/usr/bin/python3", "-I", "-S", "-c", WAIT_FOR_PORT, str(port),
                                        str(startup_timeout_s)], timeout=int(startup_timeout_s) + 30)
                if not ready.success:
                    raise RuntimeError(f"rdbench/cli: {ready.stderr.strip() or 'model proxy not ready'}")
                # the proxy start-up is the harness's time, not the agent's
                stopper.limit_s = limit_s = max(0.0, min(limit_s, run.remaining_s()))
                await run_command(sbx, stopper, script, variables, outcome)
        except BaseException as error:
            explain_end(outcome, error)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await finish(sbx, run, state, outcome, script, limit_s, cost_limit, log_tail_chars)
        return state

    return execute
