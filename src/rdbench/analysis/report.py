"""``rdbench report``: summary.json, summary.md, PNG plots and an HTML page.

The page and the Markdown are rendered from the same sections (tables and paragraphs), so the HTML
never shows raw Markdown. The first section is a one-screen summary: per task and agent + model,
the runs, the mean score, score@k at each budget with its interval, the human percentile and the
cost. Every figure says which machines its runs ran on and which calibrations normalised them.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import jinja2
import matplotlib.pyplot as plt
import numpy as np
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pydantic import BaseModel, Field

from rdbench.analysis.data import Run
from rdbench.analysis.stats import scores_over
from rdbench.analysis.summary import (
    AgentTaskRow,
    Record,
    agent_task_rows,
    human_costs,
    profiles,
    score_at_k_records,
)
from rdbench.progress import progress_bar
from rdbench.task.spec import format_duration

FONT = 10
plt.rcParams.update({"font.size": FONT, "axes.titlesize": FONT + 1, "legend.fontsize": FONT - 1})


class Table(BaseModel):
    """A table of text cells (cells may hold `code` spans, rendered in both formats)."""

    header: list[str]
    rows: list[list[str]]


class Section(BaseModel):
    """A heading with paragraphs and an optional table, before or after the paragraphs."""

    title: str
    before: list[str] = Field(default_factory=list)
    table: Table | None = None
    after: list[str] = Field(default_factory=list)


class FigureInfo(BaseModel):
    """A plot: its file, what it shows, and the machines and calibrations behind it."""

    file: str
    caption: str


def write_report(
    runs: list[Run],
    out: Path,
    budgets: list[float],
    human_agents: list[str] | None = None,
    hourly_rate: float = 232.0,
    bootstrap: int = 1000,
    seed: int = 0,
    progress: Callable[[str], None] = lambda m: None,
    skipped: list[str] | None = None,
) -> list[Record]:
    """Write the report into ``out`` and return the score@k records.

    Runs that no calibration normalises are left out of every number and listed with the command
    that calibrates their task; ``skipped`` (inputs that could not be read) are listed too.
    """
    out.mkdir(parents=True, exist_ok=True)
    humans = human_agents or []
    counted = [r for r in runs if not r.uncalibrated]
    left_out = [r for r in runs if r.uncalibrated]
    # the steps: score@k, five plots, the pages
    # the folder is named when the report is done; a long path would squeeze the bar off the line
    with progress_bar(f"writing the report of {len(counted)} runs", 7, say=progress, notes_as_lines=True) as bar:
        bar(0, "computing score@k with bootstrap intervals")
        records = score_at_k_records(counted, budgets, humans, bootstrap=bootstrap, seed=seed)
        rows = agent_task_rows(counted)
        costs = human_costs(counted, hourly_rate, humans)
        taus, curves, areas = profiles(counted)
        (out / "summary.json").write_text(json.dumps([r.model_dump() for r in records], indent=1))
        bar(1, "drawing plots")
        drawn: list[FigureInfo | None] = []
        draws: list[Callable[[], FigureInfo | None]] = [
            lambda: _plot_over_time(counted, out), lambda: _plot_score_at_k(records, counted, out),
            lambda: _plot_percentiles(records, counted, out), lambda: _plot_cost(rows, counted, out),
            lambda: _plot_profiles(taus, curves, counted, out)]
        for draw in draws:
            drawn.append(draw())
            bar(1)
        figures = [f for f in drawn if f is not None]
        bar(0, "")  # the pages: quick, and said by the caller's last line
        sections = _sections(counted, left_out, skipped or [], records, rows, costs, areas, budgets,
                             hourly_rate, humans)
        (out / "summary.md").write_text(_markdown(sections, figures))
        (out / "index.html").write_text(_html(sections, figures))
        bar(1, "")
    return records


# ---- numbers and sections ------------------------------------------------------------------------

def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:,.2f}"


def _ci(record: Record) -> str:
    return "" if record.ci_low is None or record.ci_high is None else f" [{record.ci_low:.2f}, {record.ci_high:.2f}]"


def _k(record: Record) -> str:
    """k as used, with the budget's k when the runs available clipped it."""
    shown = f"{record.k}×{format_duration(record.run_length_s)}"
    if record.k == record.k_budget:
        return shown
    runs = "1 run" if record.n_runs == 1 else f"{record.n_runs} runs"
    return f"{shown}; k clipped from {record.k_budget}: {runs}"


def _best_allocations(records: list[Record]) -> dict[tuple[str, str, float], Record]:
    """Per (task, agent + model, budget): the run length whose score@k is highest."""
    best: dict[tuple[str, str, float], Record] = {}
    for record in records:
        key = (record.task, _identity(record.agent, record.model), record.budget_s)
        if key not in best or (record.score_at_k or -math.inf) > (best[key].score_at_k or -math.inf):
            best[key] = record
    return best


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _time_unit(seconds: float) -> tuple[float, str]:
    """Divisor and name of the unit a time axis reads best in (minutes for runs under two hours)."""
    return (60.0, "min") if seconds < 2 * 3600 else (3600.0, "h")


def _identity(agent: str, model: str | None) -> str:
    return agent if not model else f"{agent} · {model}"


def _summary_table(rows: list[AgentTaskRow], records: list[Record], budgets: list[float]) -> Table:
    best = _best_allocations(records)
    header = ["task", "agent", "model", "runs", "mean score"]
    header += [f"score@k, {format_duration(b)}" for b in budgets]
    header += ["human pct", "cost/run", "notes"]
    table_rows = []
    for row in sorted(rows, key=lambda r: (r.task, r.identity)):
        ident = row.identity
        cells = [row.task, row.agent, row.model or "–", str(row.n_runs), _fmt(row.mean_score)]
        top: Record | None = None
        for budget in budgets:
            record = best.get((row.task, ident, budget))
            if record is None:
                cells.append("–")
                continue
            top = record
            cells.append(f"{_fmt(record.score_at_k, 2)}{_ci(record)} ({_k(record)})")
        cells.append("–" if top is None or top.human_percentile is None else
                     f"{top.human_percentile:.0f} (at {format_duration(top.budget_s)})")
        cells.append(_money(row.mean_cost_usd))
        notes = []
        if row.invalid_runs:
            notes.append(f"{row.invalid_runs} invalid")
        if row.scorer_errors:
            notes.append(f"{row.scorer_errors} scorer errors")
        cells.append(", ".join(notes) or "–")
        table_rows.append(cells)
    return Table(header=header, rows=table_rows)


def _left_out(left_out: list[Run], skipped: list[str]) -> Section | None:
    if not left_out and not skipped:
        return None
    lines = []
    if left_out:
        by_fix: dict[tuple[str, str], list[Run]] = defaultdict(list)
        for run in left_out:
            by_fix[(run.task, run.fix or "calibrate the task")].append(run)
        lines.append(f"**{_count(len(left_out), 'uncalibrated run')} left out of every number** (a run "
                     "without its task's calibration cannot be normalised; counting it as 0 would "
                     "be wrong):")
        for (task, fix), members in sorted(by_fix.items()):
            who = ", ".join(sorted({r.identity for r in members}))
            lines.append(f"- {_count(len(members), 'run')} of {task} ({who}): run {fix}")
    if skipped:
        lines.append(f"**{_count(len(skipped), 'input')} could not be read and {'was' if len(skipped) == 1 else 'were'} skipped:**")
        lines += [f"- {message}" for message in skipped]
    return Section(title="Left out", before=lines)


def _calibration_lines(runs: Iterable[Run]) -> list[str]:
    """One line per calibration (and per machine) behind ``runs``."""
    notes: dict[tuple[object, ...], str] = {}
    for run in runs:
        cal = run.calibration
        if cal is None:
            continue
        if cal.starting is None:
            text = f"{cal.task}: {cal.source}"
        else:
            when = "" if cal.created is None else \
                f", checked {datetime.datetime.fromtimestamp(cal.created):%Y-%m-%d}"
            where = "" if cal.machine is None else f" on {cal.machine}"
            text = (f"{cal.task}: starting {cal.starting:.4g}, reference {cal.reference:.4g}, noise "
                    f"{_fmt(cal.noise)}{when}{where} ({cal.source})")
        notes[(cal.task, cal.starting, cal.reference, cal.created, cal.source)] = text
    return [notes[k] for k in sorted(notes, key=str)]


def _machines(runs: Iterable[Run]) -> list[str]:
    return sorted({r.machine for r in runs if r.machine})


def _provenance(runs: list[Run]) -> str:
    machines = _machines(runs)
    ran = f"Runs on: {'; '.join(machines)}." if machines else "Runs on: machine not recorded."
    cals = _calibration_lines(runs)
    return f"{ran} Calibrations: {'; '.join(cals) if cals else 'none'}."


def _sections(
    runs: list[Run], left_out: list[Run], skipped: list[str], records: list[Record],
    rows: list[AgentTaskRow], costs: dict[str, float], areas: dict[str, float], budgets: list[float],
    hourly_rate: float, humans: list[str],
) -> list[Section]:
    sections = [Section(
        title="Summary",
        before=[f"{_count(len(runs), 'run')} of {_count(len({r.task for r in runs}), 'task')} by "
                f"{_count(len({r.identity for r in runs}), 'agent')} (agent + model)"
                + (f"; {_count(len(left_out), 'uncalibrated run')} left out (see below)" if left_out else "")
                + "."],
        table=_summary_table(rows, records, budgets),
        after=["Scores are normalised: 0 = the starting solution, 1 = the reference. `score@k, T`: the "
               "expected best of k runs of length t that fit the total time budget T (k = ⌊T / t⌋, "
               "clipped to the runs there are, shown as used: `k×t`), with its 95% bootstrap interval; "
               "where runs of several lengths fit, the length with the best score@k. `human pct`: "
               "percentile of that score among the human runs of the task at the largest budget. "
               "`cost/run`: the agent's model cost (– when a model had no price)."],
    )]
    left = _left_out(left_out, skipped)
    if left is not None:
        sections.append(left)
    run_rows = []
    for row in rows:
        lengths = ", ".join(format_duration(x) for x in row.run_lengths_s)
        run_rows.append([row.task, row.agent, row.model or "–", str(row.n_runs), str(row.invalid_runs),
                         str(row.scorer_errors), _fmt(row.mean_score), lengths, _money(row.mean_cost_usd),
                         _money(row.mean_task_model_cost_usd), _fmt(row.mean_attempts_per_hour, 1),
                         _fmt(row.noise)])
    sections.append(Section(
        title="Runs",
        table=Table(header=["task", "agent", "model", "runs", "invalid", "scorer errors", "mean score",
                            "run lengths", "cost/run", "task models/run", "attempts/h", "noise"],
                    rows=run_rows),
        after=["`invalid`: runs that changed files they must not (integrity check); they score 0. "
               "`scorer errors`: score calls where the task's scorer failed (the harness's or the task's "
               "fault, not the agent's; such calls count as no score, not as a zero: look at them). "
               "`task models/run`: the cost of the task's own models (e.g. a code model), not the "
               "agent's. `noise`: the spread of repeated scoring of one solution (from calibration), "
               "in normalised units: differences smaller than it are within measurement noise."],
    ))
    k_rows = []
    for r in records:
        pct = "–" if r.human_percentile is None else f"{r.human_percentile:.0f}"
        ci = "–" if r.ci_low is None or r.ci_high is None else f"[{r.ci_low:.3f}, {r.ci_high:.3f}]"
        k_rows.append([r.task, r.agent, r.model or "–", format_duration(r.budget_s),
                       format_duration(r.run_length_s), str(r.k), str(r.k_budget), _fmt(r.score_at_k), ci,
                       str(r.n_runs), pct])
    sections.append(Section(
        title="score@k under total time budgets",
        table=Table(header=["task", "agent", "model", "budget", "run length", "k used", "k budget",
                            "score@k", "95% CI", "runs", "human percentile"], rows=k_rows),
        after=["`k used` is `k budget` clipped to the runs available: with fewer runs than the budget "
               "pays for, score@k is the best of all of them."],
    ))
    if costs:
        sections.append(Section(
            title=f"Human cost (at ${hourly_rate:.0f}/h)",
            table=Table(header=["task", "mean cost per run"],
                        rows=[[task, f"${cost:,.0f}"] for task, cost in costs.items()])))
    if areas:
        sections.append(Section(
            title="Performance profiles (area under the profile, AUP)",
            table=Table(header=["agent + model", "AUP"],
                        rows=[[a, f"{v:.3f}"] for a, v in sorted(areas.items(), key=lambda x: -x[1])])))
    machines = _machines(runs)
    sections.append(Section(
        title="Machines and calibrations",
        before=[f"- machine: {m}" for m in machines] + [f"- calibration: {c}" for c in _calibration_lines(runs)]
        or ["none recorded"],
    ))
    return sections


# ---- rendering -----------------------------------------------------------------------------------

def _markdown(sections: list[Section], figures: list[FigureInfo]) -> str:
    lines = ["# rdbench report", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [*section.before, ""] if section.before else []
        if section.table is not None:
            lines.append("| " + " | ".join(section.table.header) + " |")
            lines.append("|" + "---|" * len(section.table.header))
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in section.table.rows]
            lines.append("")
        lines += [*section.after, ""] if section.after else []
    lines += ["## Plots", ""]
    for figure in figures:
        lines += [f"![{figure.file}]({figure.file})", "", f"*{figure.caption}*", ""]
    return "\n".join(lines)


def _inline(text: str) -> Markup:
    """Escape text and render its `code` and **bold** spans as HTML (no raw Markdown reaches the
    page)."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            escaped = html.escape(part)
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped))
    return Markup("".join(out))


def _blocks(lines: list[str]) -> list[tuple[str, Any]]:
    """Paragraph lines as blocks: ("list", [items]) for a run of "- " lines, ("paragraph", text)."""
    blocks: list[tuple[str, Any]] = []
    for line in lines:
        if line.startswith("- "):
            if blocks and blocks[-1][0] == "list":
                blocks[-1][1].append(line[2:])
            else:
                blocks.append(("list", [line[2:]]))
        elif line.strip():
            blocks.append(("paragraph", line))
    return blocks


def _html(sections: list[Section], figures: list[FigureInfo]) -> str:
    """The page, rendered from ``templates/report.html.jinja`` (autoescaped; cells and paragraphs
    go through the ``inline`` filter)."""
    from rdbench import __version__

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("rdbench.analysis", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    environment.filters["inline"] = _inline
    environment.filters["blocks"] = _blocks
    written = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return environment.get_template("report.html.jinja").render(
        sections=sections, figures=figures, version=__version__, written=written)


# ---- plots ---------------------------------------------------------------------------------------

def _save(fig: Figure, path: Path, legend_rows: int = 0) -> None:
    """Lay out and write a figure; ``legend_rows`` of figure legend are kept free at the bottom."""
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, min(0.5, (0.3 + 0.22 * legend_rows) / height) if legend_rows else 0, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _colours(identities: Iterable[str]) -> dict[str, Any]:
    """One colour per agent + model, the same in every panel of a figure."""
    names = sorted(set(identities))
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def _figure_legend(fig: Figure, axes: list[Axes]) -> int:
    """One legend for all panels, below them (a legend per panel hides the lines it names, and
    placing it "best" costs seconds with many lines); returns its number of rows."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if not seen:
        return 0
    columns = 1 if len(seen) <= 3 else 2
    fig.legend(handles=list(seen.values()), labels=list(seen), loc="lower center", ncol=columns, frameon=False)
    return math.ceil(len(seen) / columns)


def _grid(n: int, width: float = 6.4, height: float = 4.0) -> tuple[Figure, list[Axes]]:
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def _plot_over_time(runs: list[Run], out: Path) -> FigureInfo | None:
    tasks = sorted({r.task for r in runs})
    if not tasks:
        return None
    fig, axes = _grid(len(tasks))
    colours = _colours(r.identity for r in runs)
    for ax, task in zip(axes, tasks, strict=True):
        members = [r for r in runs if r.task == task]
        scale, unit = _time_unit(max(r.length_s for r in members))
        by_identity: dict[str, list[Run]] = defaultdict(list)
        for run in members:
            by_identity[run.identity].append(run)
        for ident, mine in sorted(by_identity.items()):
            horizon = max(r.length_s for r in mine) or 1.0
            grid = np.linspace(0, horizon, 120)
            mean = np.mean([scores_over(r, grid) for r in mine], axis=0)
            ax.plot(grid / scale, mean, label=ident, color=colours[ident],
                    marker="" if not mine[0].final_only else "o", markevery=[-1])
        ax.set_title(f"{task} ({_count(len(members), 'run')})")
        ax.set_xlabel(f"working time ({unit})")
        ax.set_ylabel("mean normalised score")
        ax.grid(alpha=0.3)
    path = out / "score_over_time.png"
    _save(fig, path, _figure_legend(fig, axes))
    return FigureInfo(file=path.name, caption="Mean normalised score over working time, per task and "
                      f"agent + model (a run's score at t by the task's aggregation: its best entry so far, or its "
                      f"last answer). {_provenance(runs)}")


def _plot_score_at_k(records: list[Record], runs: list[Run], out: Path) -> FigureInfo | None:
    tasks = sorted({r.task for r in records})
    if not tasks:
        return None
    fig, axes = _grid(len(tasks))
    colours = _colours(_identity(r.agent, r.model) for r in records)
    lengths = sorted({r.run_length_s for r in records})
    styles = ["-", "--", ":", "-."]
    lines: dict[tuple[str, str, float], list[Record]] = defaultdict(list)
    for record in records:
        lines[(record.task, _identity(record.agent, record.model), record.run_length_s)].append(record)
    for ax, task in zip(axes, tasks, strict=True):
        scale, unit = _time_unit(max(r.budget_s for r in records if r.task == task))
        for (_, ident, length), rs in sorted((k, v) for k, v in lines.items() if k[0] == task):
            rs = sorted(rs, key=lambda r: r.budget_s)
            x = [r.budget_s / scale for r in rs]
            colour = colours[ident]
            ax.plot(x, [math.nan if r.score_at_k is None else r.score_at_k for r in rs], marker="o", color=colour,
                    linestyle=styles[lengths.index(length) % len(styles)],
                    label=f"{ident}, {format_duration(length)} runs")
            for r, xi in zip(rs, x, strict=True):
                ax.annotate(f"k={r.k}", (xi, r.score_at_k or 0.0), textcoords="offset points",
                            xytext=(4, 4), fontsize=FONT - 2, color=colour)
            if all(r.ci_low is not None for r in rs):
                ax.fill_between(x, [r.ci_low or 0.0 for r in rs], [r.ci_high or 0.0 for r in rs], alpha=0.12,
                                color=colour)
        ax.set_title(task)
        ax.set_xlabel(f"total time budget ({unit})")
        ax.set_ylabel("score@k (normalised)")
        ax.grid(alpha=0.3)
    path = out / "score_at_k.png"
    _save(fig, path, _figure_legend(fig, axes))
    used = [r for r in runs if r.task in tasks]
    return FigureInfo(file=path.name, caption="score@k against the total time budget, with 95% bootstrap "
                      "bands; each point is labelled with the k used (clipped to the runs there are). "
                      f"{_provenance(used)}")


def _plot_percentiles(records: list[Record], runs: list[Run], out: Path) -> FigureInfo | None:
    with_pct = [r for r in records if r.human_percentile is not None]
    if not with_pct:
        return None
    top = max(r.budget_s for r in with_pct)
    chosen = sorted((r for r in with_pct if r.budget_s == top), key=lambda r: (r.task, r.agent, r.run_length_s))
    labels = [f"{r.task} · {_identity(r.agent, r.model)} · {r.k}×{format_duration(r.run_length_s)}"
              for r in chosen]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(chosen) + 1.5))
    ax.barh(range(len(chosen)), [r.human_percentile or 0.0 for r in chosen])
    ax.set_yticks(range(len(chosen)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("percentile among the task's human runs")
    ax.set_title(f"Agents' score@k against people, at a {format_duration(top)} budget")
    ax.grid(axis="x", alpha=0.3)
    path = out / "human_percentile.png"
    _save(fig, path)
    used = [r for r in runs if r.task in {c.task for c in chosen}]
    return FigureInfo(file=path.name, caption=f"Percentile of each agent's score@k among the human runs of "
                      f"the task, at the largest budget ({format_duration(top)}). {_provenance(used)}")


def _plot_cost(rows: list[AgentTaskRow], runs: list[Run], out: Path) -> FigureInfo | None:
    points = [r for r in rows if r.mean_cost_usd is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for row in points:
        cost = row.mean_cost_usd or 0.0
        ax.scatter(cost, row.mean_score, s=36)
        ax.annotate(f"{row.identity} / {row.task}", (cost, row.mean_score), fontsize=FONT - 2,
                    textcoords="offset points", xytext=(5, 3))
    ax.set_xlabel("mean cost per run (USD)")
    ax.set_ylabel("mean normalised score")
    ax.set_title("Score against cost")
    ax.grid(alpha=0.3)
    path = out / "cost_vs_score.png"
    _save(fig, path)
    used = [r for r in runs if r.cost_usd is not None]
    return FigureInfo(file=path.name, caption="Mean score against mean cost per run, per task and agent + "
                      f"model (runs without a price are not shown). {_provenance(used)}")


def _plot_profiles(taus: np.ndarray, curves: dict[str, np.ndarray], runs: list[Run], out: Path) -> FigureInfo | None:
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(9, 5))
    for ident, curve in sorted(curves.items()):
        ax.step(taus, curve, where="post", label=ident)
    ax.set_xlabel("τ (log10 of the ratio to the best agent's score)")
    ax.set_ylabel("fraction of tasks")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Performance profiles")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=FONT - 2)
    path = out / "performance_profile.png"
    _save(fig, path)
    return FigureInfo(file=path.name, caption="MLGym-style performance profiles over tasks of each agent + "
                      f"model's mean score. {_provenance(runs)}")
