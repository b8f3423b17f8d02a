"""Scorer for scaffold_contests: run the agent's scaffold on fresh hidden problems, judge its answers.

The scaffold runs in a nested sandbox (it cannot see this process, its parameters or protected/);
this process serves the code model to it over a Unix socket in a folder the two share (per-problem
query budget counted here), reads its answers at the moment of use (no links), and judges them
against hidden tests that never leave this process: the programs run in nested sandboxes that get
only the test inputs. Problems are drawn from params["seed"], so every call is fresh.

The code model is the problem's hidden candidate pool (``code_model: pool``, mini) or a language
model bound to the task's ``codemodel`` role (``code_model: llm``, full), reached through the
harness (``rdbench_host``; the scaffold itself cannot reach it).
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import rdbench_scorer as rs

_gen: ModuleType
Sampler = Callable[[dict[str, Any], "str | None"], str]


def _llm_sampler(params: dict[str, Any]) -> Sampler:
    """sample(problem, hint) -> program from the harness's language model (full scale)."""
    import rdbench_host  # mounted by the harness when the scale uses models

    config = {"temperature": float(params.get("temperature", 1.0)),
              "max_tokens": int(params.get("max_tokens", 1024))}

    def sample(problem: dict[str, Any], hint: str | None) -> str:
        text = rdbench_host.generate("codemodel", _gen.llm_prompt(_gen.public(problem), hint), **config)
        program: str = _gen.extract_program(text)
        return program

    return sample


def _serve(sock_path: Path, problems: dict[str, dict[str, Any]], budget: int, rng: random.Random,
           counts: dict[str, int], log: list[tuple[str, str]], served: dict[str, set[str]],
           llm: Sampler | None = None) -> socket.socket:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(128)
    lock = threading.Lock()

    def one(conn: socket.socket) -> None:
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
            reply: dict[str, Any] | None = None
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
            if reply is None and llm is not None:  # a language model: outside the lock, many at a time
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

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv


def _outputs(stdout: str) -> Any:
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _judge_processes(answers: dict[str, str], problems: dict[str, dict[str, Any]], timeout: float) -> list[str]:
    """Like :func:`_judge`, but a fresh interpreter per test (language-model programs).

    One driver process per answer (a nested sandbox) runs its tests.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(pid: str) -> str | None:
        inputs = [c["input"] for c in problems[pid]["hidden"]]
        job = {"program": answers[pid], "inputs": inputs, "timeout": timeout}
        run = rs.run_untrusted([sys.executable, "-c", _gen.DRIVER], cwd="/tmp", stdin=json.dumps(job).encode(),
                               timeout=30 + 2 * timeout * len(inputs))
        got = _outputs(run.stdout_text())
        return pid if got == [c["output"] for c in problems[pid]["hidden"]] else None

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return [pid for pid in pool.map(one, sorted(answers)) if pid is not None]


def _judge(answers: dict[str, str], problems: dict[str, dict[str, Any]], timeout: float) -> list[str]:
    """Ids of the problems whose answer passes every hidden test.

    The programs run in one nested sandbox that sees only the test inputs; the expected outputs
    never leave this process.
    """
    order = sorted(answers)
    job = {"runs": [[answers[pid], [c["input"] for c in problems[pid]["hidden"]]] for pid in order],
           "timeout": timeout}
    run = rs.run_untrusted([sys.executable, "-c", _gen.RUNNER], cwd="/tmp", stdin=json.dumps(job).encode(),
                           timeout=60 + 3 * timeout * len(order))
    outs = _outputs(run.stdout_text())
    if not isinstance(outs, list) or len(outs) != len(order):
        raise rs.ScorerError(f"the judge's runner gave no result: {run.why('the runner')}")
    return [pid for pid, got in zip(order, outs, strict=True)
            if got == [c["output"] for c in problems[pid]["hidden"]]]


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    global _gen
    sys.path.insert(0, str(protected))
    import contests_gen as _gen  # lives in protected/, found at run time

    workspace = Path(workspace)
    for name in ("scaffold.py", "codemodel.py"):
        rs.read_bytes(name, workspace)  # regular files, not links
    n = int(params.get("n_problems", 400))
    budget = int(params.get("queries", 8))
    seed = int(params["seed"])
    problems = {p["id"]: p for p in _gen.make_set(seed, n, "h")}
    counts: dict[str, int] = {}
    log: list[tuple[str, str]] = []
    served: dict[str, set[str]] = {}
    llm = _llm_sampler(params) if params.get("code_model", "pool") == "llm" else None
    tmp = rs.shared_dir("scaffold-")
    (tmp / "problems.json").write_text(json.dumps([_gen.public(p) for p in problems.values()]))
    out = tmp / "answers"
    out.mkdir()
    out.chmod(0o777)
    srv = _serve(tmp / "cm.sock", problems, budget, random.Random(seed ^ 0x5EED), counts, log, served, llm)
    try:
        run = rs.run_untrusted([sys.executable, "scaffold.py", str(tmp / "problems.json"), str(out)],
                               cwd=workspace, env={"CODEMODEL_SOCKET": str(tmp / "cm.sock")},
                               timeout=float(params.get("scaffold_timeout", 80)))
    finally:
        srv.close()
    crashed = not run.ok
    err = "scaffold timed out" if run.timed_out else run.stderr_tail(500)
    answers: dict[str, str] = {}
    not_served: list[str] = []
    for pid in problems:
        if not os.path.lexists(out / f"{pid}.py"):
            continue
        try:
            program = rs.read_bytes(f"{pid}.py", out).decode(errors="replace")
        except rs.Invalid:
            continue  # a link or a special file is no answer
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
    return rs.scored(value, msg, solved=len(solved), answered=len(answers), not_served=len(not_served),
                     queries=sum(counts.values()), refused=sum(1 for k, _ in log if k == "refused"),
                     model_failures=sum(1 for k, _ in log if k == "failed"), crashed=crashed,
                     code_model="llm" if llm else "pool")
