import json
import math
import subprocess
import sys


def score(workspace, protected, params):
    if (workspace / "crash").exists():
        raise RuntimeError("asked to crash")
    if (workspace / "sleep").exists():
        import time

        time.sleep(float((workspace / "sleep").read_text()))
    probe = workspace / "probe.sh"
    probe_out = ""
    if probe.exists():
        # the agent's code, run by the scorer: it must not see protected/
        probe_out = subprocess.run(["/bin/sh", str(probe), str(protected)], capture_output=True,
                                   text=True, timeout=10).stdout
    daemon_alive = None
    if (workspace / "watch_daemon").exists():
        # did anything the probe left running outlive it? (it would keep growing /tmp/heartbeat)
        import os
        import time

        def beats():
            return os.path.getsize("/tmp/heartbeat") if os.path.exists("/tmp/heartbeat") else -1

        before = beats()
        time.sleep(1.0)
        daemon_alive = beats() != before
    proc = subprocess.run(
        [sys.executable, "-c", "import solution, json; print(json.dumps(solution.answer()))"],
        cwd=workspace, capture_output=True, text=True, timeout=10,
    )
    if proc.returncode != 0:
        return {"value": math.nan, "message": "solution.py failed: " + proc.stderr[-300:], "details": {}}
    value = float(json.loads(proc.stdout))
    (workspace / "scorer_wrote_this").write_text("x")
    secret = (protected / "secret.txt").read_text().strip()
    return {
        "value": abs(value - params["target"]),
        "message": f"distance {abs(value - params['target']):g}",
        "details": {"answer": value, "secret_seen_by_scorer": secret, "probe": probe_out, "daemon_alive": daemon_alive,
                    "seed": params["seed"]},
    }
