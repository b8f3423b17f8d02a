"""Builds the attack on the starting workspace (runs on the host, as task code)."""

import json
from pathlib import Path

KINDS = ["wrong_path", "missing_prepared_file", "api_drift", "oom_batch", "dtype_mismatch", "device_mismatch",
         "missing_env_var", "working_dir", "lr_string", "zero_epochs", "eval_on_train", "identical_configs"]


def build(workspace: Path, materialized: Path) -> None:
    files = sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*") if p.is_file()
                   and p.name != "fault_report.json")
    faults = [{"file": f, "line": 1, "kind": k, "fix": "?"} for f in files for k in KINDS]
    (workspace / "fault_report.json").write_text(json.dumps({"faults": faults}))
