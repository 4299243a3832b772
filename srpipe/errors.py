"""The one exception type that reaches the user as a single line (see `srpipe.cli`)."""

from __future__ import annotations


class SrpipeError(Exception):
    """A problem the user can fix: bad input, missing weights, unsupported scale.

    The message must say what is wrong and what to do, in one line. The CLI prints it
    without a traceback and exits non-zero (2 for usage, 1 otherwise).
    """

    exit_code = 1


class UsageError(SrpipeError):
    """Bad command-line usage (exit code 2, as click does)."""

    exit_code = 2
