"""`python -m rdbench.agents.cli_install` (make setup): installs or prints the pinned CLIs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rdbench.agents import cli_install
from rdbench.agents.cli_presets import PRESETS


def fake_npm_root(tmp_path: Path, versions: dict[str, str]) -> Path:
    for name, version in versions.items():
        folder = tmp_path / PRESETS[name].npm_package
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"name": PRESETS[name].npm_package,
                                                         "version": version}))
    return tmp_path


def test_pinned_clis_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = fake_npm_root(tmp_path, {name: p.tested_version for name, p in PRESETS.items()})
    monkeypatch.setattr(cli_install, "npm_root", lambda: root)
    monkeypatch.setattr(cli_install.subprocess, "run", None)  # nothing may be run
    assert cli_install.main([]) == 0 and cli_install.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_without_root_the_command_is_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = fake_npm_root(tmp_path, {"codex": "0.1.0", "claude": PRESETS["claude"].tested_version})
    monkeypatch.setattr(cli_install, "npm_root", lambda: root)
    monkeypatch.setattr(cli_install, "_node_major", lambda: 20)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli_install.main([]) == 0  # never fails the setup
    err = capsys.readouterr().err
    codex, gemini = PRESETS["codex"], PRESETS["gemini"]
    assert f"codex 0.1.0 (tested {codex.tested_version})" in err and "gemini missing" in err, err
    assert f"run: sudo npm install -g --no-fund --no-audit {codex.npm_spec} {gemini.npm_spec}" in err
    assert "claude" not in err.replace("claude-code", "")  # at its pinned version already
    assert cli_install.main(["--check"]) == 1


def test_without_node_it_says_what_is_needed(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli_install, "npm_root", lambda: None)
    monkeypatch.setattr(cli_install, "_node_major", lambda: None)
    assert cli_install.main([]) == 0
    err = capsys.readouterr().err
    assert "need Node.js 20+ and npm (found: no node, no npm)" in err and "npm install -g" in err


def test_missing_reason_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_install.shutil, "which", lambda name: None)
    assert "sudo npm install -g @openai/codex@" in (cli_install.missing_reason("codex") or "")
    elsewhere = tmp_path / "codex"
    elsewhere.write_text("")
    monkeypatch.setattr(cli_install.shutil, "which", lambda name: str(elsewhere))
    assert "which the sandbox does not see" in (cli_install.missing_reason("codex") or "")
