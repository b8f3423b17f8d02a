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
