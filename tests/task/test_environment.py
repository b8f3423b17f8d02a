"""Task environments record what is installed in them (provenance of every score)."""

from __future__ import annotations

from rdbench.task.environment import ensure_environment, environment_fingerprint
from rdbench.task.spec import EnvironmentSpec


def test_fingerprint_lists_the_installed_packages() -> None:
    torch_env = ensure_environment(EnvironmentSpec(requirements=["numpy", "torch==2.13.0"]))
    stdlib_env = ensure_environment(EnvironmentSpec())
    torch_fp, stdlib_fp = environment_fingerprint(torch_env), environment_fingerprint(stdlib_env)
    assert any(p.startswith("torch==2.13.0") for p in torch_fp["main_packages"])  # e.g. 2.13.0+cpu
    assert any(p.startswith("numpy==") for p in torch_fp["main_packages"])
    assert torch_fp["n_packages"] > 2 and stdlib_fp["n_packages"] == 0
    assert torch_fp["key"] == torch_env.name and torch_fp["python"].startswith("3.")
    assert torch_fp["packages_sha256"] != stdlib_fp["packages_sha256"]
    assert environment_fingerprint(torch_env) == torch_fp  # stable


def test_an_existing_environment_is_used_as_it_is(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """RDBENCH_TASK_ENV: no build; the task's scorer runs with that venv's packages, which the
    provenance records; a folder that is no venv is one clear error."""
    import asyncio
    from pathlib import Path

    import pytest

    from rdbench.scoring.provenance import provenance
    from rdbench.scoring.runner import score_workspace
    from rdbench.task.assets import materialize
    from rdbench.task.environment import EnvironmentBuildError
    from rdbench.task.loader import load_task

    built = ensure_environment(EnvironmentSpec(requirements=["numpy", "torch==2.13.0"]))
    monkeypatch.setenv("RDBENCH_TASK_ENV", str(built))
    said: list[str] = []
    env = ensure_environment(EnvironmentSpec(requirements=["numpy", "no-such-package>=1"]), said.append)
    assert env == built.absolute()
    assert any("no-such-package" in line for line in said) and not any("numpy" in line for line in said)
    toy = load_task(Path(__file__).parents[1] / "harness" / "toy_tasks" / "toy_count")
    mat = materialize(toy, "mini")
    result = asyncio.run(score_workspace(mat, mat.workspace, env))
    assert result.kind == "scored" and result.value == 42.0, result  # the toy start answers 0; target 42
    assert any(p.startswith("torch==") for p in provenance(mat, env)["environment"]["main_packages"])
    monkeypatch.setenv("RDBENCH_TASK_ENV", str(tmp_path))
    with pytest.raises(EnvironmentBuildError, match="not a virtual environment"):
        ensure_environment(EnvironmentSpec())
