"""The plugin's hooks, directly and through srpipe's plugin manager and CLI."""

from __future__ import annotations

import pytest
from srpipe_video import plugin
from srpipe_video.frames import FrameSequence
from srpipe_video.writer import FrameWriter


def test_open_frames_answers_for_videos_and_globs_only(tmp_path, cv2_video):
    import cv2
    import numpy as np

    video = cv2_video("clip.mp4", count=3)
    assert isinstance(plugin.srpipe_open_frames(path=video), FrameSequence)
    assert plugin.srpipe_open_frames(path=tmp_path / "photo.png") is None
    assert plugin.srpipe_open_frames(path=tmp_path / "notes.txt") is None
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.zeros((8, 8, 3), np.uint8))
    sequence = plugin.srpipe_open_frames(path=tmp_path / "f*.png")
    assert isinstance(sequence, FrameSequence) and sequence.frame_count == 2


def test_open_frame_writer_for_video_paths(tmp_path):
    writer = plugin.srpipe_open_frame_writer(
        path=tmp_path / "out.mp4", fps=10.0, size=(16, 16), source=None
    )
    assert isinstance(writer, FrameWriter)
    writer.abort()
    assert (
        plugin.srpipe_open_frame_writer(
            path=tmp_path / "out.png", fps=10.0, size=(16, 16), source=None
        )
        is None
    )


def test_registers_the_video_task():
    from srpipe_video.task import VideoTask

    assert plugin.srpipe_register_tasks() == [VideoTask]


def test_plugin_manager_loads_the_plugin_and_calls_its_hooks(cv2_video):
    from srpipe.plugins import get_plugin_manager, reset_plugin_manager

    reset_plugin_manager()
    manager = get_plugin_manager()
    record = manager.records["video"]
    assert record.error is None, record.error
    assert {"srpipe_open_frames", "srpipe_open_frame_writer"} <= set(record.hooks)
    source = manager.hook.srpipe_open_frames(path=cv2_video("clip.mp4", count=3))
    assert isinstance(source, FrameSequence)


def test_srpipe_run_video_writes_the_upscaled_video(tmp_path, cv2_video):
    pytest.importorskip("srpipe.running.runner")
    from click.testing import CliRunner

    from srpipe.cli import cli
    from srpipe.plugins import reset_plugin_manager

    reset_plugin_manager()
    video = cv2_video("clip.mp4", count=6)
    out = tmp_path / "run" / "up.mp4"
    result = CliRunner().invoke(
        cli, ["run", "video", "--sr", "bicubic", "--scale", "2", str(video), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = FrameSequence(out)
    assert written.frame_count == 6 and written.size == (128, 96)
    assert written.fps == pytest.approx(10.0)
