"""Host calls from inside the sandbox, and one-shot overlay runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdbench.sandbox.config import Mount
from rdbench.sandbox.hostcall import HostCallServer
from rdbench.sandbox.oneshot import OneShotSpec, Overlay, run_oneshot
from rdbench.sandbox.provider import BwrapSandboxEnvironment


async def test_commands_reach_the_host_service_over_a_read_only_run_dir(
    sandbox: BwrapSandboxEnvironment,
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    async def handler(op: str, args: dict[str, Any]) -> dict[str, Any]:
        calls.append((op, args))
        if op == "score":
            return {"output": "score #0: 1.5", "exit_code": 0}
        return {"output": f"{op} refused", "exit_code": 3}

    missing = await sandbox.exec(["score"])
    assert missing.returncode == 69 and "no rdbench service is running" in missing.stderr
    async with HostCallServer(sandbox.run_dir / "service.sock", handler):
        ok = await sandbox.exec(["score"])
        assert ok.success and ok.stdout.strip() == "score #0: 1.5"
        refused = await sandbox.exec(["hostcall", "judge", "--prompt", "hi there", "--n", "2", "extra"])
        assert refused.returncode == 3 and "judge refused" in refused.stderr
        piped = await sandbox.exec(["hostcall", "judge"], input='{"answer": 42}')
        assert piped.returncode == 3
        tamper = await sandbox.exec(["sh", "-c", "rm -f /run/rdbench/service.sock; touch /run/rdbench/x"])
        assert not tamper.success
        assert (sandbox.run_dir / "service.sock").exists()
    assert calls == [("score", {}), ("judge", {"prompt": "hi there", "n": "2", "argv": ["extra"]}),
                     ("judge", {"answer": 42})]


async def test_oneshot_overlay_keeps_lower_dir_untouched(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "a.txt").write_text("original\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "s.txt").write_text("hidden data\n")
    result = await run_oneshot(OneShotSpec(
        argv=["sh", "-c", "cat /ws/a.txt; echo changed > /ws/a.txt; echo new > /ws/b.txt; "
                          "cat /ws/a.txt /ws/b.txt; cat /opt/data/s.txt; id -u"],
        overlays=[Overlay(lower=lower, target="/ws")],
        mounts=[Mount(source=secret, target="/opt/data")],
        timeout=30,
    ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["original", "changed", "new", "hidden", "data", "1000"]
    assert (lower / "a.txt").read_text() == "original\n"
    assert not (lower / "b.txt").exists()


async def test_oneshot_overlay_folders_can_be_removed(tmp_path: Path) -> None:
    """A folder of the lower layer can be removed and replaced in the overlay (the scorer toolkit's
    rs.remove/put_file do it between runs of the agent's code); the lower folder stays whole. Without
    overlayfs' userxattr option in a user namespace, rmdir failed with EIO."""
    lower = tmp_path / "lower"
    (lower / "sub" / "deeper").mkdir(parents=True)
    (lower / "sub" / "deeper" / "b.txt").write_text("b\n")
    (lower / "sub" / "a.txt").write_text("a\n")
    for disk_mb in (None, 64):
        result = await run_oneshot(OneShotSpec(
            argv=["python3", "-c", "import os, shutil; shutil.rmtree('/ws/sub'); print(os.listdir('/ws')); "
                                   "os.makedirs('/ws/sub'); print(os.listdir('/ws/sub'))"],
            overlays=[Overlay(lower=lower, target="/ws")], timeout=30, disk_mb=disk_mb,
        ))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["[]", "[]"]  # removed, then an empty folder of the same name
        assert (lower / "sub" / "deeper" / "b.txt").read_text() == "b\n"


async def test_oneshot_timeout_and_oom_are_results(tmp_path: Path) -> None:
    slow = await run_oneshot(OneShotSpec(argv=["sleep", "30"], timeout=1))
    assert slow.timed_out and slow.duration_s < 10
    hog = await run_oneshot(OneShotSpec(
        argv=["python3", "-c", "x = bytearray(400 * 2**20); x[::4096] = b'1' * len(x[::4096])"],
        memory_mb=128, timeout=30,
    ))
    assert hog.returncode != 0
    assert hog.oom or "MemoryError" in hog.stderr
