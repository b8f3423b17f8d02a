#!/bin/bash
# Fine-tune the base model on the pool of open datasets (the starting solution).
#   bash finetune.sh BASE_PT POOL_DIR OUT_PT
# The scorer runs exactly this, on a base and pool of a world you have not seen, under its time and
# memory caps (TIME_CAP_S, MEMORY_CAP_MB in the environment), in a folder holding only this
# workspace's top-level .py and .sh files.
set -euo pipefail
cd "$(dirname "$0")"
exec python finetune.py "$@"
