"""``rdbench report``: summary.json, summary.md, PNG plots and an HTML page."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from rdbench.analysis.data import Run
from rdbench.analysis.stats import score_at
from rdbench.analysis.summary import (
    AgentTaskRow,
    Record,
    agent_task_rows,
    human_costs,
    profiles,
    score_at_k_records,
)
from rdbench.task.spec import format_duration


def write_report(
    runs: list[Run],
    out: Path,
    budgets: list[float],
    human_agents: list[str] | None = None,
    hourly_rate: float = 232.0,
    bootstrap: int = 1000,
    seed: int = 0,
    progress: Callable[[str], None] = lambda m: None,
) -> list[Record]:
    """Write the report into ``out`` and return the score@k records."""
    out.mkdir(parents=True, exist_ok=True)
    humans = human_agents or []
    progress("computing score@k with bootstrap intervals")
    records = score_at_k_records(runs, budgets, humans, bootstrap=bootstrap, seed=seed)
    rows = agent_task_rows(runs)
    costs = human_costs(runs, hourly_rate, humans)
    taus, curves, areas = profiles(runs)
    (out / "summary.json").write_text(json.dumps([r.model_dump() for r in records], indent=1))
    progress("drawing plots")
    images = {
        "score_over_time.png": _plot_over_time(runs, out / "score_over_time.png"),
        "score_at_k.png": _plot_score_at_k(records, out / "score_at_k.png"),
        "human_percentile.png": _plot_percentiles(records, out / "human_percentile.png"),
        "cost_vs_score.png": _plot_cost(rows, out / "cost_vs_score.png"),
        "performance_profile.png": _plot_profiles(taus, curves, out / "performance_profile.png"),
    }
    markdown = _markdown(records, rows, costs, areas, hourly_rate)
    (out / "summary.md").write_text(markdown)
    (out / "index.html").write_text(_html(markdown, [n for n, ok in images.items() if ok]))
    return records


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _markdown(
    records: list[Record], rows: list[AgentTaskRow], costs: dict[str, float], areas: dict[str, float],
    hourly_rate: float,
) -> str:
    lines = ["# rdbench report", "", "## Runs", "",
             "| agent | task | runs | invalid | scorer errors | mean score | run lengths | mean cost | attempts/h | noise |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lengths = ", ".join(format_duration(x) for x in row.run_lengths_s)
        cost = "–" if row.mean_cost_usd is None else f"${row.mean_cost_usd:.2f}"
        lines.append(f"| {row.agent} | {row.task} | {row.n_runs} | {row.invalid_runs} | {row.scorer_errors} | {_fmt(row.mean_score)} | {lengths} | "
                     f"{cost} | {_fmt(row.mean_attempts_per_hour, 1)} | {_fmt(row.noise)} |")
    env = [r for r in rows if r.mean_task_model_cost_usd is not None]
    if env:
        lines += ["", "Task models (the environment's own models, e.g. a code model; not the agent's cost): "
                  + "; ".join(f"{r.agent} on {r.task}: ${r.mean_task_model_cost_usd:.2f} per run" for r in env)]
    lines += ["", "`invalid`: runs that changed files they must not (integrity check); they score 0. "
              "`scorer errors`: score calls where the task's scorer failed (the harness's or the task's "
              "fault, not the agent's; such calls count as no score, not as a zero: look at them). "
              "Scores are normalised: 0 = starting solution, 1 = reference. `noise` is the spread of "
              "repeated scoring of one solution (from calibration), in the same units: differences "
              "smaller than it are within measurement noise.", "",
              "## score@k under total time budgets", "",
              "| agent | task | budget | run length | k | score@k | 95% CI | runs | human percentile |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        ci = "–" if r.ci_low is None else f"[{r.ci_low:.3f}, {r.ci_high:.3f}]"
        pct = "–" if r.human_percentile is None else f"{r.human_percentile:.0f}"
        lines.append(f"| {r.agent} | {r.task} | {format_duration(r.budget_s)} | "
                     f"{format_duration(r.run_length_s)} | {r.k} | {_fmt(r.score_at_k)} | {ci} | "
                     f"{r.n_runs} | {pct} |")
    if costs:
        lines += ["", f"## Human cost (at ${hourly_rate:.0f}/h)", "", "| task | mean cost per run |",
                  "|---|---|"]
        lines += [f"| {task} | ${cost:,.0f} |" for task, cost in costs.items()]
    if areas:
        lines += ["", "## Performance profiles (area under the profile, AUP)", "", "| agent | AUP |",
                  "|---|---|"]
        lines += [f"| {agent} | {area:.3f} |" for agent, area in sorted(areas.items(), key=lambda x: -x[1])]
    return "\n".join(lines) + "\n"


def _html(markdown: str, images: list[str]) -> str:
    body = []
    table: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            cells = [[html.escape(c.strip()) for c in row.strip("|").split("|")] for row in table if "---" not in row]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            table = []
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    figures = "".join(f'<figure><img src="{name}" alt="{name}"><figcaption>{name}</figcaption></figure>'
                      for name in images)
    script = ("window.addEventListener('load', function () { var imgs = document.images, ok = 0;"
              " for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }"
              " document.title = 'rdbench report: ' + ok + '/' + imgs.length + ' images loaded'; });")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1200px} table{border-collapse:collapse;"
             "margin:1em 0} td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px} "
             "img{max-width:100%} figure{margin:1em 0}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>rdbench report</title>"
            f"<style>{style}</style><script>{script}</script></head><body>"
            f"{''.join(body)}<h2>Plots</h2>{figures}</body></html>")


def _save(fig: Figure, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _plot_over_time(runs: list[Run], path: Path) -> bool:
    tasks = sorted({r.task for r in runs})
    if not tasks:
        return False
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        members = [r for r in runs if r.task == task]
        for agent in sorted({r.agent for r in members}):
            mine = [r for r in members if r.agent == agent]
            horizon = max(r.length_s for r in mine) or 1.0
            grid = np.linspace(0, horizon, 60)
            mean = [np.mean([score_at(r, t) for r in mine]) for t in grid]
            ax.plot(grid / 3600, mean, label=agent, marker="" if not mine[0].final_only else "o", markevery=[-1])
        ax.set_title(task)
        ax.set_xlabel("working time (h)")
        ax.set_ylabel("mean normalised score")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    return _save(fig, path)


def _plot_score_at_k(records: list[Record], path: Path) -> bool:
    tasks = sorted({r.task for r in records})
    if not tasks:
        return False
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        keys = sorted({(r.agent, r.run_length_s) for r in records if r.task == task})
        for agent, length in keys:
            rs = sorted((r for r in records if r.task == task and r.agent == agent and r.run_length_s == length),
                        key=lambda r: r.budget_s)
            x = [r.budget_s / 3600 for r in rs]
            ax.plot(x, [r.score_at_k for r in rs], marker="o", label=f"{agent} ({format_duration(length)} runs)")
            if all(r.ci_low is not None for r in rs):
                ax.fill_between(x, [r.ci_low or 0.0 for r in rs], [r.ci_high or 0.0 for r in rs], alpha=0.15)
        ax.set_title(task)
        ax.set_xlabel("total time budget (h)")
        ax.set_ylabel("score@k")
    axes.flat[0].legend(fontsize=6)
    return _save(fig, path)


def _plot_percentiles(records: list[Record], path: Path) -> bool:
    with_pct = [r for r in records if r.human_percentile is not None]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if with_pct:
        top = max(r.budget_s for r in with_pct)
        chosen = [r for r in with_pct if r.budget_s == top]
        labels = [f"{r.agent}\n{r.task}\n{format_duration(r.run_length_s)}x{r.k}" for r in chosen]
        ax.bar(range(len(chosen)), [r.human_percentile or 0.0 for r in chosen])
        ax.set_xticks(range(len(chosen)), labels, fontsize=5, rotation=90)
        ax.set_title(f"percentile among human runs at a {format_duration(top)} budget")
    else:
        ax.text(0.5, 0.5, "no human runs in the input", ha="center", va="center")
    ax.set_ylabel("human percentile")
    return _save(fig, path)


def _plot_cost(rows: list[AgentTaskRow], path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(6, 4))
    points = [r for r in rows if r.mean_cost_usd is not None]
    for row in points:
        cost = row.mean_cost_usd or 0.0
        ax.scatter(cost, row.mean_score)
        ax.annotate(f"{row.agent}/{row.task}", (cost, row.mean_score), fontsize=5)
    if not points:
        ax.text(0.5, 0.5, "no cost data in the input", ha="center", va="center")
    ax.set_xlabel("mean cost per run (USD)")
    ax.set_ylabel("mean normalised score")
    return _save(fig, path)


def _plot_profiles(taus: np.ndarray, curves: dict[str, np.ndarray], path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(6, 4))
    for agent, curve in sorted(curves.items()):
        ax.step(taus, curve, where="post", label=agent)
    ax.set_xlabel("tau (log10 of ratio to the best agent)")
    ax.set_ylabel("fraction of tasks")
    if curves:
        ax.legend(fontsize=6)
    return _save(fig, path)
