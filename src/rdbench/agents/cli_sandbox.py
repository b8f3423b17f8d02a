"""Small stdlib programs the ``cli`` agent runs inside the sandbox (``python3 -c``): the launcher
that keeps everything the agent starts in one process tree, the killer of that tree, a wait for
the model proxy's port, and the finder of the CLI's version. Kept apart from the agent so that
what runs in the sandbox is one file to read."""

from __future__ import annotations

# Kills every live descendant of ROOT (the launcher), then ROOT unless KEEP_ROOT. Shared by the
# launcher (after the command exits) and the harness's killer (at the budget). Killed processes
# are re-parented to the launcher (a subreaper), so repeating until none is left catches children
# forked meanwhile. Zombies are skipped: they are dead, their parent reaps them.
KILL_TREE = r'''
import os, signal, time

def _children():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids

def _descendants(root):
    kids, found, todo = _children(), [], [root]
    while todo:
        for child in kids.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found

def kill_tree(root, keep_root=False):
    killed = set()
    for _ in range(200):
        alive = _descendants(root)
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        time.sleep(0.02)
    left = len(_descendants(root))
    if not keep_root:
        try:
            os.kill(root, signal.SIGKILL)
        except OSError:
            pass
    return len(killed), left
'''

LAUNCHER = KILL_TREE + r'''
import ctypes, json, subprocess, sys

directory, command = sys.argv[1], sys.argv[2]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans stay in this tree
with open(os.path.join(directory, "launcher.pid"), "w") as handle:
    handle.write(str(os.getpid()))
extra = os.environ.pop("RDBENCH_CLI_EXTRA_PATH", "")
if extra:
    os.environ["PATH"] = extra + ":" + os.environ.get("PATH", "")
with open(os.path.join(directory, "agent.log"), "ab") as log:
    proc = subprocess.Popen(["/bin/bash", "-c", command], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    code = proc.wait()
killed, left = kill_tree(os.getpid(), keep_root=True)  # the agent is done: so is what it started
with open(os.path.join(directory, "exit.json"), "w") as handle:
    json.dump({"exit_code": code, "leftovers_killed": killed, "left": left}, handle)
sys.exit(code if code >= 0 else 128 - code)
'''

KILLER = KILL_TREE + r'''
import json, sys
killed, left = kill_tree(int(sys.argv[1]))
print(json.dumps({"killed": killed, "left": left}))
'''

WAIT_FOR_PORT = r'''
import socket, sys, time
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        socket.create_connection(("localhost", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the model proxy did not open port %s" % sys.argv[1])
        time.sleep(0.05)
'''


# Finds the CLI on PATH and the version of the npm package it belongs to (run in the sandbox).
CLI_VERSION = r'''
import json, os, shutil, sys
binary, package, extra = sys.argv[1], sys.argv[2], sys.argv[3]
found = shutil.which(binary, path=extra + ":" + os.environ.get("PATH", ""))
version = None
if found:
    folder = os.path.dirname(os.path.realpath(found))
    while folder != "/" and version is None:
        try:
            with open(os.path.join(folder, "package.json")) as handle:
                data = json.load(handle)
            if data.get("name") == package:
                version = data.get("version")
        except (OSError, ValueError, AttributeError):
            pass
        folder = os.path.dirname(folder)
print(json.dumps({"path": found, "version": version}))
'''
