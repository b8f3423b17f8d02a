"""The ``bwrap`` sandbox provider for Inspect AI: one persistent bubblewrap sandbox per sample.

Registered through rdbench's Inspect plugin entry point, so any Inspect task can say
``sandbox="bwrap"`` or ``sandbox=("bwrap", BwrapConfig(...))``.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, overload

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxConnection,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUserUnsupportedError,
    sandboxenv,
)
from pydantic import BaseModel

from rdbench.errors import UserError
from rdbench.sandbox.bwrap import SandboxLayout, bwrap_path
from rdbench.sandbox.config import AGENT_HOME, BwrapConfig
from rdbench.sandbox.gpus import pool_for
from rdbench.sandbox.interactive import connection_command
from rdbench.sandbox.limits import LimitSpec
from rdbench.sandbox.process import SandboxProcess
from rdbench.sandbox.quota import SizedFolder
from rdbench.sandbox.resources import cpu_pool_for, format_cpus, parse_cpus
from rdbench.sandbox.users import chown_tree

log = logging.getLogger(__name__)
WORKSPACE_METADATA_KEY = "rdbench_workspace"
_ERRORS: dict[str, type[OSError]] = {
    "FileNotFoundError": FileNotFoundError,
    "PermissionError": PermissionError,
    "IsADirectoryError": IsADirectoryError,
    "NotADirectoryError": NotADirectoryError,
}


def _resolve_config(config: SandboxEnvironmentConfigType | None) -> BwrapConfig:
    if config is None:
        return BwrapConfig()
    if isinstance(config, BwrapConfig):
        return config
    if isinstance(config, BaseModel):
        return BwrapConfig.model_validate(config.model_dump())
    raise UserError(
        f"the bwrap sandbox takes a BwrapConfig (sandbox=('bwrap', BwrapConfig(...))), got {config!r}"
    )


@sandboxenv(name="bwrap")
class BwrapSandboxEnvironment(SandboxEnvironment):
    """A persistent bubblewrap sandbox: background jobs outlive the exec that started them.

    Implements rdbench's :class:`~rdbench.sandbox.api.ResearchSandbox` (the seam the harness uses).
    """

    def __init__(
        self, process: SandboxProcess, config: BwrapConfig, state_dir: Path, gpus: list[int] | None = None,
        disk: SizedFolder | None = None, cpus: list[int] | None = None,
    ) -> None:
        super().__init__()
        self._process = process
        self._config = config
        self._state_dir = state_dir
        self._disk = disk
        self.workspace_path: Path = state_dir / "workspace"
        self.run_dir: Path = state_dir / "run"
        self.gpus: list[int] = list(gpus if gpus is not None else config.gpus)
        """The NVIDIA devices bound into this sandbox (its scorer gets the same)."""
        self.cpus: list[int] = list(cpus if cpus is not None else
                                    parse_cpus(config.cpus) if config.cpus else [])
        """The host cores this sandbox runs on (its scorer gets the same); empty: not pinned."""

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return BwrapConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        bwrap_path()  # one clear error up front when bwrap or user namespaces are missing

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        cfg = _resolve_config(config)
        base = cfg.state_dir or Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="rdbench-sample-", dir=base))
        workspace = state_dir / "workspace"
        disk: SizedFolder | None = None
        if cfg.disk_mb:
            # the workspace on a filesystem of its own: filling it fails in the agent's shell
            # ("No space left on device"), not on the host
            disk = SizedFolder(state_dir / "disk", cfg.disk_mb)
            disk.create()
            (disk.path / "workspace").mkdir()
            workspace.symlink_to(disk.path / "workspace")
            workspace = disk.path / "workspace"
        template = metadata.get(WORKSPACE_METADATA_KEY) or cfg.workspace_template
        if template:
            shutil.copytree(template, workspace, symlinks=True, dirs_exist_ok=True)
        elif not workspace.exists():
            workspace.mkdir()
        workspace.chmod(0o755)
        if cfg.host_user is not None:
            # the sandbox's user must reach its folders (bwrap resolves the binds as that user) and
            # own its workspace; the state folder's other contents stay unreadable to it
            state_dir.chmod(0o711)
            if disk is not None:
                disk.path.chmod(0o711)
            chown_tree(workspace, cfg.host_user)
        run_dir = state_dir / "run"
        run_dir.mkdir()
        gpus = list(cfg.gpus)
        cpus = parse_cpus(cfg.cpus) if cfg.cpus else []
        try:
            # GPUs before cores in every sample: one order, so two samples never wait on each other
            if cfg.gpus_per_sample:
                gpus = await pool_for(cfg.gpu_pool).acquire(cfg.gpus_per_sample)
            if cfg.cpus_per_sample:
                cpus = await cpu_pool_for(cfg.cpu_pool).acquire(cfg.cpus_per_sample)
        except BaseException:
            await _release(cfg, gpus, [])
            _discard(disk, state_dir)
            raise
        layout = SandboxLayout(
            workspace=workspace,
            workspace_target=cfg.workspace_target,
            mounts=list(cfg.mounts),
            python_env=cfg.python_env,
            network=cfg.network,
            gpus=gpus,
            env=dict(cfg.env),
        )
        limits = LimitSpec(cfg.memory_mb, cfg.pids, format_cpus(cpus) if cpus else None)
        process = SandboxProcess(layout, limits, run_dir, host_user=cfg.host_user)
        try:
            await process.start()
        except BaseException:
            await _release(cfg, gpus, cpus)
            _discard(disk, state_dir)
            raise
        environment = cls(process, cfg, state_dir, gpus, disk, cpus)
        environment.workspace_path = workspace
        return {"default": environment}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            if isinstance(environment, BwrapSandboxEnvironment):
                await environment.close()

    async def close(self) -> None:
        """Kill every process of the sandbox and delete its state (unless keep_workspace)."""
        await self._process.stop()
        await _release(self._config, self.gpus, self.cpus)
        if self._config.gpus_per_sample:
            self.gpus = []
        if self._config.cpus_per_sample:
            self.cpus = []
        if self._config.keep_workspace:
            if self._disk is not None and self._disk.limited:
                # keep the files, not the mount: copy them off the size-limited filesystem
                kept = self._state_dir / "workspace"
                kept.unlink(missing_ok=True)
                shutil.copytree(self.workspace_path, kept, symlinks=True)
                self._disk.destroy()
                self.workspace_path = kept
            log.info("kept workspace %s", self.workspace_path)
        else:
            if self._disk is not None:
                self._disk.destroy()
            shutil.rmtree(self._state_dir, ignore_errors=True)

    @property
    def process(self) -> SandboxProcess:
        """The underlying sandbox process (for interactive shells and diagnostics)."""
        return self._process

    async def freeze(self) -> None:
        """Pause every process of the sandbox (e.g. while the harness scores a snapshot)."""
        if not self._process.freeze(True):
            log.warning("no cgroup freezer available: the sandbox keeps running while it is scored")

    async def thaw(self) -> None:
        """Resume the sandbox after :meth:`freeze`."""
        self._process.freeze(False)

    @asynccontextmanager
    async def live_workspace(self) -> AsyncIterator[Path]:
        """The live workspace folder on the host, the sandbox frozen while the block runs (the
        harness may change it; files it makes are its own user's unless it gives them away)."""
        await self.freeze()
        try:
            yield self.workspace_path
        finally:
            await self.thaw()

    @asynccontextmanager
    async def workspace_snapshot(self) -> AsyncIterator[Path]:
        """The workspace as it is now, unchanging while the block runs: the sandbox is frozen and the
        live folder is the snapshot (the scorer overlays it copy-on-write, so it is never copied)."""
        await self.freeze()
        try:
            yield self.workspace_path
        finally:
            await self.thaw()

    @property
    def host_dir(self) -> Path:
        """The sample's host folder, bound read-only at ``/run/rdbench`` (host-call sockets)."""
        return self.run_dir

    def host_call_socket(self, name: str) -> Path:
        """Where a host-call server listens for the client commands (``/run/rdbench/<name>.sock``)."""
        return self.run_dir / f"{name}.sock"

    async def connection(self, *, user: str | None = None) -> SandboxConnection:
        """A shell command that opens an interactive shell in this sandbox (needs root on the host:
        it enters the sandbox's namespaces with ``nsenter``); ``rdbench human`` runs it on a pty."""
        if user is not None and user != "agent":
            raise SandboxUserUnsupportedError(f"the bwrap sandbox has one user, 'agent' (not {user!r})")
        try:
            command = connection_command(self._process)
        except RuntimeError as error:
            raise ConnectionError(str(error)) from error
        return SandboxConnection(type="bwrap", command=command)

    def _path(self, file: str) -> str:
        return file if posixpath.isabs(file) else posixpath.join(self._config.workspace_target, file)

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        if user is not None and user != "agent":
            raise SandboxUserUnsupportedError(
                f"the bwrap sandbox runs every command as 'agent' (a single-user namespace); "
                f"user {user!r} is not available"
            )
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        data = input.encode() if isinstance(input, str) else input
        reply = await self._process.exec(
            cmd,
            input=data,
            cwd=self._path(cwd) if cwd else self._config.workspace_target,
            env=env,
            timeout=timeout,
            output_limit=min(limit, self._config.output_limit),
        )
        if reply.get("permission_error"):
            raise PermissionError(f"cannot execute {cmd[0]}: permission denied")
        stdout = reply["stdout"].decode(errors="replace")
        stderr = reply["stderr"].decode(errors="replace")
        if reply["timed_out"]:
            raise TimeoutError(f"command timed out after {timeout} seconds (process group killed)")
        notes = []
        if reply["oom"]:
            notes.append(f"[rdbench] killed: the sandbox's memory limit ({self._config.memory_mb} MB) was hit")
        if reply["pids_limited"]:
            notes.append(f"[rdbench] the sandbox's process limit ({self._config.pids}) was hit")
        if notes:
            stderr = (stderr + "\n" if stderr else "") + "\n".join(notes)
        if reply["truncated"]:
            raise OutputLimitExceededError(
                limit_str=SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE_STR,
                truncated_output=stdout,
            )
        code = int(reply["returncode"])
        # a negative code is death by signal; report it like a shell does
        code = 128 - code if code < 0 else code
        return ExecResult(success=code == 0, returncode=code, stdout=stdout, stderr=stderr)

    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode() if isinstance(contents, str) else contents
        import base64

        reply = await self._process.request(
            {"op": "write_file", "path": self._path(file), "data_b64": base64.b64encode(data).decode()}
        )
        self._raise(reply, file)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        import base64

        reply = await self._process.request(
            {"op": "read_file", "path": self._path(file),
             "max_size": SandboxEnvironmentLimits.MAX_READ_FILE_SIZE}
        )
        if reply.get("error") == "OutputLimitExceededError":
            raise OutputLimitExceededError(
                limit_str=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, truncated_output=None
            )
        self._raise(reply, file)
        data = base64.b64decode(reply["data_b64"])
        return data.decode() if text else data

    def _raise(self, reply: dict[str, Any], file: str) -> None:
        if "error" not in reply:
            return
        kind = _ERRORS.get(reply["error"], OSError)
        raise kind(f"{reply.get('message')} (file: {file})")

    def default_home(self) -> str:
        return AGENT_HOME

    def default_polling_interval(self) -> float:
        # Inspect's sandbox services (e.g. the agent bridge's model proxy) poll with one exec per
        # interval; an exec here is a cheap Unix-socket round trip, as with Inspect's docker and
        # local sandboxes, which also use 0.2 s (the base default of 2 s adds ~1 s per model call).
        return 0.2


async def _release(cfg: BwrapConfig, gpus: list[int], cpus: list[int]) -> None:
    """Give a sample's pooled GPUs and cores back."""
    if cfg.gpus_per_sample and gpus:
        await pool_for(cfg.gpu_pool).release(gpus)
    if cfg.cpus_per_sample and cpus:
        await cpu_pool_for(cfg.cpu_pool).release(cpus)


def _discard(disk: SizedFolder | None, state_dir: Path) -> None:
    if disk is not None:
        disk.destroy()
    shutil.rmtree(state_dir, ignore_errors=True)
