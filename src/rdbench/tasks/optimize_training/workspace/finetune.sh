#!/bin/bash
# Fine-tunes base.pt on data/train.txt; the result must be out/final.pt.
set -euo pipefail
cd "$(dirname "$0")"
python finetune.py
