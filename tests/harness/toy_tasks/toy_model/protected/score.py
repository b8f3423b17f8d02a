"""Asks the helper model params["asks"] times (the harness allows 3 per call), and checks that the
agent's code, run by the scorer, cannot reach the model."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = r'''
import json, os, socket
seen = {"host_dir": os.listdir("/opt/rdbench/host") if os.path.isdir("/opt/rdbench/host") else None}
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ.get("RDBENCH_SCORER_HOST_SOCKET", "/opt/rdbench/host/host.sock"))
    seen["connected"] = True
except OSError as e:
    seen["connected"] = False
    seen["error"] = type(e).__name__
print(json.dumps(seen))
'''


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    answers, refusals = [], []
    if params["asks"]:
        import rdbench_host

        for i in range(params["asks"]):
            try:
                answers.append(rdbench_host.generate("helper", f"question {i}", max_tokens=20))
            except rdbench_host.HostRefused as refused:
                refusals.append([refused.exit_code, str(refused)])
    child = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=workspace)
    text = (workspace / "answer.txt").read_text()
    return {"value": len(text.strip()) + 0.0, "message": f"{len(answers)} answers",
            "details": {"answers": answers, "refusals": refusals,
                        "child": json.loads(child.stdout.strip().splitlines()[-1])}}
