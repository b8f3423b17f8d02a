"""Building the bubblewrap command line: an allow-list of mounts, namespaces, user, devices.

Shared by the persistent per-sample sandbox and the one-shot scoring sandbox.
"""

from __future__ import annotations

import glob
import operator
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache, reduce
from pathlib import Path

from rdbench.sandbox.api import AGENT_UID
from rdbench.sandbox.config import AGENT_HOME, ENV_DIR, TOOLS_DIR, WORKSPACE, HostUser, Mount
from rdbench.sandbox.errors import SandboxSetupError

AGENT_GID = AGENT_UID
ROOT_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
                     "CAP_SETUID", "CAP_SETGID", "CAP_KILL"]
"""What a root sandbox run by host root keeps: file ownership and user switching, as root in a task
container does for its files, but no mounts, no raw devices, no module loading, no ptrace of the
host: its mount, pid, ipc, uts and (unless allowed) network namespaces are its own."""
SERVICES_DIR = "/opt/rdbench/services"
DEFAULT_PATH = f"{ENV_DIR}/bin:{TOOLS_DIR}:{SERVICES_DIR}:/usr/local/bin:/usr/bin:/bin"
# System paths bound read-only when present. Never "/" as a whole, never /home, /root or /work.
SYSTEM_RO = ["/usr", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache",
             "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
             "/etc/mime.types", "/etc/python3", "/etc/python3.11", "/etc/fonts", "/etc/gitconfig",
             "/etc/os-release"]  # os-release: Inspect's sandbox tools (agent bridge) detect the OS
MERGED_USR_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64",
                    "/lib32": "usr/lib32", "/libx32": "usr/libx32"}


@cache
def bwrap_path() -> str:
    """The bwrap binary, checked to work (user namespaces enabled).

    Raises:
        SandboxSetupError: bwrap is missing or cannot create namespaces, with the fix.
    """
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxSetupError(
            "bubblewrap (bwrap) is not installed; install it with `sudo apt-get install bubblewrap` "
            "(Debian/Ubuntu) or your distribution's package, then retry"
        )
    probe = subprocess.run(
        [path, "--unshare-user", "--unshare-pid", "--ro-bind", "/usr", "/usr",
         *reduce(operator.iadd, (["--symlink", t, s] for s, t in MERGED_USR_LINKS.items() if os.path.islink(s)), []),
         "--proc", "/proc", "--dev", "/dev", "true"],
        capture_output=True, text=True,
    )
    if probe.returncode != 0:
        raise SandboxSetupError(
            f"bubblewrap cannot create a sandbox here ({probe.stderr.strip()}). Unprivileged user "
            "namespaces are probably disabled: enable them with "
            "`sudo sysctl -w kernel.unprivileged_userns_clone=1` (Debian) and "
            "`sudo sysctl -w user.max_user_namespaces=15000`, or on Ubuntu 24.04+ "
            "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
        )
    return path


@dataclass
class SandboxLayout:
    """Everything that goes into one bwrap command line."""

    workspace: Path | None = None
    workspace_target: str = WORKSPACE
    mounts: list[Mount] = field(default_factory=list)
    python_env: Path | None = None
    network: bool = False
    gpus: list[int] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    hostname: str = "rdbench"
    root: bool = False
    """Run as uid 0 (see ``OneShotSpec.root``): host root with :data:`ROOT_CAPABILITIES` when this
    process is root, else uid 0 of a user namespace."""
    passwd: str | None = None
    group: str | None = None
    run_as: HostUser | None = None
    """Root only: no user namespace; bwrap (as root) mounts, and the command runs as this host user
    (``setpriv`` in front of it), so root-owned files keep their permission bits against it."""


def _etc_files(workdir: Path, layout: SandboxLayout | None = None) -> dict[str, Path]:
    """Generated /etc/passwd, /etc/group and /etc/hosts (the agent user, unless the layout says)."""
    files = {
        "passwd": f"root:x:0:0:root:/root:/bin/sh\nagent:x:{AGENT_UID}:{AGENT_GID}:agent:{AGENT_HOME}:/bin/bash\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nagent:x:{AGENT_GID}:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1 localhost rdbench\n::1 localhost ip6-localhost\n",
    }
    if layout is not None and layout.run_as is not None:
        uid, gid = layout.run_as.uid, layout.run_as.gid
        files["passwd"] = (f"root:x:0:0:root:/root:/bin/sh\nagent:x:{uid}:{gid}:agent:{AGENT_HOME}:/bin/bash\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
        files["group"] = f"root:x:0:\nagent:x:{gid}:\nnogroup:x:65534:\n"
    if layout is not None and layout.passwd is not None:
        files["passwd"] = layout.passwd
    if layout is not None and layout.group is not None:
        files["group"] = layout.group
    out = {}
    for name, text in files.items():
        path = workdir / f"etc-{name}"
        path.write_text(text)
        out[f"/etc/{name}"] = path
    return out


def base_environment(layout: SandboxLayout) -> dict[str, str]:
    """The environment of commands in the sandbox."""
    env = {
        "HOME": "/root" if layout.root else AGENT_HOME,
        "USER": "root" if layout.root else "agent",
        "LOGNAME": "root" if layout.root else "agent",
        "PATH": DEFAULT_PATH,
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        "TMPDIR": "/tmp",
        "PYTHONUNBUFFERED": "1",
    }
    if layout.python_env is not None:
        env["VIRTUAL_ENV"] = ENV_DIR
    if layout.gpus:
        # device indices are /dev/nvidiaN minors, which follow the PCI bus order; CUDA's default
        # order is "fastest first", so without this a sandbox could address another GPU's index
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in layout.gpus)
        # where the host finds the driver's libraries only through LD_LIBRARY_PATH (some CUDA images),
        # the sandbox needs the same entries; only those under the read-only system folders it binds
        inherited = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":")
                     if p.startswith("/usr/") and os.path.isdir(p)]
        if inherited:
            env["LD_LIBRARY_PATH"] = ":".join(inherited)
    env.update(layout.env)
    return env


def _interpreter_prefix(venv: Path) -> str | None:
    """The base interpreter's prefix of a venv, when it lives outside /usr (e.g. pyenv)."""
    cfg = venv / "pyvenv.cfg"
    if not cfg.exists():
        return None
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            home = Path(value.strip()).resolve()
            prefix = home.parent
            if not str(prefix).startswith("/usr"):
                return str(prefix)
    return None


def gpu_args(gpus: list[int]) -> list[str]:
    """Bind only the assigned NVIDIA devices (plus the shared control devices)."""
    if not gpus:
        return []
    args: list[str] = []
    for index in gpus:
        device = f"/dev/nvidia{index}"
        if not os.path.exists(device):
            raise SandboxSetupError(f"GPU {index} was assigned but {device} does not exist")
        args += ["--dev-bind", device, device]
    for shared in ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset",
                   *glob.glob("/dev/nvidia-caps/*")]:
        if os.path.exists(shared):
            args += ["--dev-bind", shared, shared]
    if os.path.isdir("/sys"):
        args += ["--ro-bind", "/sys", "/sys"]
    return args


def build_args(layout: SandboxLayout, workdir: Path) -> list[str]:
    """The bwrap arguments (without the command) for ``layout``.

    Args:
        layout: Mounts, environment, network and devices.
        workdir: A host directory for generated files (/etc/passwd, ...), kept while the sandbox runs.
    """
    args = [bwrap_path(), "--die-with-parent", "--new-session"]
    if layout.root and os.geteuid() == 0:
        # host root in namespaces of its own but the host's user namespace: its file capabilities
        # apply to files of any host user (an agent's, run as its own uid), as root's in a container
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not layout.network:
            args.append("--unshare-net")
        args += ["--hostname", layout.hostname, "--cap-drop", "ALL"]
        for capability in ROOT_CAPABILITIES:
            args += ["--cap-add", capability]
    elif layout.run_as is not None and os.geteuid() == 0:
        # no user namespace: the host user's own permissions, in namespaces of its own; bwrap keeps
        # only what setpriv needs to become that user (which then clears every capability)
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not layout.network:
            args.append("--unshare-net")
        args += ["--hostname", layout.hostname, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                 "--cap-add", "CAP_SETGID"]
    else:
        args.append("--unshare-all")
        if layout.network:
            args.append("--share-net")
        uid = 0 if layout.root else AGENT_UID
        args += ["--unshare-user", "--uid", str(uid), "--gid", str(uid),
                 "--hostname", layout.hostname, "--cap-drop", "ALL"]
    for path in SYSTEM_RO:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for link, target in MERGED_USR_LINKS.items():
        if os.path.islink(link):
            args += ["--symlink", target, link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for target, source in _etc_files(workdir, layout).items():
        args += ["--ro-bind", str(source), target]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run",
             "--dir", "/var/tmp", "--tmpfs", "/home", "--dir", AGENT_HOME]
    if layout.workspace is not None:
        args += ["--bind", str(layout.workspace), layout.workspace_target]
    if layout.python_env is not None:
        args += ["--ro-bind", str(layout.python_env), ENV_DIR]
        prefix = _interpreter_prefix(layout.python_env)
        if prefix is not None:
            args += ["--ro-bind", prefix, prefix]
    args += ["--ro-bind", str(tools_dir()), TOOLS_DIR]
    for mount in layout.mounts:
        flag = "--bind" if mount.mode == "rw" else "--ro-bind"
        args += [flag, str(mount.source), mount.target]
    args += gpu_args(layout.gpus)
    args += layout.extra_args
    home = "/root" if layout.root else AGENT_HOME
    args += ["--chdir", layout.workspace_target if layout.workspace is not None else home]
    if os.geteuid() == 0 and (layout.root or layout.run_as is not None):
        args = _open_folders(args)
    return args


_TARGETED = {"--bind": 2, "--ro-bind": 2, "--bind-try": 2, "--ro-bind-try": 2, "--dev-bind": 2,
             "--dev-bind-try": 2, "--symlink": 2, "--tmpfs": 1, "--dir": 1, "--proc": 1, "--dev": 1}
_WORLD_WRITABLE = {"/tmp", "/var/tmp", "/dev/shm"}


def _open_folders(args: list[str]) -> list[str]:
    """Without a user namespace bwrap makes the folders it needs for a mount 0700 and root's, which
    a sandbox run as another user cannot enter: make every parent of a mount point first, 0755, and
    the temporary folders 1777 (as on any host)."""
    parents: set[str] = set()
    first = len(args)
    i = 0
    while i < len(args):
        width = _TARGETED.get(args[i])
        if width is None:
            i += 1
            continue
        first = min(first, i)
        target = args[i + width]
        parent = os.path.dirname(target.rstrip("/"))
        while parent not in ("", "/"):
            parents.add(parent)
            parent = os.path.dirname(parent)
        i += width + 1
    made: list[str] = []
    for folder in sorted(parents, key=lambda p: (p.count("/"), p)):
        made += ["--perms", "0755", "--dir", folder]
    out = [*args[:first], *made]
    i = first
    while i < len(args):
        token = args[i]
        if token in ("--tmpfs", "--dir") and i + 1 < len(args) and args[i + 1] in _WORLD_WRITABLE:
            out += ["--perms", "1777", token, args[i + 1]]
            i += 2
            continue
        if token == "--tmpfs" and i + 1 < len(args):
            out += ["--perms", "0755", token, args[i + 1]]
            i += 2
            continue
        out.append(token)
        i += 1
    return out


@cache
def tools_dir() -> Path:
    """A host folder of the stdlib commands put on the sandbox's PATH (``score``, ``status``, ...)."""
    from rdbench.sandbox.hostcall import CLIENT_COMMANDS, client_source

    root = Path(tempfile.gettempdir()) / f"rdbench-tools-{os.getuid()}-{abs(hash(client_source())) % 10**10}"
    if not (root / "hostcall").exists():
        staging = Path(tempfile.mkdtemp(prefix="rdbench-tools-"))
        (staging / "hostcall").write_text("#!/usr/bin/python3\n" + client_source())
        for name in CLIENT_COMMANDS:
            (staging / name).write_text(f'#!/bin/sh\nexec hostcall {name} "$@"\n')
        for path in staging.iterdir():
            path.chmod(0o755)
        staging.chmod(0o755)
        try:
            staging.rename(root)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return root
