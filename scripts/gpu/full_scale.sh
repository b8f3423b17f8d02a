#!/usr/bin/env bash
# Full scale on one GPU machine, in one command: scaling_law's full sweep (in the background, all
# runs at once), the GPU inside the bwrap sandbox, then `rdbench check --scale full` of the GPU tasks
# in turn, until a deadline. Every result is written to $OUT as soon as it exists.
#
# With internet (a normal GPU machine):  make setup && OUT=gpu-out scripts/gpu/full_scale.sh
# Offline GPU image with torch but without rdbench's dependencies: put bubblewrap's .deb in
# .device/debs/ and the wheels of pydantic (and its small dependencies) in .device/wheels/; the
# script unpacks them. Settings (environment): BUDGET_S (default 540), SWEEP_JOBS (12),
# CHECK_TASKS (default below), CHECK_SCALE (full), RDBENCH_TASK_ENV (default: this python3's own
# environment), SWEEP_PREPARED (default .device/sl_full, made by `sweep.py --scale full
# --prepare-only`), SWEEP_DIR (where the sweep writes; default $OUT), KEEP_SWEEP=1 (leave the sweep
# running at the deadline, in its own session, and copy what it has so far to $OUT; a later command
# waits for it: `scripts/gpu/full_scale.sh wait-sweep`), SWEEP_ARGS (more sweep.py options).
if [ "${1:-}" = "wait-sweep" ]; then
  SWEEP_DIR=${SWEEP_DIR:?set SWEEP_DIR}
  OUT=${OUT:-$SWEEP_DIR}
  mkdir -p "$OUT"
  while pgrep -f "scaling_law/sweep.py" >/dev/null && [ "$SECONDS" -lt "${BUDGET_S:-300}" ]; do sleep 3; done
  cp "$SWEEP_DIR"/sweep_full.json "$SWEEP_DIR"/sweep.log "$OUT"/ 2>/dev/null
  pgrep -f "scaling_law/sweep.py" >/dev/null && echo "sweep still running after ${SECONDS} s" || echo "sweep finished"
  tail -4 "$OUT/sweep.log"
  exit 0
fi
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-540}
DEADLINE=$(( $(date +%s) + BUDGET_S ))
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log"; }
log "full scale: budget ${BUDGET_S} s"

if ! command -v bwrap >/dev/null && ls .device/debs/*.deb >/dev/null 2>&1; then
  for deb in .device/debs/*.deb; do dpkg -x "$deb" /; done
  log "bubblewrap unpacked from .device/debs: $(bwrap --version 2>&1)"
fi
if ! python3 -c "import pydantic" 2>/dev/null && ls .device/wheels/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/rdbench-site \
    .device/wheels/*.whl >>"$OUT/run.log" 2>&1
  export PYTHONPATH=/tmp/rdbench-site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export RDBENCH_TASK_ENV=${RDBENCH_TASK_ENV:-$(python3 -c 'import sys; print(sys.prefix)')}
export RDBENCH_CACHE_DIR=${RDBENCH_CACHE_DIR:-/tmp/rdbench-cache}
{ nvidia-smi; python3 -c 'import torch, sys; print("torch", torch.__version__, "python", sys.version)';
  nproc; free -g; uname -r; bwrap --version; } > "$OUT/env.txt" 2>&1

PREPARED=${SWEEP_PREPARED:-.device/sl_full}
prepared_arg=()
[ -d "$PREPARED" ] && prepared_arg=(--prepared "$PREPARED")
SWEEP_DIR=${SWEEP_DIR:-$OUT}
mkdir -p "$SWEEP_DIR"
setsid python3 src/rdbench/tasks/scaling_law/sweep.py --scale full --jobs "${SWEEP_JOBS:-12}" \
  "${prepared_arg[@]}" ${SWEEP_ARGS:-} --out "$SWEEP_DIR/sweep_full.json" > "$SWEEP_DIR/sweep.log" 2>&1 &
SWEEP=$!
log "sweep started (pid $SWEEP)"

timeout 120 python3 scripts/gpu/full_scale.py sandbox-check > "$OUT/gpu_sandbox.json" 2>>"$OUT/run.log"
log "sandbox check: $(head -c 300 "$OUT/gpu_sandbox.json")"

for task in ${CHECK_TASKS:-optimize_training optimize_kernel finetune_chat fix_embedding restricted_mlm}; do
  left=$(( DEADLINE - $(date +%s) - 15 ))
  if [ "$left" -lt 45 ]; then log "no time left for $task"; break; fi
  log "check $task (at most ${left} s)"
  timeout --kill-after=5 "$left" python3 scripts/gpu/full_scale.py check "$task" --repeats 2 \
    --scale "${CHECK_SCALE:-full}" >> "$OUT/check_full.jsonl" 2>> "$OUT/check.log"
  log "check $task: exit $?"
done

while kill -0 "$SWEEP" 2>/dev/null && [ "$(date +%s)" -lt $((DEADLINE - 5)) ]; do sleep 3; done
if kill -0 "$SWEEP" 2>/dev/null && [ "${KEEP_SWEEP:-0}" = 1 ]; then
  log "deadline: the sweep goes on in its own session; what it has finished so far is copied"
elif kill -0 "$SWEEP" 2>/dev/null; then
  log "deadline: stopping the sweep (its finished runs are in sweep_full.json)"
  kill -- -"$SWEEP" 2>/dev/null; sleep 1; kill -9 -- -"$SWEEP" 2>/dev/null
fi
[ "$SWEEP_DIR" != "$OUT" ] && cp "$SWEEP_DIR"/sweep_full.json "$SWEEP_DIR"/sweep.log "$OUT"/ 2>/dev/null
log "done: $(ls "$OUT" | tr '\n' ' ')"
