"""The error type for mistakes a user can fix (a bad option, a missing file, a broken task folder).

The CLI prints a :class:`UserError` as one line (``rdbench: error: ...``, exit code 2) and any other
exception as the bug it is, with its traceback; ``--debug`` (or ``RDBENCH_DEBUG=1``) shows the
traceback of a user error too. It subclasses :class:`ValueError`, so callers that catch bad values
keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix; the message says what went wrong and how to fix it."""
