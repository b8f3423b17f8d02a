"""Disk quotas (issue 12, class 5): the agent's workspace and a scoring call's writes are capped.

Filling either past its cap is a clear error where the writing happens ("No space left on device"),
and the harness, the host's disk and what was recorded carry on.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from rdbench.sandbox.config import BwrapConfig
from rdbench.sandbox.provider import BwrapSandboxEnvironment
from rdbench.sandbox.quota import SizedFolder, quota_supported
from rdbench.scoring.runner import score_workspace
from rdbench.task.assets import materialize
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task

pytestmark = pytest.mark.skipif(quota_supported() is not None, reason=f"no size-limited folders: {quota_supported()}")
TOY = Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count"


def test_a_sized_folder_refuses_writes_past_its_size(tmp_path: Path) -> None:
    folder = SizedFolder(tmp_path / "q", 32)
    folder.create()
    try:
        assert folder.limited
        with pytest.raises(OSError, match="No space left"), open(folder.path / "big", "wb") as handle:
            for _ in range(64):
                handle.write(b"\0" * 2**20)
                handle.flush()
        assert folder.usage_mb() <= 33
    finally:
        folder.destroy()
    assert not (tmp_path / "q").exists() and not (tmp_path / "q.img").exists()


def test_the_agents_workspace_is_capped_and_the_sandbox_lives_on(tmp_path: Path) -> None:
    async def go() -> tuple[str, str, str]:
        config = BwrapConfig(disk_mb=64, state_dir=tmp_path)
        envs = await BwrapSandboxEnvironment.sample_init("t", config, {})
        sandbox = envs["default"]
        try:
            fill = await sandbox.exec(["sh", "-c", "dd if=/dev/zero of=big bs=1M count=200 2>&1; echo rc=$?"])
            after = await sandbox.exec(["sh", "-c", "rm big; echo small > note && cat note"])
            host = await sandbox.exec(["df", "-m", "."])
            return fill.stdout, after.stdout, host.stdout
        finally:
            await BwrapSandboxEnvironment.sample_cleanup("t", config, envs, False)

    fill, after, df = asyncio.run(go())
    assert "No space left on device" in fill and "rc=0" not in fill, fill
    assert after.strip() == "small"  # the sandbox carries on once space is freed
    size_mb = int(df.splitlines()[-1].split()[1])
    assert size_mb <= 64, df  # the workspace's own filesystem, not the host's
    assert list(tmp_path.iterdir()) == []  # and it is gone with the sample


def test_a_scoring_calls_writes_are_capped(tmp_path: Path) -> None:
    task_dir = tmp_path / "toy_count"
    shutil.copytree(TOY, task_dir)
    spec = (task_dir / "task.yaml").read_text().replace("    memory_gb: 2\n", "    memory_gb: 2\n    disk_gb: 0.05\n", 1)
    (task_dir / "task.yaml").write_text(spec)
    task = load_task(task_dir)
    mat = materialize(task, "mini")
    ws = tmp_path / "ws"
    shutil.copytree(mat.workspace, ws)
    # the agent's code, run by the scorer, writes 200 MB into the workspace overlay (capped at ~51 MB)
    (ws / "probe.sh").write_text("dd if=/dev/zero of=big bs=1M count=200 2>/tmp/err; echo rc=$?; cat /tmp/err\n")
    result = asyncio.run(score_workspace(mat, ws, ensure_environment(task.spec.environment)))
    assert result.kind == "scored", result  # the scorer itself carried on
    assert "No space left on device" in result.details["probe"], result.details["probe"]
    assert "rc=0" not in result.details["probe"]
    assert not (ws / "big").exists()  # and nothing reached the real workspace
