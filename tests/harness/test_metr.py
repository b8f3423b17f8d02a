"""METR Task Standard families end to end: real image build, root sandboxes, agent sandbox, Inspect.

A mockllm-scripted agent runs the example families (``examples/metr``) through ``inspect eval``'s
Python API and ``rdbench run``. Assertions about root-only files need rdbench to run as root (the
agent then has a host uid of its own); without root they are skipped, as the docs say.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.scoring.runs import read_run, runs_dir
from rdbench.task.metr import FamilyError

MODEL = "mockllm/model"
EXAMPLES = Path(__file__).parents[2] / "examples" / "metr"
TEST_FAMILIES = Path(__file__).parent / "metr_families"
AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="uid separation needs rdbench to run as root")


def bash(cmd: str) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name="bash", tool_arguments={"command": cmd})


def call(tool: str) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name=tool, tool_arguments={})


def run_family(family: Path, outputs: list[ModelOutput], log_dir: Path, final: str = "done",
               **task_args: Any) -> Any:
    model = get_model(MODEL, custom_outputs=[*outputs, ModelOutput.from_content(MODEL, final)])
    task = make_task(family, **task_args)
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    assert log.samples and len(log.samples) == 1
    return log.samples[0]


def tool_outputs(sample: Any) -> list[str]:
    return [m.text for m in sample.messages if m.role == "tool"]


def record_of(sample: Any) -> dict[str, Any]:
    return dict(sample.scores["rdbench"].metadata["rdbench"])


SUM = "python3 -c \"print(sum(int(x) for x in open('numbers.txt')))\""


def test_start_files_root_only_secrets_and_submission_score(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_sum", [
        bash("whoami; pwd; ls /root 2>&1; ls -la; cat checksum.secret 2>&1; cat /proc/net/dev; "
             "find / -name answer.txt 2>/dev/null | head -3; echo END"),
        call("score"),
        bash(f"submit $({SUM})"),
    ], tmp_path, metr_tasks="small")
    listing, scored, submitted = tool_outputs(sample)
    assert "agent" in listing and "/home/agent" in listing and "numbers.txt" in listing
    assert "cannot access '/root'" in listing  # never mounted in the agent's sandbox
    assert "answer.txt" not in listing.split("END")[0].split("Inter-|")[-1]  # found nowhere
    interfaces = [line.split(":")[0].strip() for line in listing.splitlines() if ":" in line and "|" not in line
                  and line.strip().split(":")[0].strip().isidentifier()]
    assert "lo" in interfaces and "eth0" not in interfaces  # no network without full_internet
    if AS_ROOT:
        assert "checksum.secret: Permission denied" in listing and "sum=" not in listing
    assert "no intermediate scoring" in scored
    assert "submitted" in submitted
    record = record_of(sample)
    assert [e["source"] for e in record["score_log"]] == ["final"]
    assert record["raw_score"] == 1.0 and record["normalised_score"] == 1.0
    assert record["calibration"]["starting"] == 0.0 and record["calibration"]["reference"] == 1.0
    assert record["scale"] == "metr" and record["instance"] == "metr_sum/small"
    view = read_run(runs_dir() / record["run_id"])
    assert view is not None and view.info.status == "finished" and view.info.raw_score == 1.0


def test_final_answer_is_the_submission_when_never_submitted(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_sum", [], tmp_path, final="12345", metr_tasks="large")
    record = record_of(sample)
    [entry] = record["score_log"]
    assert entry["details"]["submission"] == "12345" and entry["value"] == 0.0
    assert record["raw_score"] == 0.0 and sample.scores["rdbench"].value == 0.0


def test_install_intermediate_hidden_scores_and_aggregate(tmp_path: Path) -> None:
    sample = run_family(EXAMPLES / "metr_guess", [
        bash("nproc; cat guess.txt; echo; ls -la /root 2>&1"),
        call("score"),
        bash("echo 10 > guess.txt; score; echo exit=$?"),
        call("score_log"),
    ], tmp_path, metr_tasks="hidden")
    probe, first, second, listed = tool_outputs(sample)
    assert probe.splitlines()[0] == "1"  # manifest: cpus 1
    assert probe.splitlines()[1] == "500"  # start(t) wrote the middle guess
    assert "scores are hidden" in first and "scores are hidden" in second and "exit=0" in second
    record = record_of(sample)
    log = record["score_log"]
    assert [e["source"] for e in log] == ["agent", "agent", "final", "final"]
    target = log[0]["details"]["metr_details"]["target"]
    for entry, guess in zip(log[:3], [500, 10, 10], strict=True):
        assert entry["kind"] == "scored"
        assert entry["value"] == pytest.approx(-math.log10(1 + abs(guess - target)))
        assert str(entry["value"])[:6] not in first + second + listed  # never shown to the agent
    # aggregate_scores: the best of the log; normalised with the sidecar's anchors (-2.7 -> 0)
    best = max(e["value"] for e in log[:3])
    assert log[3]["value"] == pytest.approx(best) and record["raw_score"] == pytest.approx(best)
    assert record["normalised_score"] == pytest.approx((best + 2.7) / 2.7)
    assert record["aggregation"] == "best" and record["direction"] == "higher"


def test_rdbench_run_and_tasks_list_a_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from rdbench.cli.main import main

    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(EXAMPLES))
    script = tmp_path / "script.yaml"
    script.write_text('- bash: "echo 7 > guess.txt"\n- tool: score\n')
    code = main(["run", "metr_guess", "-T", "tasks=visible", "--model", "script/metr", "-M", f"script={script}",
                 "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr()
    assert code == 0, out.err
    [log_file] = (tmp_path / "logs").glob("*.eval")
    [sample] = read_eval_log(str(log_file)).samples or []
    record = record_of(sample)
    assert [e["source"] for e in record["score_log"]] == ["agent", "final", "final"]
    assert record["score_log"][0]["message"].startswith('{"guess": 7, "hint"')  # visible: the hint shows
    assert record["raw_score"] is not None and f"visible (epoch 1): raw {record['raw_score']}" in out.out
    assert main(["tasks", "--json"]) == 0
    rows = {row["task"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["metr_guess/visible"]["kind"] == "metr" and rows["metr_guess/visible"]["resources"] == "1 cpu, 1 GB"
    assert rows["metr_guess/hidden"]["calibrated"] == {"starting": -2.7, "reference": 0.0}


def test_full_internet_refused_unless_allowed(tmp_path: Path) -> None:
    family = TEST_FAMILIES / "metr_online"
    with pytest.raises(FamilyError, match=r"metr_online: get_permissions: task 'web' asks for full_internet.*"
                       r"Fix: allow it with --allow-internet"):
        make_task(family)
    make_task(family, metr_tasks="local")  # the other task needs nothing
    if not Path("/sys/class/net/eth0").exists():
        pytest.skip("this host has no eth0 to see")
    sample = run_family(family, [bash("cat /proc/net/dev")], tmp_path, metr_tasks="web", allow_internet=True)
    assert "eth0" in tool_outputs(sample)[0]


@pytest.mark.parametrize(("family", "tasks", "expected"), [
    ("metr_no_family", None, r"METR family metr_no_family: loading the family: metr_no_family.py defines no "
     r"TaskFamily class\. Fix: define `class TaskFamily`"),
    ("metr_bad_tasks", None, r"METR family metr_bad_tasks: get_tasks\(\): .*the task list is broken\. Fix: "
     r"get_tasks\(\) must return"),
    ("metr_bad_install", None, r"METR family metr_bad_install: install\(\): .*CalledProcessError.*exit status 3.*"
     r"Fix: fix TaskFamily.install"),
    ("metr_online", "nope", r"METR family metr_online: choosing tasks: get_tasks\(\) has no task 'nope'\. Fix: "
     r"choose among web, local"),
])
def test_malformed_family_is_one_clear_error(family: str, tasks: str | None, expected: str) -> None:
    with pytest.raises(FamilyError, match=expected):
        make_task(TEST_FAMILIES / family, metr_tasks=tasks)


def test_protected_scoring_library_as_rebench_uses_it(tmp_path: Path) -> None:
    sample = run_family(TEST_FAMILIES / "metr_protected", [
        bash("ls -la score.py; echo 40 > answer.txt; python3 score.py 2>&1 | tail -1; ls /protected 2>&1"),
        call("score"),
        bash("echo 41 > answer.txt"),
        call("score"),
    ], tmp_path)
    probe = tool_outputs(sample)[0]
    assert "score.py" in probe and "No such file" in probe  # readable script; no /protected here
    if AS_ROOT:
        assert "root" in probe.splitlines()[0] and "not run by the scoring group" in probe
    record = record_of(sample)
    values = [e["value"] for e in record["score_log"]]
    assert values[:3] == [-2.0, -1.0, -1.0] and [e["kind"] for e in record["score_log"]][:3] == ["scored"] * 3
    assert record["raw_score"] == -1.0  # aggregate_scores: the best of the log


def test_inspect_eval_cli_runs_a_family(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump([{"bash": f"submit $({SUM})"}]))
    env = {**os.environ, "RDBENCH_TASKS_PATH": str(EXAMPLES)}
    inspect = Path(sys.executable).with_name("inspect")
    done = subprocess.run([str(inspect), "eval", "rdbench/metr_sum", "-T", "tasks=small", "--model", "script/metr",
                           "-M", f"script={script}", "--log-dir", str(tmp_path / "logs"), "--display", "none"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [log_file] = (tmp_path / "logs").glob("*.eval")
    [sample] = read_eval_log(str(log_file)).samples or []
    assert sample.id == "small"
    record = record_of(sample)
    assert record["raw_score"] == 1.0 and record["task"] == "metr_sum"


def test_human_shell_in_a_family_runs_as_the_agent(tmp_path: Path) -> None:
    import sys

    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "rdbench.cli.human", "metr_sum", "-T", "tasks=small", "--budget", "120s", "--log-dir", str(tmp_path)],
        encoding="utf-8", timeout=240, env={**os.environ, "RDBENCH_TASKS_PATH": str(EXAMPLES)},
    )
    child.expect(r"\$ ")
    child.sendline("id -un; pwd; cat checksum.secret; ls /root; echo ==DONE")
    child.expect("==DONE\r\n")
    child.expect(r"\$ ")
    shown = child.before or ""
    assert "agent" in shown and "/home/agent" in shown and "cannot access '/root'" in shown
    if AS_ROOT:
        assert "Permission denied" in shown and "sum=" not in shown
    child.sendline(f"submit $({SUM})")
    child.expect(pexpect.EOF, timeout=240)
    [log_file] = tmp_path.glob("*.eval")
    [sample] = read_eval_log(str(log_file)).samples or []
    record = record_of(sample)
    assert record["raw_score"] == 1.0 and record["agent"] == "human"
