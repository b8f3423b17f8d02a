"""Install the command-line agents of ``rdbench/cli``'s presets at their tested versions.

``python -m rdbench.agents.cli_install`` (run by ``make setup``): as root with npm, installs every
preset's CLI that is missing or at another version with ``npm install -g`` (into npm's global
prefix, ``/usr`` on Debian, which the bwrap sandbox sees read-only); otherwise prints the command
to run. It never fails the setup: the CLIs are needed only by ``rdbench/cli`` presets, and their
tests skip, saying why, when a CLI is absent. ``--check`` only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rdbench.agents.cli_presets import PRESETS, Preset

NODE_MAJOR = 20
"""Oldest Node.js the three CLIs support (Gemini CLI 0.61 needs 20)."""


def npm_root() -> Path | None:
    """npm's global ``node_modules`` folder, or None without npm."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        out = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip())


def installed_version(preset: Preset, root: Path | None) -> str | None:
    """Version of the preset's npm package in npm's global folder (None when not installed)."""
    if root is None:
        return None
    try:
        data = json.loads((root / preset.npm_package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def install_command(presets: Sequence[Preset]) -> list[str]:
    """The ``npm install -g`` command for these presets' tested versions."""
    return ["npm", "install", "-g", "--no-fund", "--no-audit", *(p.npm_spec for p in presets)]


def missing_reason(name: str) -> str | None:
    """Why the preset's CLI cannot run in the sandbox without ``install=`` (None when it can).

    The sandbox sees the host's ``/usr`` read-only, so the CLI must be installed under it.
    """
    preset = PRESETS[name]
    found = shutil.which(preset.binary)
    if found is None:
        return (f"{preset.binary} is not installed: run `make setup` as root, or "
                f"`sudo npm install -g {preset.npm_spec}`")
    real = os.path.realpath(found)
    if not real.startswith("/usr/"):
        return (f"{preset.binary} is at {real}, which the sandbox does not see (only /usr): install "
                f"it as root (`sudo npm install -g {preset.npm_spec}`) or pass install=[its folder]")
    return None


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def say(line: str) -> None:
    """One line of setup output, on stderr."""
    print(f"rdbench setup: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Install (or report) the presets' CLIs; returns 0 unless asked to --check and one is off."""
    parser = argparse.ArgumentParser(prog="python -m rdbench.agents.cli_install", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if a CLI is off")
    args = parser.parse_args(argv)
    root = npm_root()
    versions = {name: installed_version(p, root) for name, p in PRESETS.items()}
    off = [p for name, p in PRESETS.items() if versions[name] != p.tested_version]
    if not off:
        return 0
    command = install_command(off)
    listed = ", ".join(f"{p.binary} {versions[p.name] or 'missing'} (tested {p.tested_version})" for p in off)
    if args.check:
        say(f"CLI agents not at their tested versions: {listed}")
        return 1
    major = _node_major()
    if root is None or major is None or major < NODE_MAJOR:
        say(f"the CLI agents (rdbench/cli presets) need Node.js {NODE_MAJOR}+ and npm "
            f"(found: {'no node' if major is None else f'node {major}'}, "
            f"{'npm' if root else 'no npm'}); then run: sudo {' '.join(command)}")
        return 0
    if os.geteuid() != 0:
        say(f"CLI agents not installed: {listed}")
        say(f"  run: sudo {' '.join(command)}   (their tests skip until then)")
        return 0
    say(f"installing CLI agents with npm: {', '.join(p.npm_spec for p in off)}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        say(f"npm failed ({result.returncode}); the CLI agents' tests will skip. Last lines:")
        for line in tail:
            say(f"  {line}")
        say(f"  retry: {' '.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
