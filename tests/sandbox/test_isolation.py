"""Attempts to break out of the sandbox, which must all fail."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import pytest

from rdbench.paths import package_root
from rdbench.sandbox.config import BwrapConfig
from rdbench.sandbox.provider import BwrapSandboxEnvironment
from tests.sandbox.conftest import start

CHECKOUT = Path(__file__).resolve().parents[2]


async def test_home_checkout_and_task_data_are_invisible(
    sandbox: BwrapSandboxEnvironment, tmp_path: Path
) -> None:
    secret = Path.home() / ".rdbench-test-secret"
    secret.write_text("home secret")
    try:
        for path in [secret, CHECKOUT / "README.md", package_root() / "tasks", CHECKOUT / ".git"]:
            result = await sandbox.exec(["sh", "-c", f"cat {path} || ls {path}"])
            assert not result.success, f"{path} is visible inside the sandbox"
            assert "home secret" not in result.stdout
        listing = await sandbox.exec(["sh", "-c", "ls / /home; cat /proc/mounts"])
        assert "root" not in listing.stdout.split()
        assert str(CHECKOUT) not in listing.stdout
        # the root is the sandbox's own empty tmpfs, never the host's filesystem bound as a whole
        roots = [line.split() for line in listing.stdout.splitlines() if line.split()[1:2] == ["/"]]
        assert roots and all(fields[2] == "tmpfs" for fields in roots), roots
    finally:
        secret.unlink()


async def test_root_is_not_mounted_and_user_is_unprivileged(sandbox: BwrapSandboxEnvironment) -> None:
    result = await sandbox.exec(["sh", "-c", "id -u; whoami; cat /proc/self/status | grep CapEff"])
    uid, name, caps = result.stdout.split("\n")[:3]
    assert uid == "1000" and name == "agent"
    assert caps.split()[-1] == "0000000000000000"
    # the host's root filesystem is not there: no /work, no /root, /etc holds only the allow-list
    result = await sandbox.exec(["sh", "-c", "ls /etc; test -e /work && echo WORK; test -e /root && echo ROOT"])
    assert "WORK" not in result.stdout and "ROOT" not in result.stdout
    assert "shadow" not in result.stdout.split()
    result = await sandbox.exec(["touch", "/usr/evil"])
    assert not result.success


async def test_no_network_to_host_loopback(sandbox: BwrapSandboxEnvironment) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[bool] = []

    def serve() -> None:
        server.settimeout(5)
        try:
            conn, _ = server.accept()
            accepted.append(True)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    code = (
        "import socket,sys\n"
        f"s=socket.socket(); s.settimeout(2)\n"
        f"try:\n s.connect(('127.0.0.1',{port})); print('CONNECTED')\n"
        "except OSError as e: print('refused', e)\n"
    )
    result = await sandbox.exec(["python3", "-c", code])
    thread.join()
    server.close()
    assert "CONNECTED" not in result.stdout
    assert not accepted
    # loopback inside the sandbox works (its own network namespace)
    inner = await sandbox.exec(["sh", "-c", "cat /sys/class/net/lo/operstate 2>/dev/null || ip link 2>&1 | head -3"])
    assert "eth" not in inner.stdout


async def test_writes_outside_workspace_do_not_reach_host(
    sandbox: BwrapSandboxEnvironment, tmp_path: Path
) -> None:
    marker = f"rdbench-escape-{os.getpid()}"
    result = await sandbox.exec(["sh", "-c", f"echo x > /tmp/{marker}; echo x > /var/tmp/{marker}; "
                                 f"echo x > /home/agent/{marker}; echo ok"])
    assert result.stdout.strip() == "ok"
    for host_dir in ["/tmp", "/var/tmp", str(Path.home())]:
        assert not (Path(host_dir) / marker).exists()
    # the workspace is the only shared place, and the host sees it
    await sandbox.exec(["sh", "-c", "echo hi > in_workspace.txt"])
    assert (sandbox.workspace_path / "in_workspace.txt").read_text() == "hi\n"


async def test_memory_bomb_is_contained_and_reported(sandbox: BwrapSandboxEnvironment) -> None:
    bomb = "x = []\nwhile True:\n    x.append(bytearray(50 * 2**20))\n"
    result = await sandbox.exec(["python3", "-c", bomb], timeout=60)
    assert not result.success
    assert "memory limit" in result.stderr or "MemoryError" in result.stderr
    after = await sandbox.exec(["echo", "alive"])
    assert after.stdout.strip() == "alive"


async def test_fork_bomb_is_contained_and_reported(sandbox: BwrapSandboxEnvironment) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    with pytest.raises(TimeoutError):
        await sandbox.exec(["python3", "-c", bomb], timeout=3)
    # the next exec works once the bomb's process group is gone
    for _ in range(50):
        after = await sandbox.exec(["echo", "alive"])
        if after.success:
            break
        await asyncio.sleep(0.1)
    assert after.stdout.strip() == "alive"
    hit = await sandbox.exec(["sh", "-c", "for i in $(seq 300); do sleep 5 & done; wait"], timeout=20)
    assert "process limit" in hit.stderr


async def test_background_job_survives_between_execs(sandbox: BwrapSandboxEnvironment) -> None:
    start_job = await sandbox.exec(
        ["sh", "-c", "nohup python3 -c 'import time\nwhile True: time.sleep(0.1)' > job.log 2>&1 & echo $!"]
    )
    pid = start_job.stdout.strip()
    await asyncio.sleep(0.5)
    check = await sandbox.exec(["sh", "-c", f"kill -0 {pid} && echo running"])
    assert check.stdout.strip() == "running"
    # a job that prints to the exec's own pipes doesn't hold the reply either
    quick = await sandbox.exec(["sh", "-c", "(while true; do echo tick; sleep 0.2; done) & echo started"],
                               timeout=10)
    assert "started" in quick.stdout


async def test_cleanup_leaves_no_process() -> None:
    env = await start(BwrapConfig())
    await env.exec(["sh", "-c", "nohup sleep 1000 > /dev/null 2>&1 & setsid sleep 999 > /dev/null 2>&1 &"])
    daemon = await env.process.request({"op": "ping"})
    assert daemon["ok"]
    host_pids = env.process.cgroups.pids()
    assert len(host_pids) >= 3
    await env.close()
    await asyncio.sleep(0.2)
    alive = [pid for pid in host_pids if Path(f"/proc/{pid}").exists()
             and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert alive == []
    assert not env.workspace_path.exists()


async def test_freeze_pauses_background_jobs(sandbox: BwrapSandboxEnvironment) -> None:
    await sandbox.exec(["sh", "-c", "nohup sh -c 'i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.05; done' >/dev/null 2>&1 &"])
    await asyncio.sleep(0.3)
    await sandbox.freeze()
    first = (sandbox.workspace_path / "count").read_text()
    await asyncio.sleep(0.4)
    second = (sandbox.workspace_path / "count").read_text()
    await sandbox.thaw()
    await asyncio.sleep(0.4)
    third = (sandbox.workspace_path / "count").read_text()
    assert first == second
    assert int(third) > int(second)


async def test_workspace_template_and_missing_bwrap_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = tmp_path / "tpl"
    template.mkdir()
    (template / "start.py").write_text("print('hello from template')\n")
    env = await start(metadata={"rdbench_workspace": str(template)})
    try:
        result = await env.exec(["python3", "start.py"])
        assert result.stdout.strip() == "hello from template"
    finally:
        await env.close()
    from rdbench.sandbox import bwrap
    from rdbench.sandbox.errors import SandboxSetupError

    bwrap.bwrap_path.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        with pytest.raises(SandboxSetupError, match="apt-get install bubblewrap"):
            bwrap.bwrap_path()
    finally:
        monkeypatch.undo()
        bwrap.bwrap_path.cache_clear()
