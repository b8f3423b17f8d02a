"""Scorer of the toy task, on the scorer toolkit (``rdbench_scorer``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    if (workspace / "crash").exists():
        raise RuntimeError("asked to crash")  # a scorer bug: a scorer error, not the agent's zero
    if (workspace / "sleep").exists():
        time.sleep(float(rs.read_text("sleep", workspace)))
    shared = rs.shared_dir()
    probe_out = ""
    if (workspace / "probe.sh").exists():
        # the agent's code, run by the scorer: it must not see protected/ nor the call's parameters
        probe_out = rs.run_untrusted(["/bin/sh", "probe.sh", str(protected), str(shared)], cwd=workspace,
                                     timeout=10).stdout_text()
    daemon_alive, heartbeat_bytes = None, None
    if (workspace / "watch_daemon").exists():
        # did anything the probe left running outlive it? (it would keep growing the heartbeat file)
        beat = shared / "heartbeat"

        def size() -> int:
            return beat.stat().st_size if beat.exists() else -1

        before = size()
        time.sleep(1.0)
        daemon_alive, heartbeat_bytes = size() != before, size()
    toctou: dict[str, Any] = {}
    if (workspace / "toctou.sh").exists():
        # check a file, run the agent's procedure, then use the file: the procedure swaps it for a link
        # to hidden data in between. Read at the moment of use, the swap is refused.
        rs.read_text("answer.txt", workspace)
        rs.run_untrusted(["/bin/sh", "toctou.sh", str(protected)], cwd=workspace, timeout=10)
        naive = workspace / "answer.txt"
        toctou["naive_read_leaks"] = naive.is_symlink() and "hidden secret" in naive.read_text()
        try:
            toctou["toolkit_read"] = rs.read_text("answer.txt", workspace)
        except rs.Invalid as error:
            toctou["toolkit_refused"] = error.message
    run = rs.run_untrusted([sys.executable, "-c", "import solution, json; print(json.dumps(solution.answer()))"],
                           cwd=workspace, timeout=10)
    if not run.ok:
        raise rs.Invalid("solution.py failed: " + run.stderr_tail(300))
    try:
        value = float(json.loads(run.stdout_text()))
    except (ValueError, TypeError):
        raise rs.Invalid("answer() must return a number") from None
    (workspace / "scorer_wrote_this").write_text("x")
    secret = (protected / "secret.txt").read_text().strip()
    return rs.scored(abs(value - params["target"]), f"distance {abs(value - params['target']):g}",
                     answer=value, secret_seen_by_scorer=secret, probe=probe_out, daemon_alive=daemon_alive,
                     heartbeat_bytes=heartbeat_bytes, toctou=toctou,
                     seed=params["seed"])
