"""Which host user a sandbox runs as: a dedicated unprivileged uid when rdbench runs as root.

Every bwrap sandbox maps its one inside user onto the host user that started bwrap. By default that
is this process's user, so every sandbox of a run (the agent's, the scorer's, a METR family's root
steps) holds files and processes under one host uid, and permission bits separate nothing between
them. As root, a sandbox that asks for it (``host_user``) is started through ``setpriv`` as a
dedicated unprivileged host uid instead: root-owned files it can see keep their permission bits
against it, and it cannot enter the namespaces of sandboxes run as root.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

from rdbench.sandbox.api import HostUser
from rdbench.sandbox.errors import SandboxSetupError

log = logging.getLogger(__name__)
AGENT_UID_ENV = "RDBENCH_AGENT_UID"
SEPARATION_ENV = "RDBENCH_UID_SEPARATION"
DEFAULT_AGENT_UID = 64011
"""Chosen well above Debian's ranges for people (1000-59999) and for system users (100-999), and
below ``nobody`` (65534)."""


@cache
def agent_host_user() -> HostUser | None:
    """The dedicated host user for agents' sandboxes (root only), or None (see the module docstring).

    Raises:
        SandboxSetupError: ``RDBENCH_AGENT_UID`` is not a usable uid, or ``setpriv`` is missing.
    """
    if os.geteuid() != 0 or os.environ.get(SEPARATION_ENV, "1") == "0":
        return None
    raw = os.environ.get(AGENT_UID_ENV, str(DEFAULT_AGENT_UID))
    try:
        uid = int(raw)
    except ValueError:
        raise SandboxSetupError(f"{AGENT_UID_ENV}={raw!r} is not a number; give an unused uid, e.g. "
                                f"{DEFAULT_AGENT_UID}") from None
    if not 1 <= uid < 65534:
        raise SandboxSetupError(f"{AGENT_UID_ENV}={uid} is out of range; give an unused uid between 1 and "
                                "65533 (not 0: root, not 65534: nobody)")
    if shutil.which("setpriv") is None:
        raise SandboxSetupError("setpriv is missing (Debian: apt-get install util-linux); it starts agents' "
                                f"sandboxes as their own host user, or set {SEPARATION_ENV}=0 to share one")
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = None
    if owner is not None:
        log.warning("rdbench: agents' sandboxes run as host uid %d, which is also the account %r on this "
                    "host; choose an unused uid with %s", uid, owner, AGENT_UID_ENV)
    return HostUser(uid=uid, gid=uid)


def setpriv_prefix(user: HostUser) -> list[str]:
    """The command prefix that runs what follows as ``user``: no supplementary groups, and (the
    uid change from root clears the rest) no inheritable capabilities."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", "--inh-caps=-all", "--"]


def chown_tree(folder: Path, user: HostUser, keep: Callable[[Path], bool] | None = None) -> None:
    """Give ``folder`` and everything under it to ``user`` (links themselves, never their targets),
    except paths for which ``keep`` is true, whose subtrees are left alone too."""
    os.lchown(folder, user.uid, user.gid)
    for top, dirs, files in os.walk(folder, followlinks=False):
        kept = []
        for name in dirs:
            path = Path(top, name)
            if keep is not None and keep(path):
                kept.append(name)
                continue
            os.lchown(path, user.uid, user.gid)
        for name in kept:
            dirs.remove(name)
        for name in files:
            path = Path(top, name)
            if keep is None or not keep(path):
                os.lchown(path, user.uid, user.gid)

