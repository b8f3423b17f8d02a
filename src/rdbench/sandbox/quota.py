"""Disk quotas: a folder on a filesystem of its own, so an agent cannot fill the host's disk.

As root, the folder is an ext4 filesystem in a sparse image file, mounted through a loop device: it
takes host disk only for what is written, and writing past its size fails with "No space left on
device" inside the sandbox while the host and the harness carry on. Making one takes ~20 ms. Without
root (or without loop devices) there is no way to mount one; the folder is then a plain folder and a
warning says once that disk use is not capped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        log.warning("rdbench sandbox: disk use is not capped (%s); an agent can fill this host's disk", reason)


def quota_supported() -> str | None:
    """None when size-limited folders can be made here, else why not."""
    if os.geteuid() != 0:
        return "size-limited folders need root (a loop-mounted filesystem)"
    if not Path("/dev/loop-control").exists():
        return "no loop devices (/dev/loop-control is missing)"
    if shutil.which("mkfs.ext4") is None:
        return "mkfs.ext4 is missing (Debian: apt-get install e2fsprogs)"
    return None


class SizedFolder:
    """A folder whose contents cannot grow past ``size_mb`` (see the module docstring).

    Args:
        path: The folder to create (its parent must exist); removed by :meth:`destroy`.
        size_mb: The cap in MiB.
    """

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        self.size_mb = int(size_mb)
        self.image = path.with_name(path.name + ".img")
        self.limited = False

    def create(self) -> Path:
        """Make the folder (mounted when possible) and return it."""
        self.path.mkdir(parents=True, exist_ok=False)
        reason = quota_supported()
        if reason is not None:
            _warn_once(reason)
            return self.path
        try:
            with open(self.image, "wb") as handle:
                handle.truncate(self.size_mb * 2**20)
            # reserved blocks 0: the whole size is the agent's; lazy init keeps mkfs at ~10 ms
            _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1",
                  str(self.image)])
            _run(["mount", "-o", "loop,nosuid,nodev", str(self.image), str(self.path)])
        except (OSError, subprocess.CalledProcessError) as error:
            with contextlib.suppress(OSError):
                self.image.unlink()
            _warn_once(f"mounting a size-limited folder failed: {error}")
            return self.path
        self.limited = True
        shutil.rmtree(self.path / "lost+found", ignore_errors=True)
        self.path.chmod(0o755)
        return self.path

    def usage_mb(self) -> float:
        """MiB in use on the folder's filesystem (of the host's, when not limited)."""
        stats = os.statvfs(self.path)
        return (stats.f_blocks - stats.f_bfree) * stats.f_frsize / 2**20

    def destroy(self) -> None:
        """Unmount (when mounted) and delete the folder and its image."""
        if self.limited:
            for attempt in range(50):
                result = subprocess.run(["umount", str(self.path)], capture_output=True, text=True)
                if result.returncode == 0:
                    break
                if attempt == 49:  # still busy: detach it lazily, it goes when its users do
                    subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
                time.sleep(0.05)
            self.limited = False
        with contextlib.suppress(OSError):
            self.image.unlink()
        shutil.rmtree(self.path, ignore_errors=True)


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)
