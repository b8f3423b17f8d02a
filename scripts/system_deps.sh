#!/usr/bin/env bash
# Installs the Debian packages rdbench needs (bubblewrap for the sandbox, tmux for human-baseline
# tests, chromium for report tests, slurm-wlm and munge for the local Slurm cluster of the cluster
# tests). As root it installs them; otherwise it prints the command.
set -euo pipefail
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
{ command -v slurmctld || [ -x /usr/sbin/slurmctld ]; } >/dev/null 2>&1 || need+=(slurm-wlm)
{ command -v munged || [ -x /usr/sbin/munged ]; } >/dev/null 2>&1 || need+=(munge)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "rdbench setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "rdbench setup: missing system packages: ${need[*]}" >&2
  echo "  run: sudo apt-get install -y ${need[*]}" >&2
  case " ${need[*]} " in *" bubblewrap "*) exit 1;; esac
fi
