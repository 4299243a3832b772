"""scripts/lock.py: the lock that `make demo` and `make test` install agrees with pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.version import Version

from tests.conftest import REPO, load_script

lock = load_script("scripts/lock.py", "srpipe_lock_script")

PYPROJECT = """
[build-system]
requires = ["setuptools>=77"]

[project]
name = "demo-project"
dependencies = ["numpy>=1.24", "opencv-python>=4.8,<5", "tomli; python_version < '3.0'"]

[project.optional-dependencies]
dev = ["pytest>=7"]
video = ["av>=12"]
all = ["demo-project[video]"]
"""


def _write(tmp_path: Path, pins: str) -> tuple[Path, Path]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "requirements.lock").write_text(pins)
    return tmp_path / "pyproject.toml", tmp_path / "requirements.lock"


def test_the_repository_lock_agrees_with_pyproject() -> None:
    """Every dependency of the installed extras is pinned inside its range (opencv below 5.1)."""
    pinned = lock.Lock.read()
    assert lock.disagreements(pinned, lock.project_requirements()) == []
    assert pinned.pins["opencv-python"] < Version("5.1")
    assert pinned.pins["torch"] == Version("2.14.1")
    assert pinned.platform is not None


def test_a_pin_outside_the_range_or_a_missing_one_is_reported(tmp_path: Path) -> None:
    pyproject, path = _write(
        tmp_path,
        "# platform: linux-x86_64-py3.11\nnumpy==2.4.6\nopencv-python==5.1.0.95\npip==26.3\n"
        "setuptools==84.2.1\npytest==9.2.0\n",
    )
    problems = lock.disagreements(lock.Lock.read(path), lock.project_requirements(pyproject))
    # opencv 5 breaks the range; av comes from `all` through the self-reference; the marker
    # that is false here (tomli on Python 2) asks for nothing
    assert problems == [
        "opencv-python<5,>=4.8 is required but the lock pins 5.1.0.95",
        "av>=12 is required but not in the lock",
    ]


def test_the_installer_itself_must_be_pinned(tmp_path: Path) -> None:
    pyproject, path = _write(
        tmp_path,
        "numpy==2.4.6\nopencv-python==4.14.0.94\nav==18.1.0\npytest==9.2.0\nsetuptools==84.2.1\n",
    )
    problems = lock.disagreements(lock.Lock.read(path), lock.project_requirements(pyproject))
    assert problems == ["pip is not pinned (the installer itself must not move)"]


def test_an_environment_that_departs_from_the_lock_is_reported(tmp_path: Path) -> None:
    _, path = _write(tmp_path, "numpy==2.4.6\nOpenCV_Python==4.14.0.94\npip==26.3\n")
    installed = {
        "numpy": Version("2.4.7"),  # a newer release slipped in
        "opencv-python": Version("4.14.0.94"),  # names compare canonically
        "requests": Version("2.34.2"),  # not locked at all
    }
    assert lock.environment_differences(lock.Lock.read(path), installed) == [
        "numpy 2.4.7 is installed; the lock pins 2.4.6",
        "requests 2.34.2 is installed but not in the lock",
        "pip 26.3 is in the lock but not installed",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("numpy>=2\n", "not an exact pin"), ("numpy==2.4.6\nNumPy==2.4.6\n", "pinned twice")],
)
def test_a_lock_that_is_not_exact_pins_is_refused(tmp_path: Path, text: str, message: str) -> None:
    _, path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message):
        lock.Lock.read(path)


def test_every_install_in_the_makefile_goes_through_the_lock() -> None:
    """No `pip install` line of the two commands escapes the constraints file."""
    makefile = (REPO / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if re.search(r"pip install", line)]
    assert installs, "the Makefile installs nothing?"
    assert all("-c $(LOCK)" in line for line in installs), installs
    assert "LOCK   := requirements.lock" in makefile
    ci = (REPO / ".ci" / "run").read_text()
    assert "clean-venv" in ci and "check-lock" in ci
