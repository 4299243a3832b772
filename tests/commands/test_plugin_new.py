"""`srpipe plugin new NAME` writes a package that passes its own contract test."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from srpipe.cli import cli
from srpipe.commands.plugin import write_plugin
from srpipe.errors import UsageError


def test_template_passes_its_own_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pkg"
    result = CliRunner().invoke(cli, ["plugin", "new", "glow", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "pyproject.toml",
        "srpipe_glow.py",
        "test_srpipe_glow.py",
    ]
    pyproject = (out / "pyproject.toml").read_text()
    assert '[project.entry-points.srpipe]\nglow = "srpipe_glow"' in pyproject
    monkeypatch.syspath_prepend(str(out))
    try:
        test_module = importlib.import_module("test_srpipe_glow")
        tests = [getattr(test_module, n) for n in dir(test_module) if n.startswith("test_")]
        assert len(tests) == 2
        for test in tests:
            test()
    finally:
        for name in ("srpipe_glow", "test_srpipe_glow"):
            sys.modules.pop(name, None)


def test_bad_name_and_occupied_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="lower-case"):
        write_plugin("My-Task", tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("")
    with pytest.raises(UsageError, match="not empty"):
        write_plugin("ok", tmp_path / "b")
