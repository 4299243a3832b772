"""Library noise stays off the terminal: what reaches the user is srpipe's one line."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

from .conftest import assert_one_line_error
from .test_bombs import png_bomb

ROOT = Path(__file__).resolve().parents[2]


def test_opencv_warnings_are_not_printed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_LOG_LEVEL", "SRPIPE_DEBUG")}
    env["PYTHONPATH"] = f"{ROOT}:{ROOT / 'plugins'}"
    code = f"import srpipe, cv2; cv2.VideoCapture({str(tmp_path / 'missing.mp4')!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "WARN" not in done.stderr, done.stderr


def test_no_pillow_bomb_warning_below_srpipe_limit(tmp_path, srpipe_cli):
    """100 MP is over Pillow's own warning level but under srpipe's limit: no raw warning."""
    big = png_bomb(tmp_path / "big.png", 8, side=10000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning raised would surface as a failure
        outcome = srpipe_cli("upscale", big, tmp_path / "o.png", "--sr", "bicubic")
    assert_one_line_error(outcome, "big.png", "truncated or corrupt")
    assert "DecompressionBomb" not in outcome.err
    assert not (tmp_path / "o.png").exists()
