"""The CLI as a user meets it: help, version, plugin listing, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_distribution

BROKEN = "import module_that_does_not_exist_anywhere\n"
TYPO = "from srpipe import hookimpl\n\n@hookimpl\ndef srpipe_register_modles():\n    return []\n"


def srpipe(*args: str, pythonpath: Path | None = None, env: dict | None = None):
    environ = {**os.environ, **(env or {})}
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join([str(pythonpath), environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "srpipe", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )


def test_version() -> None:
    from srpipe import __version__

    result = srpipe("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_the_quick_exit_keeps_output_atexit_handlers_and_threads() -> None:
    # entry() ends the process without the interpreter's teardown (srpipe.cli._exit_process):
    # piped stdout is flushed, a plugin's atexit handler and a non-daemon thread still run
    script = (
        "import atexit, sys, threading, time\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        # joining the main thread returns once the process starts to exit: the thread
        # prints after the command, whatever the machine's load
        "def late():\n"
        "    threading.main_thread().join(); time.sleep(0.2); print('thread done')\n"
        "threading.Thread(target=late).start()\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "pool = ThreadPoolExecutor(1); pool.submit(print, 'pooled')\n"
        "sys.argv = ['srpipe', 'tasks']\n"
        "from srpipe.cli import entry\n"
        "entry()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "detect" in result.stdout
    assert lines[-2:] == ["thread done", "atexit ran"]
    assert "pooled" in lines  # and an executor's idle worker does not keep the process alive


def test_the_quick_exit_reports_lost_output() -> None:
    # click.echo flushes as it goes (a full disk is then an ordinary one-line error); a
    # plugin's print() is buffered until the exit, which must not report success
    script = (
        "import io, sys\n"
        "class Full(io.StringIO):\n"
        "    def flush(self): raise OSError(28, 'No space left on device')\n"
        "sys.stdout = Full()\n"
        "print('buffered')\n"
        "from srpipe.cli import _exit_process\n"
        "_exit_process(0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=300)
    assert result.returncode == 120


def test_help_lists_verbs_and_examples() -> None:
    result = srpipe("--help")
    assert result.returncode == 0
    for verb in ("run", "eval", "models", "tasks", "plugins"):
        assert verb in result.stdout
    assert "srpipe run detect --sr edsr --scale 4" in result.stdout


@pytest.mark.parametrize(
    "argv", [["--help"], ["eval", "--help"], ["run", "detect", "--help"], ["tasks"], ["plugins"]]
)
def test_help_does_not_import_torch(argv: list[str]) -> None:
    """Help and listings stay light: torch, OpenCV and matplotlib load only when computing."""
    code = (
        "import sys; from srpipe.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'cv2', 'matplotlib', 'ultralytics') if m in sys.modules]\n"
        "assert not heavy, f'srpipe {sys.argv} imported {heavy}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_broken_plugins_are_listed_and_not_fatal(tmp_path: Path) -> None:
    site = make_distribution(
        tmp_path,
        "tp-bad",
        {"tp_broken": BROKEN, "tp_typo": TYPO},
        {"broken": "tp_broken", "typo": "tp_typo"},
    )
    result = srpipe("plugins", pythonpath=site)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "ERROR import failed" in lines["broken"]
    assert "srpipe_register_modles" in lines["typo"]
    for name in ("detect", "faces", "video"):
        assert "entry point" in lines[name]
    # other verbs keep working with the broken plugins installed
    assert srpipe("tasks", pythonpath=site).returncode == 0


def test_block_plugin_flag() -> None:
    result = srpipe("-p", "no:faces", "plugins")
    assert result.returncode == 0
    faces = next(line for line in result.stdout.splitlines() if line.startswith("faces"))
    assert "blocked" in faces


def test_unknown_task_is_a_usage_error() -> None:
    result = srpipe("run", "no-such-task", "x.png")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_missing_input_is_one_line_error(tmp_path: Path, example_plugin_dir: Path) -> None:
    source = (example_plugin_dir / "srpipe_sharpness.py").read_text()
    site = make_distribution(
        tmp_path / "site",
        "srpipe-sharpness",
        {"srpipe_sharpness": source},
        {"sharpness": "srpipe_sharpness"},
    )
    result = srpipe("run", "sharpness", str(tmp_path / "missing.png"), pythonpath=site)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not found" in result.stderr or "does not exist" in result.stderr


def test_missing_plugin_file_is_one_line_error(tmp_path: Path) -> None:
    result = srpipe("-p", str(tmp_path / "my_task.py"), "tasks")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: plugin file {tmp_path / 'my_task.py'} not found; give a path to a .py file"
    ]
