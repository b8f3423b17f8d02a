"""`rdbench report` end to end: real Inspect logs, METR's data, the HTML page in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.analysis.data import load_inputs, read_metr_jsonl

ROOT = Path(__file__).resolve().parents[2]
METR = ROOT / "data" / "metr-rebench-runs" / "runs.jsonl.gz"  # ships with the repository (MIT)
ARTIFACTS = ROOT / "artifacts"


def test_metr_means_match_the_data_readme() -> None:
    runs = read_metr_jsonl(METR)
    assert len(runs) == 1812
    humans = [r.points[0].score or 0.0 for r in runs if r.agent == "human"]
    assert len(humans) == 93
    assert statistics.fmean(humans) == pytest.approx(0.709, abs=0.0005)
    o1 = [r.points[0].score or 0.0 for r in runs if r.agent == "o1" and r.length_s == 7200]
    assert statistics.fmean(o1) == pytest.approx(0.334, abs=0.0005)
    sonnet = [r.points[0].score or 0.0 for r in runs
              if r.agent == "Claude 3.5 Sonnet (New)" and r.length_s == 7200]
    assert statistics.fmean(sonnet) == pytest.approx(0.306, abs=0.0005)


def make_logs(log_dir: Path, toy_tasks: Path) -> None:
    """Two real rdbench runs of the toy task (mockllm agents), calibrated first."""
    import asyncio

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from rdbench.scoring.check import check_task
    from rdbench.task.loader import load_task

    asyncio.run(check_task(load_task("toy_count"), repeats=1))
    for answer in (20, 40):
        script = [
            ModelOutput.for_tool_call(model="mockllm/model", tool_name="bash", tool_arguments={
                "command": f"printf 'def answer():\\n    return {answer}\\n' > solution.py"}),
            ModelOutput.for_tool_call(model="mockllm/model", tool_name="score", tool_arguments={}),
            ModelOutput.from_content("mockllm/model", "done"),
        ]
        model = get_model("mockllm/model", custom_outputs=script)
        inspect_eval(make_task("toy_count", agent_name="scripted"), model=model, log_dir=str(log_dir),
                     display="none")


def test_report_from_inspect_logs_opens_in_chromium(tmp_path: Path, toy_tasks_path: Path) -> None:
    logs = tmp_path / "logs"
    make_logs(logs, toy_tasks_path)
    runs = load_inputs([logs])
    assert sorted(round(r.points[0].score or 0, 4) for r in runs) == [0.5, 1.0]  # distances 22 and 2: (22-42)/(2-42), (2-42)/(2-42)
    out = tmp_path / "report"
    human_csv = tmp_path / "human.csv"
    human_csv.write_text("run_id,agent,task,task_version,elapsed_s,score,length_s\n"
                         "h1,human:alice,toy_count,1,300,0.7,600\n")
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "report", str(logs), str(human_csv),
                           "--out", str(out), "--budgets", "10m,20m"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    records = json.loads((out / "summary.json").read_text())
    scripted = [r for r in records if r["agent"] == "scripted" and r["budget_s"] == 1200]
    assert scripted and scripted[0]["k"] == 2 and scripted[0]["score_at_k"] == pytest.approx(1.0)
    assert scripted[0]["human_percentile"] == pytest.approx(100.0)
    assert set(scripted[0]) == {"agent", "model", "task", "budget_s", "run_length_s", "k", "k_budget",
                                "score_at_k", "ci_low", "ci_high", "n_runs", "human_percentile"}
    assert scripted[0]["model"] == "mockllm/model" and scripted[0]["task"] == "toy_count v1"
    assert "| toy_count v1 | scripted | mockllm/model | 2 |" in (out / "summary.md").read_text()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is installed by `make setup`"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
             f"--user-data-dir={tmp_path / 'chrome'}", "--virtual-time-budget=5000"]
    page = (out / "index.html").as_uri()
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    images = len(list(out.glob("*.png")))
    assert images == 5
    assert f"rdbench report: {images}/{images} images loaded" in dom.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,2400", page],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_unreadable_input_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.eval"
    bad.write_text("not a log")
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "report", str(bad), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 2
    assert "broken.eval: not a readable Inspect log" in proc.stderr and "Traceback" not in proc.stderr


def test_page_is_rendered_from_the_template_and_escaped() -> None:
    """The HTML comes from the Jinja2 template: text is escaped (a task name cannot inject
    markup), `code` and **bold** spans become tags, "- " lines become one list, and the footer
    names the rdbench version."""
    from rdbench import __version__
    from rdbench.analysis.report import FigureInfo, Section, Table, _html

    sections = [Section(title="Runs <b>", before=["intro `rdbench check x`", "- one", "- **two**", "after"],
                        table=Table(header=["task", "score"], rows=[["<script>alert(1)</script>", "0.5"]]))]
    page = _html(sections, [FigureInfo(file="a&b.png", caption="plot of **runs**")])
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h2>Runs &lt;b&gt;</h2>" in page
    assert "<p>intro <code>rdbench check x</code></p>" in page
    assert "<ul><li>one</li><li><strong>two</strong></li></ul>" in page and "<p>after</p>" in page
    assert '<img src="a&amp;b.png"' in page and "plot of <strong>runs</strong>" in page
    assert f"Written by rdbench {__version__} on " in page
    assert page.count("<table>") == 1 and "<td>0.5</td>" in page
