#!/usr/bin/python3
"""A tiny external CLI agent (stdlib only) for the rdbench/cli tests; it runs inside the sandbox.

Default mode: ask the model (through the bridged OpenAI-compatible endpoint in $OPENAI_BASE_URL)
for one shell command, run it, run `score`, tell the model the result, print its reply, leave a
`sleep` running in its own session and exit 0. ``--submit``: the same, then run `submit` and linger.

``--hang``: start a double-forked, setsid heartbeat daemon (pid in beat.pid, appends to beat) and
a child `sleep`, then sleep forever: only the harness's budget kill can end it.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

SYSTEM = "You are a shell agent. Answer with exactly one shell command and nothing else."


def chat(messages):
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"] + "/chat/completions",
        data=json.dumps({"model": os.environ["RDBENCH_MODEL"], "messages": messages}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["choices"][0]["message"]["content"]


def solve():
    with open(os.environ["RDBENCH_PROMPT_FILE"]) as handle:
        task = handle.read()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}]
    command = chat(messages)
    print("model says: " + command, flush=True)
    ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    print(f"command exit {ran.returncode}", flush=True)
    scored = subprocess.run(["score"], capture_output=True, text=True)
    print("score: " + scored.stdout.strip(), flush=True)
    messages += [{"role": "assistant", "content": command},
                 {"role": "user", "content": "score output: " + scored.stdout.strip()}]
    print("final: " + chat(messages), flush=True)
    # a leftover: the harness must end it when this agent exits
    subprocess.Popen(["setsid", "sleep", "1000"], start_new_session=True)
    if "--submit" in sys.argv:  # end the run from inside, then linger like an interactive CLI
        print("submit: " + subprocess.run(["submit"], capture_output=True, text=True).stdout.strip(),
              flush=True)
        time.sleep(1000)


def hang():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:  # a daemon: re-parented away from this process, in its own session
            with open("beat.pid", "w") as handle:
                handle.write(str(os.getpid()))
            while True:
                with open("beat", "a") as handle:
                    handle.write(".")
                time.sleep(0.05)
        os._exit(0)
    subprocess.Popen(["sleep", "1000"])
    print("hanging", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    hang() if "--hang" in sys.argv else solve()
