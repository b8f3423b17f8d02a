"""The command-line agents rdbench knows how to run (``rdbench/cli`` presets), pinned to the
versions tested with them.

Each preset says how to start the CLI non-interactively inside the sandbox, which of the bridge's
APIs it speaks (and so which Python package the bridge needs on the host), and which settings
point it at the in-sandbox model proxy with the eval's real model name and context window. This
module imports nothing heavy: ``python -m rdbench.agents.cli_install`` (run by ``make setup``)
reads the pins from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

GEMINI_DEFAULT_WINDOW = 1_048_576
"""Gemini CLI 0.61's token limit for every model name (``tokenLimit`` in its bundle); its
compression threshold is a fraction of this."""
CLAUDE_MIN_COMPACT_WINDOW = 100_000
"""Claude Code 2.1 treats a smaller CLAUDE_CODE_AUTO_COMPACT_WINDOW as this (and warns)."""
GEMINI_COMPRESSION_FRACTION = 0.5
"""Gemini CLI's default compression threshold (``DEFAULT_COMPRESSION_TOKEN_THRESHOLD``)."""


@dataclass(frozen=True)
class Setup:
    """What a preset adds for one run: environment variables and files under the sandbox's $HOME."""

    env: dict[str, str] = field(default_factory=dict)
    home_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BridgePackage:
    """A Python package Inspect's bridge imports on the host to serve one API."""

    module: str
    pip: str


@dataclass(frozen=True)
class Preset:
    """A known CLI: how to run it, what it needs, and the version it was tested with."""

    name: str
    binary: str
    npm_package: str
    tested_version: str
    command: str
    api: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    bridge_packages: tuple[BridgePackage, ...] = ()
    configure: Callable[[str, str, int | None], Setup] | None = None
    """(proxy base URL, model name, context window or None) -> per-run settings."""

    def setup(self, base_url: str, model: str, window: int | None) -> Setup:
        """The preset's environment and $HOME files for one run."""
        return Setup() if self.configure is None else self.configure(base_url, model, window)

    @property
    def npm_spec(self) -> str:
        """``package@version`` for ``npm install -g``."""
        return f"{self.npm_package}@{self.tested_version}"


def _codex(base_url: str, model: str, window: int | None) -> Setup:
    # Codex 0.171 ignores OPENAI_BASE_URL for its built-in `openai` provider (it retries the public
    # endpoint until the budget ends); a provider of its own, on the Responses API, reaches the proxy.
    lines = [
        'model_provider = "rdbench"',
        *([f"model_context_window = {window}"] if window else []),
        "",
        "[model_providers.rdbench]",
        'name = "rdbench (Inspect agent bridge)"',
        f"base_url = {json.dumps(base_url + '/v1')}",
        'env_key = "OPENAI_API_KEY"',
        'wire_api = "responses"',
        "",
        # the sandbox has no network: no analytics (flushing them to ab.chatgpt.com held the exit
        # for 5 s), no telemetry export, no curated-plugin sync from GitHub
        "[analytics]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        'metrics_exporter = "none"',
        'trace_exporter = "none"',
        "",
        "[features]",
        "plugins = false",
        "remote_plugin = false",
    ]
    return Setup(home_files={".codex/config.toml": "\n".join(lines) + "\n"})


def _claude(base_url: str, model: str, window: int | None) -> Setup:
    env = {
        # every request names the eval's model: background calls (titles, summaries) would
        # otherwise ask for a Haiku, which the bridge serves with the eval's model anyway, warning
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "CLAUDE_CODE_SUBAGENT_MODEL": model,
    }
    if window:
        # Claude Code assumes a 1M-token window for a model name it does not know, and so would
        # compact far too late; this is the window it compacts at (100k at least: it will not go lower).
        env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] = str(max(window, CLAUDE_MIN_COMPACT_WINDOW))
    return Setup(env=env)


def _gemini(base_url: str, model: str, window: int | None) -> Setup:
    settings: dict[str, object] = {
        # with GOOGLE_GEMINI_BASE_URL set, Gemini CLI picks its "gateway" auth, which headless
        # mode rejects ("Invalid auth method selected"); the API-key auth honours the base URL too
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
    }
    if window:
        # it compresses at a fraction of a fixed 1,048,576-token limit: scale the fraction so that
        # it compresses at its default share of the real window
        fraction = GEMINI_COMPRESSION_FRACTION * min(window, GEMINI_DEFAULT_WINDOW) / GEMINI_DEFAULT_WINDOW
        settings["model"] = {"compressionThreshold": round(fraction, 6)}
    return Setup(home_files={".gemini/settings.json": json.dumps(settings, indent=2) + "\n"})


PRESETS: dict[str, Preset] = {
    "codex": Preset(
        name="codex",
        binary="codex",
        npm_package="@openai/codex",
        tested_version="0.171.0",
        # rdbench's bwrap sandbox is the sandbox: Codex's own (Landlock/seccomp) is switched off.
        command='codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox '
        '--model "$RDBENCH_MODEL" "$(cat "$RDBENCH_PROMPT_FILE")"',
        api="OpenAI Responses",
        description="OpenAI Codex CLI; a model provider in ~/.codex/config.toml points it at the proxy",
        bridge_packages=(BridgePackage("openai", "openai>=3.4"),),
        configure=_codex,
    ),
    "claude": Preset(
        name="claude",
        binary="claude",
        npm_package="@anthropic-ai/claude-code",
        tested_version="2.1.332",
        command='claude --print --dangerously-skip-permissions --model "$RDBENCH_MODEL" '
        '"$(cat "$RDBENCH_PROMPT_FILE")"',
        api="Anthropic Messages",
        description="Anthropic Claude Code via ANTHROPIC_BASE_URL",
        env={"DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
             "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
        bridge_packages=(BridgePackage("anthropic", "anthropic>=2.0"),),
        configure=_claude,
    ),
    "gemini": Preset(
        name="gemini",
        binary="gemini",
        npm_package="@google/gemini-cli",
        tested_version="0.61.0",
        command='gemini --yolo --skip-trust --model "$RDBENCH_MODEL" --prompt "$(cat "$RDBENCH_PROMPT_FILE")"',
        api="Google Gemini",
        description="Google Gemini CLI via GOOGLE_GEMINI_BASE_URL (settings in ~/.gemini/settings.json)",
        # it relaunches itself in a second Node process with a heap of half the host's memory (not
        # the sandbox's limit): start once, with Node's default heap
        env={"GEMINI_CLI_NO_RELAUNCH": "true"},
        bridge_packages=(BridgePackage("google.genai", "google-genai>=1.69"),),
        configure=_gemini,
    ),
}

EXTRA = "cli-agents"
"""The rdbench extra that installs every preset's bridge packages."""
