"""Stopping `srpipe run video` with SIGINT or SIGTERM, and runs that share a folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.video.video_clips import write_cv2_video

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("av")


def _frames_in(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_a_playable_partial_and_says_so(tmp_path, sig):
    clip = write_cv2_video(tmp_path / "long.mp4", count=1500, size=(64, 48))
    out = tmp_path / "runs" / "a.mp4"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "srpipe",
            "run",
            "video",
            str(clip),
            "-o",
            str(out),
            "--sr",
            "bicubic",
            "--scale",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a suite started as a background job (`make test &`) inherits SIGINT ignored, and
        # Python then installs no KeyboardInterrupt handler: give the child a terminal's default
        preexec_fn=_default_sigint,
    )
    partial = out.with_name("a.partial.mp4")
    # the muxer flushes in large chunks, so progress is read from the bar on stderr instead
    seen = ""
    while not re.search(r"\b([3-9]\d|\d{3,})/1500\b", seen):
        char = proc.stderr.read(1)
        assert char, f"the run ended before it could be stopped: {seen[-500:]}"
        seen += char
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    err = seen + err
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert not out.exists()
    written = _frames_in(partial)
    assert 0 < written < 1500
    summary = json.loads((out.parent / "a.summary.json").read_text())
    assert summary["partial"] is True and summary["summary"]["interrupted"] is True
    assert str(partial) in summary["outputs"] and str(out) not in summary["outputs"]
    assert all(Path(p).exists() for p in summary["outputs"])
    assert f"playable partial output: {partial}" in err


def test_runs_into_one_folder_keep_their_own_records(tmp_path, srpipe_cli):
    clip = write_cv2_video(tmp_path / "clip.mp4", count=4)
    for name in ("a.mp4", "b.mp4"):
        outcome = srpipe_cli("run", "video", clip, "-o", tmp_path / "runs" / name, "--sr", "none")
        assert outcome.code == 0, outcome.err
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == [
        "a.mp4", "a.records.csv", "a.records.json", "a.summary.json",
        "b.mp4", "b.records.csv", "b.records.json", "b.summary.json",
    ]  # fmt: skip
    summary = json.loads((tmp_path / "runs" / "a.summary.json").read_text())
    assert summary["partial"] is False and summary["out"].endswith("a.mp4")
