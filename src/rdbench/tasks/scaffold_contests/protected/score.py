"""Scorer for scaffold_contests: run the agent's scaffold on fresh hidden problems, judge its answers.

The scaffold runs in a child process; this process serves the code model to it over a Unix socket
(per-problem query budget counted here) and judges the final programs against hidden tests that
never leave this process. Problems are drawn from params["seed"], so every call is fresh.

The code model is the problem's hidden candidate pool (``code_model: pool``, mini) or a language
model bound to the task's ``codemodel`` role (``code_model: llm``, full), reached through the
harness (``rdbench_host``; the scaffold itself cannot reach it).
"""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def _llm_sampler(params):
    """sample(problem, hint) -> program from the harness's language model (full scale)."""
    import rdbench_host  # noqa: PLC0415  (mounted by the harness when the scale uses models)

    config = {"temperature": float(params.get("temperature", 1.0)),
              "max_tokens": int(params.get("max_tokens", 1024))}

    def sample(problem, hint):
        text = rdbench_host.generate("codemodel", _gen.llm_prompt(_gen.public(problem), hint), **config)
        return _gen.extract_program(text)

    return sample


def _serve(sock_path, problems, budget, rng, counts, log, served, llm=None):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(128)
    lock = threading.Lock()

    def one(conn):
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                request = json.loads(data.decode())
                pid = request["problem"]
                hint = request.get("hint")
            except (ValueError, KeyError, TypeError, AttributeError):
                conn.sendall(json.dumps({"output": "bad request", "exit_code": 2}).encode() + b"\n")
                return
            reply = None
            with lock:
                if pid not in problems:
                    reply = {"output": f"unknown problem {pid!r}", "exit_code": 2}
                elif counts.get(pid, 0) >= budget:
                    reply = {"output": f"refused: query budget of {budget} for {pid} spent", "exit_code": 1}
                    log.append(("refused", pid))
                else:
                    counts[pid] = counts.get(pid, 0) + 1
                    if llm is None:
                        program = _gen.sample(problems[pid], rng)
                        served.setdefault(pid, set()).add(program)
                        reply = {"output": program, "exit_code": 0}
            if reply is None:  # a language model: generate outside the lock, many at a time
                try:
                    program = llm(problems[pid], None if hint is None else str(hint))
                except Exception as error:  # budget spent, model failure: the scaffold sees why
                    log.append(("failed", pid))
                    reply = {"output": f"code model failed: {error}", "exit_code": 1}
                else:
                    with lock:
                        served.setdefault(pid, set()).add(program)
                    reply = {"output": program, "exit_code": 0}
            conn.sendall(json.dumps(reply).encode() + b"\n")

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv


def _judge_processes(answers, problems, timeout):
    """Like :func:`_judge`, but a fresh interpreter per test (language-model programs).

    One driver process per answer (a nested sandbox without protected/) runs its tests.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    def one(pid):
        job = {"program": answers[pid], "inputs": [c["input"] for c in problems[pid]["hidden"]],
               "timeout": timeout}
        try:
            proc = subprocess.run([sys.executable, "-c", _gen.DRIVER], input=json.dumps(job),
                                  capture_output=True, text=True, timeout=30 + 2 * timeout * len(job["inputs"]))
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            return None
        return pid if got == [c["output"] for c in problems[pid]["hidden"]] else None

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return [pid for pid in pool.map(one, sorted(answers)) if pid is not None]


def _judge(answers, problems, timeout):
    """Ids of the problems whose answer passes every hidden test.

    The programs run in one child process (a nested sandbox without protected/) that sees only the
    test inputs; the expected outputs never leave this process.
    """
    order = sorted(answers)
    job = {"runs": [[answers[pid], [c["input"] for c in problems[pid]["hidden"]]] for pid in order],
           "timeout": timeout}
    proc = subprocess.run([sys.executable, "-c", _gen.RUNNER], input=json.dumps(job), capture_output=True,
                          text=True, timeout=60 + 3 * timeout * len(order))
    outs = json.loads(proc.stdout.strip().splitlines()[-1])
    return [pid for pid, got in zip(order, outs)
            if got == [c["output"] for c in problems[pid]["hidden"]]]


def _regular(path, root):
    return path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(root.resolve())


def score(workspace, protected, params):
    global _gen
    sys.path.insert(0, str(protected))
    import contests_gen as _gen  # noqa: PLC0415  (lives in protected/, found at run time)

    workspace = Path(workspace)
    for name in ("scaffold.py", "codemodel.py"):
        if not _regular(workspace / name, workspace):
            return {"value": float("nan"), "message": f"{name} must be a regular file inside the workspace",
                    "details": {}}
    n = int(params.get("n_problems", 400))
    budget = int(params.get("queries", 8))
    seed = int(params["seed"])
    problems = {p["id"]: p for p in _gen.make_set(seed, n, "h")}
    counts, log, served = {}, [], {}
    llm = _llm_sampler(params) if params.get("code_model", "pool") == "llm" else None
    with tempfile.TemporaryDirectory(prefix="scaffold-") as tmp:
        tmp = Path(tmp)
        (tmp / "problems.json").write_text(json.dumps([_gen.public(p) for p in problems.values()]))
        out = tmp / "answers"
        out.mkdir()
        srv = _serve(tmp / "cm.sock", problems, budget, random.Random(seed ^ 0x5EED), counts, log, served,
                     llm)
        env = dict(os.environ, CODEMODEL_SOCKET=str(tmp / "cm.sock"))
        try:
            proc = subprocess.run([sys.executable, "scaffold.py", str(tmp / "problems.json"), str(out)],
                                  cwd=workspace, env=env, capture_output=True, text=True,
                                  timeout=float(params.get("scaffold_timeout", 80)))
            crashed = proc.returncode != 0
            err = proc.stderr[-500:]
        except subprocess.TimeoutExpired:
            crashed, err = True, "scaffold timed out"
        finally:
            srv.close()
        answers, not_served = {}, []
        for pid in problems:
            f = out / f"{pid}.py"
            if not _regular(f, out):
                continue
            program = f.read_text(errors="replace")
            # the rule: an answer is one of the code model's samples for that problem, verbatim
            if program in served.get(pid, ()):
                answers[pid] = program
            else:
                not_served.append(pid)
        judge = _judge if llm is None else _judge_processes
        solved = judge(answers, problems, float(params.get("test_timeout", 0.25 if llm is None else 2.0))) \
            if answers else []
    value = len(solved) / n
    msg = f"solved {len(solved)}/{n} hidden problems"
    if not_served:
        msg += (f"; {len(not_served)} answers were not programs the code model returned for that problem "
                "and count as unsolved")
    if crashed:
        msg += f" (scaffold failed: {err.strip()[-200:]})"
    return {"value": value, "message": msg,
            "details": {"solved": len(solved), "answered": len(answers), "not_served": len(not_served),
                        "queries": sum(counts.values()), "refused": sum(1 for k, _ in log if k == "refused"),
                        "model_failures": sum(1 for k, _ in log if k == "failed"), "crashed": crashed,
                        "code_model": "llm" if llm else "pool"}}
