#!/usr/bin/env bash
# Type-checks every task's protected/ folder (scorers, their helpers, host services) with mypy
# --strict, one folder at a time (each holds its own `score.py`), with the scorer toolkit on the path.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for folder in src/rdbench/tasks/*/protected tests/harness/toy_tasks/*/protected; do
  files=("$folder"/*.py)
  [ -e "${files[0]}" ] || continue
  MYPYPATH="$folder" .venv/bin/mypy --no-namespace-packages "${files[@]}" > /tmp/rdbench-mypy-$$.txt 2>&1 || { cat /tmp/rdbench-mypy-$$.txt; status=1; }
done
rm -f /tmp/rdbench-mypy-$$.txt
[ $status -eq 0 ] && echo "scorers: mypy --strict passed on every task's protected/ folder"
exit $status
