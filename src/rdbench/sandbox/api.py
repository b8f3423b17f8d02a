"""The seam between rdbench and its sandbox: the one module the layers above ``rdbench.sandbox`` use.

The harness, scoring, agents, analysis and the command line reach the sandbox through this module
and Inspect's public sandbox API (``sandbox()``, ``exec``, ``read_file``, ``write_file``,
``connection``) only; an import-linter contract (``[tool.importlinter]`` in ``pyproject.toml``,
checked by ``make test``) fails the build otherwise. A sandbox author plugs in here
(``docs/sandbox.md``, "The seam"):

- an Inspect ``SandboxEnvironment`` that also implements :class:`ResearchSandbox` (freeze and thaw,
  a workspace snapshot for scoring, the host-call endpoint, the GPUs and cores it owns), and
  ``connection()`` for a person's interactive shell;
- :func:`sandbox_spec`: what a task asks of each sample's sandbox (:class:`SandboxRequest`) as an
  Inspect sandbox spec;
- :func:`run_oneshot`: one command in a fresh sandbox over copy-on-write snapshots (scoring).

Today the one implementation is the bubblewrap provider (``rdbench.sandbox.provider``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from rdbench.sandbox.errors import SandboxSetupError as SandboxSetupError
from rdbench.sandbox.gpus import gpu_plan as gpu_plan
from rdbench.sandbox.gpus import parse_gpus as parse_gpus
from rdbench.sandbox.gpuwatch import FileReader as FileReader
from rdbench.sandbox.gpuwatch import GpuUsageReader as GpuUsageReader
from rdbench.sandbox.gpuwatch import NvidiaSmiReader as NvidiaSmiReader
from rdbench.sandbox.hostcall import Handler as Handler
from rdbench.sandbox.hostcall import HostCallServer as HostCallServer
from rdbench.sandbox.interactive import PtyShell as PtyShell
from rdbench.sandbox.limits import unreaped_sandbox_cpu_s as unreaped_sandbox_cpu_s
from rdbench.sandbox.resources import cpu_plan as cpu_plan
from rdbench.sandbox.resources import format_cpus as format_cpus
from rdbench.sandbox.resources import host_cpus as host_cpus
from rdbench.sandbox.resources import parse_cpus as parse_cpus

if TYPE_CHECKING:
    from inspect_ai.util import SandboxEnvironment, SandboxEnvironmentSpec

AGENT_HOME = "/home/agent"
WORKSPACE = "/home/agent/workspace"
RUN_DIR = "/run/rdbench"
"""Where a sample's host folder (:attr:`ResearchSandbox.host_dir`) appears inside, read-only: host
services put their sockets here."""
TOOLS_DIR = "/opt/rdbench/bin"
"""Stdlib-only client commands (``score``, ``score-log``, ...) on the sandbox's PATH."""
ENV_DIR = "/opt/rdbench/env"
"""Where the task's Python environment (a venv) is mounted read-only."""
AGENT_UID = 1000
"""The agent's uid inside every sandbox (user ``agent``)."""


class HostUser(BaseModel):
    """A host uid and gid that a sandbox's processes run as (see :func:`agent_host_user`)."""

    model_config = ConfigDict(frozen=True)

    uid: int = Field(ge=1)
    gid: int = Field(ge=1)


class Mount(BaseModel):
    """A bind mount from the host into the sandbox."""

    model_config = ConfigDict(frozen=True)

    source: Path
    target: str
    mode: Literal["ro", "rw"] = "ro"


class Overlay(BaseModel):
    """A writable copy-on-write view of ``lower`` at ``target`` (changes are discarded)."""

    lower: Path
    target: str


class OneShotSpec(BaseModel):
    """One command in a fresh sandbox (:func:`run_oneshot`)."""

    argv: list[str]
    mounts: list[Mount] = Field(default_factory=list)
    overlays: list[Overlay] = Field(default_factory=list)
    python_env: Path | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    timeout: float = 120.0
    memory_mb: int | None = None
    pids: int | None = 4096
    cpus: str | None = Field(default=None, description="cores the command runs on, e.g. '0-1' or '2,3'")
    gpus: list[int] = Field(default_factory=list)
    network: bool = False
    output_limit: int = 10 * 1024 * 1024
    disk_mb: int | None = Field(default=None, description="cap on what the overlays' writes may take")
    private_proc: str | None = Field(
        default=None, description="where to mount a full /proc of the command's pid namespace")
    delegate_cgroups_to: str | None = Field(
        default=None, description="folder under which delegated cgroups are bound (0, 1, ...)")
    delegate_cgroups_env: str = Field(
        default="RDBENCH_DELEGATED_CGROUPS", description="variable that lists the bound cgroup folders")
    gpu_memory_mb: float | None = Field(
        default=None, gt=0, description="a GPU memory cap (MiB) on each run in the delegated cgroups: "
        "a watchdog here polls the driver, kills a run over it and reports (rdbench.sandbox.gpuwatch)")
    gpu_report_to: str = Field(
        default="/opt/rdbench/gpu", description="where the watchdog's reports appear inside (read-only)")
    gpu_report_env: str = Field(
        default="RDBENCH_GPU_WATCH", description="variable that names the reports' folder inside")
    root: bool = Field(
        default=False, description="run as root (uid 0) with the capabilities of file ownership and "
        "user switching: the host's root when this process is root (the sandbox then shares no user "
        "namespace with any agent), else uid 0 of a user namespace mapped to this process's user")
    passwd: str | None = Field(default=None, description="the sandbox's /etc/passwd (default: root, agent)")
    group: str | None = Field(default=None, description="the sandbox's /etc/group (default: root, agent)")


class OneShotResult(BaseModel):
    """What the command did (a timeout or an out-of-memory is a result, not an exception)."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    oom: bool = False
    output_truncated: bool = False
    duration_s: float = 0.0


class SandboxRequest(BaseModel):
    """What a task asks of each sample's sandbox, whatever implements it.

    GPUs and cores are owned per sample: with ``gpus_per_sample`` / ``cpus_per_sample`` above 0 each
    sample takes that many from ``gpu_pool`` / ``cpu_pool`` for its lifetime, exclusively, and
    waits while they are all taken (:func:`gpu_plan`, :func:`cpu_plan` choose the numbers).
    """

    model_config = ConfigDict(frozen=True)

    mounts: list[Mount] = Field(default_factory=list)
    python_env: Path | None = None
    network: bool = False
    memory_mb: int | None = None
    disk_mb: int | None = None
    env: dict[str, str] = Field(default_factory=dict)
    gpus: list[int] = Field(default_factory=list, description="bound as they are when gpus_per_sample is 0")
    gpus_per_sample: int = Field(default=0, ge=0)
    gpu_pool: list[int] = Field(default_factory=list)
    cpus_per_sample: int = Field(default=0, ge=0)
    cpu_pool: list[int] = Field(default_factory=list)
    workspace_target: str = Field(default=WORKSPACE, description="where the sample's workspace folder "
                                  "appears (the default working directory)")
    host_user: HostUser | None = Field(
        default=None, description="run the sandbox's processes as this host user (needs root; "
        "see agent_host_user): permission bits then separate them from root-owned files")


@runtime_checkable
class ResearchSandbox(Protocol):
    """What a research run needs from its sample's sandbox beyond Inspect's ``SandboxEnvironment``.

    Implemented by the sandbox environment itself (the bwrap provider's
    ``BwrapSandboxEnvironment``); reach it with :func:`research_sandbox`.
    """

    @property
    def gpus(self) -> list[int]:
        """The GPU indices this sample owns (its scorer runs on the same)."""
        ...

    @property
    def cpus(self) -> list[int]:
        """The host cores this sample owns (empty: not pinned); ``nproc`` inside is their count."""
        ...

    @property
    def host_dir(self) -> Path:
        """A host folder of this sample, deleted with it, visible read-only inside at ``RUN_DIR``:
        host-call sockets live here, and agents may keep host-side state (e.g. AIDE's journal)."""
        ...

    def host_call_socket(self, name: str) -> Path:
        """Where a :class:`HostCallServer` must listen for the sandbox's client commands (``score``,
        ``status``, services) to reach it as ``name``."""
        ...

    async def freeze(self) -> None:
        """Pause every process of the sandbox (no-op with a warning where that is impossible)."""
        ...

    async def thaw(self) -> None:
        """Resume the sandbox after :meth:`freeze`."""
        ...

    def live_workspace(self) -> AbstractAsyncContextManager[Path]:
        """``async with sandbox.live_workspace() as folder``: the sandbox frozen, ``folder`` the host
        path of the live workspace, which the harness may change (root-side steps of a task, such
        as a METR family's ``start`` and ``teardown``); the sandbox sees the changes once thawed."""
        ...

    def workspace_snapshot(self) -> AbstractAsyncContextManager[Path]:
        """``async with sandbox.workspace_snapshot() as folder``: the sandbox frozen, ``folder`` a host
        path whose contents are the workspace as it is now and do not change until the block ends.
        Score it through an :class:`Overlay` (copy-on-write: nothing written reaches the agent)."""
        ...


def research_sandbox(environment: SandboxEnvironment | None = None) -> ResearchSandbox:
    """The current sample's sandbox (or ``environment``) as a :class:`ResearchSandbox`.

    Raises:
        SandboxSetupError: The sandbox does not implement the protocol (e.g. Inspect's ``local``).
    """
    from inspect_ai.util import SandboxEnvironment, sandbox

    env = environment if environment is not None else sandbox()
    # as_type unwraps Inspect's event-logging proxy; any SandboxEnvironment class will do for that
    inner = env.as_type(SandboxEnvironment)  # type: ignore[type-abstract]
    if isinstance(inner, ResearchSandbox):
        return inner
    raise SandboxSetupError(
        f"rdbench tasks need a research sandbox (freeze, workspace snapshot, host calls); this "
        f"sample's is {type(inner).__name__}: run with the 'bwrap' sandbox"
    )


def agent_host_user() -> HostUser | None:
    """The dedicated unprivileged host user that agents' sandboxes can run as, or None.

    When this process is root, a sandbox asked to run as it (``SandboxRequest.host_user``) holds
    files and processes under that uid, so root-owned files with the usual permission bits are out
    of its reach. Without root every sandbox runs as this process's user and permission bits
    separate nothing (one warning says so). ``RDBENCH_AGENT_UID`` picks the uid (default 64011; its
    gid is the same number), ``RDBENCH_UID_SEPARATION=0`` turns the separation off.
    """
    from rdbench.sandbox.users import agent_host_user as choose

    return choose()


def chown_for(user: HostUser | None, folder: Path, keep: Callable[[Path], bool] | None = None) -> None:
    """Give ``folder`` and everything under it (links themselves, not their targets) to ``user``,
    except paths for which ``keep`` is true (left as they are, and their contents too). No-op when
    ``user`` is None."""
    from rdbench.sandbox.users import chown_tree

    if user is not None:
        chown_tree(folder, user, keep)


def sandbox_spec(request: SandboxRequest) -> SandboxEnvironmentSpec:
    """The Inspect sandbox spec that gives every sample a sandbox as ``request`` asks."""
    from inspect_ai.util import SandboxEnvironmentSpec

    from rdbench.sandbox.config import BwrapConfig

    return SandboxEnvironmentSpec("bwrap", BwrapConfig(**request.model_dump()))


async def run_oneshot(spec: OneShotSpec, gpu_reader: GpuUsageReader | None = None) -> OneShotResult:
    """Run ``spec.argv`` in a fresh sandbox and tear it down.

    ``gpu_reader`` is where the GPU watchdog of ``spec.gpu_memory_mb`` reads per-process GPU memory
    (``nvidia-smi`` when None; the tests give a :class:`FileReader`).

    Raises:
        SandboxSetupError: The sandbox could not be built. A failing, timed-out or killed command is
            a result, not an exception.
    """
    from rdbench.sandbox.oneshot import run_oneshot as run_bwrap_oneshot

    return await run_bwrap_oneshot(spec, gpu_reader)

