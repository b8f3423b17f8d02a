"""Configuration of the ``bwrap`` sandbox (Inspect: ``sandbox=("bwrap", BwrapConfig(...))``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# the seam's names, defined there so that layers above use them without the bwrap classes
from rdbench.sandbox.api import AGENT_HOME as AGENT_HOME
from rdbench.sandbox.api import ENV_DIR as ENV_DIR
from rdbench.sandbox.api import RUN_DIR as RUN_DIR
from rdbench.sandbox.api import TOOLS_DIR as TOOLS_DIR
from rdbench.sandbox.api import WORKSPACE as WORKSPACE
from rdbench.sandbox.api import HostUser as HostUser
from rdbench.sandbox.api import Mount as Mount


class BwrapConfig(BaseModel):
    """Everything that shapes one sample's sandbox.

    Per sample, the provider creates a fresh host workspace directory (a copy of
    ``workspace_template``, or of the path in the sample metadata key ``rdbench_workspace``, or
    empty) bound read-write at ``workspace_target`` (``/home/agent/workspace``).
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
    cpus: str | None = Field(default=None, description="cpuset of every sample, e.g. '0-1' (with "
                             "cpus_per_sample 0)")
    cpus_per_sample: int = Field(
        default=0, ge=0, description="cores each sample takes from cpu_pool for its lifetime "
        "(exclusive; a sample waits while they are all taken; `nproc` inside is this number)"
    )
    cpu_pool: list[int] = Field(default_factory=list, description="core indices samples take from")
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
    workspace_target: str = Field(
        default=WORKSPACE, description="where the workspace appears inside (the default cwd)")
    host_user: HostUser | None = Field(
        default=None, description="run the sandbox as this host user (root only; rdbench.sandbox.users)")

    def __hash__(self) -> int:
        # Inspect keys sandbox configs by hash; lists and dicts are not hashable, their JSON is.
        return hash(self.model_dump_json())
