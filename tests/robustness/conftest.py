"""The bad-input corpus, generated at test time: hostile files and a way to run the CLI.

Every case runs ``srpipe`` the way a user would (in-process through ``srpipe.cli.main``,
or as a subprocess where signals are involved) and checks three things: the exit code, a
one-line message, and what is (not) left on disk.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Outcome:
    """What a CLI call left behind: exit code and its two streams."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("Error:")]


@pytest.fixture
def srpipe_cli(capsys):
    """Call the console entry point in-process and return its :class:`Outcome`."""
    from srpipe.cli import main

    def call(*args: str) -> Outcome:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # main always exits
            code = 0
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


def assert_one_line_error(outcome: Outcome, *fragments: str, code: int = 1) -> None:
    """Exit ``code``, exactly one ``Error:`` line holding ``fragments``, no traceback."""
    assert outcome.code == code, (outcome.code, outcome.err)
    assert "Traceback" not in outcome.err, outcome.err
    assert len(outcome.error_lines) == 1, outcome.err
    for fragment in fragments:
        assert fragment in outcome.error_lines[0], outcome.error_lines[0]


class _Payload:
    """Unpickling this runs ``os.system`` (the classic torch-checkpoint attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_malicious_pickle(path: Path, marker: Path, wrap: dict | None = None) -> Path:
    """A real torch zip checkpoint whose unpickling would create ``marker``."""
    import torch

    state = dict(wrap or {})
    state["payload"] = _Payload(marker)
    torch.save(state, path)
    assert zipfile.is_zipfile(path)
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """The file a malicious pickle tries to create; it must never appear."""
    return tmp_path / "PWNED"
