"""A real one-node Slurm cluster on the loopback address (tests and benchmarks/slurm.py).

:func:`start_cluster` writes a slurm.conf with the controller and the node on 127.0.0.1, starts
munged (its own key and socket), slurmctld and slurmd with all their state under a folder, and
:func:`stop_cluster` stops them by pid. It needs root (slurmd runs jobs as their user) and Debian's
``slurm-wlm`` and ``munge`` (``make setup`` installs them as root): :func:`why_not` says what is
missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdbench.sandbox.api import host_cpus

NODE = "rdbench-node"
PARTITION = "debug"
START_TIMEOUT_S = 60.0


@dataclass
class SlurmCluster:
    """A running local cluster: its config and the environment its commands need."""

    root: Path
    conf: Path
    cpus: int
    env: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm command (sinfo, squeue, scancel, ...) against this cluster."""
        return subprocess.run(list(argv), env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=60, check=check)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def why_not() -> str | None:
    if os.geteuid() != 0:
        return "a local Slurm cluster needs root (slurmd runs jobs as their user)"
    missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "bwrap")
               if shutil.which(t) is None]
    if missing:
        return f"no {', '.join(missing)}: `make setup` as root installs slurm-wlm and munge"
    return None


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


def _conf(root: Path, cpus: int, ctld_port: int, slurmd_port: int) -> str:
    memory = int(_memory_mb() * 0.8)  # slurmd refuses a node that claims more than it has
    return f"""\
ClusterName=rdbenchtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""


def _stop(pids: dict[str, int]) -> None:
    for name in ("slurmd", "slurmctld", "munged"):
        pid = pids.get(name)
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
                finished, _ = os.waitpid(pid, os.WNOHANG)
                if finished:
                    break
            except (ProcessLookupError, ChildProcessError):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)




class ClusterStartError(RuntimeError):
    """The cluster did not come up; the message holds the daemons' log tails."""


def start_cluster(root: Path) -> SlurmCluster:
    """Start a cluster with its state under ``root`` (an empty folder); stop it with
    :func:`stop_cluster`.

    Raises:
        ClusterStartError: The node did not become idle in time.
    """
    for sub in ("state", "spool", "log", "munge"):
        (root / sub).mkdir()
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o600)
    cpus = len(host_cpus())
    conf = root / "slurm.conf"
    conf.write_text(_conf(root, cpus, _free_port(), _free_port()))
    cluster = SlurmCluster(root=root, conf=conf, cpus=cpus, env={"SLURM_CONF": str(conf)})
    starts = {
        "munged": ["munged", "-F", "--force", f"--socket={root}/munge/munge.sock", f"--key-file={key}",
                   f"--log-file={root}/log/munged.log", f"--pid-file={root}/munge/munged.pid",
                   f"--seed-file={root}/munge/seed", "--origin=127.0.0.1"],
        "slurmctld": ["slurmctld", "-D", "-i", "-f", str(conf)],
        "slurmd": ["slurmd", "-D", "-f", str(conf), "-N", NODE],
    }
    with (root / "log" / "daemons.out").open("ab") as logs:
        for name, argv in starts.items():
            proc = subprocess.Popen(argv, env={**os.environ, **cluster.env}, stdout=logs, stderr=logs,
                                    start_new_session=True)
            cluster.pids[name] = proc.pid
            if name == "munged":
                deadline = time.monotonic() + START_TIMEOUT_S
                while not (root / "munge" / "munge.sock").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        state = cluster.run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip()
        if state.startswith("idle"):
            return cluster
        if time.monotonic() > deadline:
            tails = {p.name: p.read_text()[-2000:] for p in (root / "log").glob("*.log")}
            stop_cluster(cluster)
            raise ClusterStartError(f"the local Slurm cluster did not come up (node state {state!r}): {tails}")
        time.sleep(0.2)


def stop_cluster(cluster: SlurmCluster) -> None:
    """Kill the cluster's jobs, then stop its daemons by pid."""
    with contextlib.suppress(Exception):
        cluster.run("scancel", "--full", "-s", "KILL", "-u", "root", check=False)
    _stop(cluster.pids)
