from pathlib import Path


def build(workspace: Path, materialized: Path) -> None:
    (workspace / "solution.py").unlink()
    (workspace / "solution.py").symlink_to("/opt/rdbench/protected/child.py")
