"""A METR family's root-side steps (install, start, scoring, teardown), each in a fresh root sandbox.

The root sandbox is a one-shot sandbox (``rdbench.sandbox.api.run_oneshot``) that runs as root:
``/root`` is the family's folder for this sample (persistent across the sample's steps),
``/protected`` the scoring folder of METR's helper library, ``/home/agent`` the agent's home
(read-write for ``start`` and ``teardown``; a copy-on-write view for scoring, so nothing a scoring
step writes reaches the agent), and the family's environment at ``/opt/rdbench/env``. The agent's
sandbox never mounts ``/root`` or ``/protected``.

When rdbench runs as root the agent's sandbox runs as a host user of its own
(:func:`rdbench.sandbox.api.agent_host_user`) and the root sandbox as host root, so files ``start``
makes root-only are out of the agent's reach. Without root both map to this process's user: the
root sandbox is then uid 0 of a user namespace, ``agent`` and ``protected`` are names for that same
user, and permission bits separate nothing (:func:`warn_shared_uid` says so once).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rdbench.sandbox.api import (
    AGENT_HOME,
    ENV_DIR,
    HostUser,
    Mount,
    OneShotResult,
    OneShotSpec,
    Overlay,
    SandboxSetupError,
    agent_host_user,
    format_cpus,
    run_oneshot,
)
from rdbench.scoring.runner import LIB_PATH

log = logging.getLogger(__name__)
LIB_TARGET = "/opt/rdbench/lib"
CALL_TARGET = "/opt/rdbench/metr-call"
BASE_ENV_TARGET = "/opt/rdbench/base-env"
PROC_TARGET = "/opt/rdbench/proc"
METR_LIB_TARGET = "/opt/rdbench/metr-lib"
"""On ``PYTHONPATH`` in the agent's sandbox and the root steps: rdbench's ``metr.task_protected_scoring``."""


def metr_library_mount() -> Mount:
    """The protected-scoring stand-in (``metr`` package), for ``PYTHONPATH`` = :data:`METR_LIB_TARGET`."""
    return Mount(source=LIB_PATH / "metr", target=f"{METR_LIB_TARGET}/metr")
HELPER = f"{LIB_TARGET}/rdbench_metr.py"
RESULT_MARKER = "@@RDBENCH_METR@@ "  # rdbench_metr.RESULT_MARKER
SEPARATION_ENV = "RDBENCH_METR_SEPARATION"  # metr.task_protected_scoring.SEPARATION_ENV
HIDDEN_ENV = "RDBENCH_SCORER_HIDDEN"  # rdbench_scorer.HIDDEN_ENV
_warned = False


@dataclass(frozen=True)
class Separation:
    """Who is who in a root sandbox: the agent's host user when it has its own, else None."""

    agent: HostUser | None

    @classmethod
    def current(cls) -> Separation:
        return cls(agent_host_user())

    @property
    def mode(self) -> str:
        """``uid`` (the agent has a host uid of its own) or ``none``."""
        return "uid" if self.agent is not None else "none"

    @property
    def protected_gid(self) -> int:
        """The host gid of METR's ``protected`` group (the agent is not in it)."""
        return self.agent.gid + 1 if self.agent is not None else 0

    def passwd(self) -> str:
        uid, gid = (self.agent.uid, self.agent.gid) if self.agent is not None else (0, 0)
        return (f"root:x:0:0:root:/root:/bin/bash\nagent:x:{uid}:{gid}:agent:{AGENT_HOME}:/bin/bash\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")

    def group(self) -> str:
        gid = self.agent.gid if self.agent is not None else 0
        return f"root:x:0:\nagent:x:{gid}:\nprotected:x:{self.protected_gid}:\nnogroup:x:65534:\n"


def warn_shared_uid(separation: Separation, say: Any) -> None:
    """Say once that permission bits separate nothing here (no root: one host uid for all)."""
    global _warned
    if separation.agent is None and not _warned:
        _warned = True
        say("METR families: rdbench is not running as root, so the agent's sandbox and the family's "
            "root steps run as one host user: /root stays out of the agent's sight (it is never "
            "mounted there), but files start() makes root-only in /home/agent are readable by the "
            "agent (docs/metr-tasks.md, 'Separation')")


@dataclass
class Place:
    """The folders of one root sandbox."""

    root: Path
    protected: Path
    env: Path
    base_env: Path
    home: Path | None = None
    home_overlay: bool = False
    """Scoring steps: ``/home/agent`` is a copy-on-write view of ``home`` (writes are discarded)."""
    env_writable: bool = False
    """Building the image: ``install()`` and build steps may add packages to the environment."""
    extra_mounts: list[Mount] = field(default_factory=list)


class StepResult(BaseModel):
    """What one step did."""

    ok: bool
    result: Any = None
    stage: str = ""
    error: str = ""
    missing_module: str | None = None
    traceback: str = ""
    links_removed: list[str] = Field(default_factory=list)
    output_tail: str = ""
    timed_out: bool = False
    oom: bool = False
    returncode: int = 0
    duration_s: float = 0.0

    def why(self) -> str:
        """One line: how the step failed."""
        if self.timed_out:
            return f"it did not finish within its time limit ({self.duration_s:.0f} s)"
        if self.oom:
            return "it ran out of memory (the sandbox's memory limit was hit)"
        if self.error:
            return f"{self.stage} raised {self.error}"
        tail = self.output_tail.strip().splitlines()[-1:] or ["no output"]
        return f"it failed (exit {self.returncode}): {tail[0]}"


def _interpreter_mounts(venv: Path) -> list[Mount]:
    """The base interpreter's prefix when it lives outside /usr (a pyenv build, say)."""
    cfg = venv / "pyvenv.cfg"
    if not cfg.is_file():
        return []
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            prefix = Path(value.strip()).resolve().parent
            if not str(prefix).startswith("/usr"):
                return [Mount(source=prefix, target=str(prefix))]
    return []


def root_spec(argv: list[str], place: Place, separation: Separation, *, network: bool, timeout: float,
              memory_mb: int | None = None, cpus: list[int] | None = None, gpus: list[int] | None = None,
              disk_mb: int | None = None, env: dict[str, str] | None = None,
              call_dir: Path | None = None) -> OneShotSpec:
    """The one-shot spec of ``argv`` in a root sandbox laid out as ``place``."""
    mounts = [
        Mount(source=place.root, target="/root", mode="rw"),
        Mount(source=place.protected, target="/protected", mode="rw"),
        Mount(source=place.env, target=ENV_DIR, mode="rw" if place.env_writable else "ro"),
        Mount(source=place.base_env, target=BASE_ENV_TARGET, mode="ro"),
        Mount(source=LIB_PATH, target=LIB_TARGET, mode="ro"),
        metr_library_mount(),
        *_interpreter_mounts(place.env),
        *place.extra_mounts,
    ]
    overlays = []
    if place.home is not None and place.home_overlay:
        overlays.append(Overlay(lower=place.home, target=AGENT_HOME))
    elif place.home is not None:
        mounts.append(Mount(source=place.home, target=AGENT_HOME, mode="rw"))
    if call_dir is not None:
        mounts.append(Mount(source=call_dir, target=CALL_TARGET, mode="ro"))
    hidden = ["/root", CALL_TARGET, PROC_TARGET]
    return OneShotSpec(
        argv=argv,
        mounts=mounts,
        overlays=overlays,
        env={"VIRTUAL_ENV": ENV_DIR, SEPARATION_ENV: separation.mode, HIDDEN_ENV: ":".join(hidden),
             "PYTHONPATH": METR_LIB_TARGET, **(env or {})},
        cwd="/root",
        timeout=timeout,
        memory_mb=memory_mb,
        cpus=format_cpus(cpus) if cpus else None,
        gpus=list(gpus or []),
        network=network,
        disk_mb=disk_mb if overlays else None,
        private_proc=PROC_TARGET,
        root=True,
        passwd=separation.passwd(),
        group=separation.group(),
    )


async def run_command(argv: list[str], place: Place, separation: Separation, **options: Any) -> OneShotResult:
    """Run a plain command (a build step's shell commands) in a root sandbox."""
    return await run_oneshot(root_spec(argv, place, separation, **options))


async def run_step(
    op: str,
    family: str,
    place: Place,
    separation: Separation,
    *,
    task: str | None = None,
    submission: str | None = None,
    score_log: list[dict[str, Any]] | None = None,
    required_env: dict[str, str] | None = None,
    network: bool = False,
    timeout: float = 900.0,
    memory_mb: int | None = None,
    cpus: list[int] | None = None,
    gpus: list[int] | None = None,
    disk_mb: int | None = None,
) -> StepResult:
    """Run one of the family's steps (``setup``, ``install``, ``start``, ``intermediate_score``,
    ``score``, ``aggregate``, ``teardown``) through ``rdbench_metr`` in a root sandbox. Never
    raises for the family's failures: they are in the result."""
    call = Path(tempfile.mkdtemp(prefix="rdbench-metr-call-"))
    try:
        call.chmod(0o755)
        request = {"op": op, "family": family, "task": task, "submission": submission,
                   "score_log": score_log, "env": required_env or {},
                   "sanitize_home": place.home is not None and place.home_overlay}
        # the required variables may be secrets (API keys): a file only root can read, not the
        # sandbox's environment, which every process in it inherits
        (call / "request.json").write_text(json.dumps(request))
        (call / "request.json").chmod(0o600)
        spec = root_spec(["python", "-I", HELPER, CALL_TARGET], place, separation, network=network,
                         timeout=timeout, memory_mb=memory_mb, cpus=cpus, gpus=gpus, disk_mb=disk_mb,
                         call_dir=call)
        try:
            outcome = await run_oneshot(spec)
        except SandboxSetupError as error:
            return StepResult(ok=False, stage="making the root sandbox", error=str(error))
    finally:
        shutil.rmtree(call, ignore_errors=True)
    tail = (outcome.stderr[-6000:] + ("\n" + outcome.stdout[-2000:] if outcome.stdout else "")).strip()
    base: dict[str, Any] = {"output_tail": tail, "timed_out": outcome.timed_out, "oom": outcome.oom,
            "returncode": outcome.returncode, "duration_s": outcome.duration_s}
    if outcome.timed_out or outcome.oom:
        return StepResult(ok=False, stage=op, **base)
    for line in reversed(outcome.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                payload = json.loads(line[len(RESULT_MARKER):])
            except json.JSONDecodeError:
                break
            payload["links_removed"] = payload.get("links_removed") or []
            return StepResult(**{**payload, **base})
    return StepResult(ok=False, stage=op, error=f"the step died without a result (exit code {outcome.returncode})",
                      **base)
