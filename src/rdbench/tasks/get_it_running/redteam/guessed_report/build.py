"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path

TYPICAL = {"wrong_path": "sweep.py", "missing_prepared_file": "run.sh", "api_drift": "sweep.py",
           "dtype_mismatch": "prepare_data.py", "missing_env_var": "run.sh", "working_dir": "run.sh",
           "eval_on_train": "sweep.py", "identical_configs": "sweep.py"}
CONFIG_KINDS = ["oom_batch", "device_mismatch", "lr_string", "zero_epochs"]


def build(workspace: Path, materialized: Path) -> None:
    configs = sorted(str(p.relative_to(workspace)) for p in (workspace / "configs").glob("*.json"))
    faults = [{"file": f, "line": 1, "kind": k, "fix": "?"} for k, f in TYPICAL.items()]
    faults += [{"file": configs[-1 - i % len(configs)], "line": 1, "kind": k, "fix": "?"}
               for i, k in enumerate(CONFIG_KINDS)]
    (workspace / "fault_report.json").write_text(json.dumps({"faults": faults}))
