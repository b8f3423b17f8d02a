"""Configuration of the ``bwrap`` sandbox (Inspect: ``sandbox=("bwrap", BwrapConfig(...))``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AGENT_HOME = "/home/agent"
WORKSPACE = "/home/agent/workspace"
RUN_DIR = "/run/rdbench"
"""Per-sample host directory bound read-only inside; host services put their sockets here."""
TOOLS_DIR = "/opt/rdbench/bin"
"""Stdlib-only client commands (``score``, ``score-log``, ...) on the sandbox's PATH."""
ENV_DIR = "/opt/rdbench/env"
"""Where the task's Python environment (a venv) is mounted read-only."""


class Mount(BaseModel):
    """A bind mount from the host into the sandbox."""

    model_config = ConfigDict(frozen=True)

    source: Path
    target: str
    mode: Literal["ro", "rw"] = "ro"


class BwrapConfig(BaseModel):
    """Everything that shapes one sample's sandbox.

    Per sample, the provider creates a fresh host workspace directory (a copy of
    ``workspace_template``, or of the path in the sample metadata key ``rdbench_workspace``, or
    empty) bound read-write at ``/home/agent/workspace``.
    """

    model_config = ConfigDict(frozen=True)

    workspace_template: Path | None = None
    mounts: list[Mount] = Field(default_factory=list)
    python_env: Path | None = Field(
        default=None, description="a venv mounted read-only at /opt/rdbench/env, its bin on PATH"
    )
    network: bool = False
    memory_mb: int | None = Field(default=None, description="memory limit of the whole sandbox")
    pids: int | None = Field(default=1024, description="process/thread limit of the whole sandbox")
    cpus: str | None = Field(default=None, description="cpuset, e.g. '0-1'")
    gpus: list[int] = Field(default_factory=list, description="NVIDIA device indices bound in")
    gpus_per_sample: int = Field(
        default=0, ge=0, description="GPUs each sample takes from gpu_pool for its lifetime "
        "(exclusive; a sample waits while they are all taken); 0: bind `gpus` as they are"
    )
    gpu_pool: list[int] = Field(default_factory=list, description="device indices samples take from")
    output_limit: int = Field(default=10 * 1024 * 1024, description="bytes of stdout/stderr per exec")
    env: dict[str, str] = Field(default_factory=dict)
    state_dir: Path | None = Field(
        default=None, description="host dir for per-sample workspaces; default: a temp dir"
    )
    keep_workspace: bool = False
    disk_mb: int | None = Field(
        default=None, description="cap on what the sample's workspace may hold (a size-limited "
        "filesystem where the host allows one; see rdbench.sandbox.quota)"
    )

    def __hash__(self) -> int:
        # Inspect keys sandbox configs by hash; lists and dicts are not hashable, their JSON is.
        return hash(self.model_dump_json())
