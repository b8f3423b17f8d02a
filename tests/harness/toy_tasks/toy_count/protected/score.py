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
        "details": {"answer": value, "secret_seen_by_scorer": secret, "probe": probe_out,
                    "seed": params["seed"]},
    }
