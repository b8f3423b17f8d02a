#!/bin/bash
cd "$(dirname "$0")"
setsid nohup python finetune.py > /dev/null 2>&1 &
exit 0
