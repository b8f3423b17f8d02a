"""Errors of the sandbox layer."""

from __future__ import annotations


class SandboxSetupError(RuntimeError):
    """The sandbox cannot be started on this machine; the message names the fix."""
