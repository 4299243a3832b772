"""FrameWriter: rate/size kept, H.264 or the documented fallback, audio, atomic and partial."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from srpipe_video.frames import FrameSequence
from srpipe_video.writer import FrameWriter, h264_encoder, partial_path_for
from video_clips import SIZE, synthetic_frame

from srpipe.errors import SrpipeError


def _write(writer: FrameWriter, count: int) -> None:
    for i in range(count):
        writer.write(synthetic_frame(i))


@pytest.mark.parametrize("codec", ["auto", "opencv"])
def test_roundtrip_keeps_fps_size_count(tmp_path, codec):
    out = tmp_path / "out.mp4"
    writer = FrameWriter(out, 12.5, SIZE, codec=codec)
    if codec == "auto" and h264_encoder():
        assert writer.backend == "pyav" and writer.codec == h264_encoder()
    if codec == "opencv":
        assert (writer.backend, writer.codec) == ("opencv", "mp4v")
    _write(writer, 10)
    assert writer.close() == out
    seq = FrameSequence(out)
    assert (seq.frame_count, seq.size) == (10, SIZE)
    assert seq.fps == pytest.approx(12.5, rel=1e-3)
    for frame in seq:
        expected = synthetic_frame(frame.index)
        assert np.abs(frame.image.astype(int) - expected).mean() < 6


@pytest.mark.parametrize("suffix", [".mkv", ".mov", ".avi"])
def test_other_containers_keep_rate_and_count(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with FrameWriter(out, 10, SIZE) as writer:
        _write(writer, 6)
    seq = FrameSequence(out)
    assert (seq.frame_count, seq.size) == (6, SIZE)
    np.testing.assert_allclose(seq.timestamps, np.arange(6) / 10, atol=1e-3)


def test_odd_frame_size_is_written(tmp_path):
    out = tmp_path / "odd.mp4"
    with FrameWriter(out, 10, (33, 21)) as writer:
        for _ in range(3):
            writer.write(np.full((21, 33, 3), 128, np.uint8))
    assert FrameSequence(out).size == (33, 21)


def test_atomic_partial_name_while_writing(tmp_path):
    out = tmp_path / "clip.mp4"
    writer = FrameWriter(out, 10, SIZE)
    _write(writer, 3)
    assert writer.partial_path == partial_path_for(out) == tmp_path / "clip.partial.mp4"
    # the encoder may still hold the frames; whatever is on disk is the .partial file (and
    # the hidden lock that keeps a second run off the same name)
    on_disk = sorted(p.name for p in tmp_path.iterdir() if p.name != ".clip.mp4.lock")
    assert on_disk in ([], ["clip.partial.mp4"])
    assert (tmp_path / ".clip.mp4.lock").exists()
    writer.close()
    assert out.exists() and not writer.partial_path.exists()


@pytest.mark.parametrize("codec", ["auto", "opencv"])
def test_abort_leaves_a_playable_partial_never_the_final_name(tmp_path, codec):
    out = tmp_path / "clip.mp4"
    writer = FrameWriter(out, 10, SIZE, codec=codec)
    _write(writer, 7)
    partial = writer.abort()
    assert partial == tmp_path / "clip.partial.mp4" and not out.exists()
    assert len(list(FrameSequence(partial))) == 7  # playable: every frame decodes
    with pytest.raises(SrpipeError):
        writer.close()


def test_abort_before_any_frame_leaves_nothing(tmp_path):
    writer = FrameWriter(tmp_path / "clip.mp4", 10, SIZE)
    assert writer.abort() is None
    assert list(tmp_path.iterdir()) == []


def test_context_manager_aborts_on_error(tmp_path):
    out = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError), FrameWriter(out, 10, SIZE) as writer:
        _write(writer, 2)
        raise RuntimeError("boom")
    assert not out.exists() and (tmp_path / "clip.partial.mp4").exists()


def test_unwritable_output_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(SrpipeError) as excinfo:
        FrameWriter(blocker / "out.mp4", 10, SIZE)
    assert "\n" not in str(excinfo.value) and "choose another" in str(excinfo.value)
    with pytest.raises(SrpipeError, match="folder"):
        FrameWriter(tmp_path, 10, SIZE)


def test_wrong_frame_size_is_refused(tmp_path):
    writer = FrameWriter(tmp_path / "clip.mp4", 10, SIZE)
    with pytest.raises(SrpipeError, match="size"):
        writer.write(np.zeros((10, 10, 3), np.uint8))
    writer.abort()


def test_source_timestamps_are_kept(tmp_path, av_video):
    times = [0.0, 0.1, 0.2, 0.5, 0.6, 1.2]
    source = FrameSequence(av_video("vfr.mp4", times))
    out = tmp_path / "copy.mp4"
    with FrameWriter(out, source.fps, source.size, source) as writer:
        for frame in source:
            writer.write(frame.image, frame.timestamp)
    np.testing.assert_allclose(FrameSequence(out).timestamps, times, atol=2e-3)


def test_audio_is_kept_for_the_selected_span(tmp_path, av_video):
    import av

    source = FrameSequence(
        av_video("talk.mp4", [i / 10 for i in range(20)], audio_seconds=2.0), start=5
    )
    assert source.has_audio
    out = tmp_path / "out.mp4"
    with FrameWriter(out, source.fps, source.size, source) as writer:
        for frame in source:
            writer.write(frame.image, frame.timestamp)
    assert writer.audio == "kept"
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = sum(p.duration or 0 for p in container.demux(audio)) * float(audio.time_base)
    assert 1.2 < seconds < 1.8  # 15 frames at 10 fps: 1.5 s of audio, to the packet


def test_audio_dropped_is_said(tmp_path, av_video, caplog):
    source = FrameSequence(av_video("talk.mp4", [i / 10 for i in range(5)], audio_seconds=0.5))
    with caplog.at_level(logging.WARNING, logger="srpipe.video"):
        writer = FrameWriter(tmp_path / "out.mp4", source.fps, source.size, source, codec="opencv")
    assert writer.audio.startswith("dropped")
    assert "audio" in caplog.text and "dropped" in caplog.text
    writer.abort()


# -- join: the parts of a distributed run, stitched without re-encoding ---------------------
def _encode(path, source, codec):
    with FrameWriter(path, source.fps, source.size, source, codec=codec) as writer:
        for frame in source:
            writer.write(frame.image, frame.timestamp)
    return writer


def _packets(path):
    """(pts, size) of every video and audio packet; decoded video frames."""
    import av

    with av.open(str(path)) as container:
        streams = {s.type: s for s in container.streams}
        packets = {kind: [] for kind in streams}
        for packet in container.demux():
            if packet.size:
                packets[packet.stream.type].append((packet.pts, packet.size))
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return packets, frames


@pytest.mark.parametrize("codec", ["ffv1", "auto"])
def test_join_equals_one_writer(tmp_path, av_video, codec):
    clip = av_video("talk.mp4", [0.0, 0.1, 0.2, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8], audio_seconds=1.0)
    whole = FrameSequence(clip, start=1)
    one = _encode(tmp_path / "one.mp4", whole, codec)
    ranges = [(1, 4), (4, 9)]  # source frames 1-3 and 4-8; variable rate (0.15 s to frame 3)
    parts = [
        _encode(tmp_path / f"part{i}.mp4", FrameSequence(clip, start=a, end=b), codec).path
        for i, (a, b) in enumerate(ranges)
    ]
    joined = one.join(parts, tmp_path / "joined.mp4", whole)
    assert joined == tmp_path / "joined.mp4" and not partial_path_for(joined).exists()
    (one_packets, one_frames), (packets, frames) = _packets(one.path), _packets(joined)
    # same timeline (variable rate kept across the seam) and the same audio, packet by packet
    assert sorted(pts for pts, _ in packets["video"]) == sorted(
        pts for pts, _ in one_packets["video"]
    )
    assert packets["audio"] == one_packets["audio"] and packets["audio"]
    assert len(frames) == len(one_frames) == 8
    if codec == "ffv1":  # lossless: the very same frames
        for got, want in zip(frames, one_frames):
            np.testing.assert_array_equal(got, want)
    else:  # H.264: part 2 is its own encode, so only close to one writer's
        assert all(np.abs(g.astype(int) - w).mean() < 3 for g, w in zip(frames, one_frames))


def test_join_refuses_parts_encoded_differently(tmp_path, av_video):
    clip = av_video("clip.mp4", [i / 10 for i in range(6)])
    parts = [
        _encode(tmp_path / "a.mp4", FrameSequence(clip, end=3), "ffv1"),
        _encode(tmp_path / "b.mp4", FrameSequence(clip, start=3), "auto"),
    ]
    with pytest.raises(SrpipeError, match="encoded unlike"):
        parts[0].join([p.path for p in parts], tmp_path / "joined.mp4", FrameSequence(clip))
    assert not list(tmp_path.glob("joined*"))


def test_a_second_writer_of_the_same_output_is_refused_while_the_first_writes(tmp_path) -> None:
    """Two runs with one -o once shared NAME.partial.EXT: a raw error and a wrong summary."""
    out = tmp_path / "same.mp4"
    first = FrameWriter(out, 10.0, (32, 24))
    first.write(np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(SrpipeError, match="being written by another srpipe run"):
        FrameWriter(out, 10.0, (32, 24))
    assert first.close() == out and out.is_file()
    # once the first is done the name is free again, and no lock file is left behind
    second = FrameWriter(out, 10.0, (32, 24))
    second.write(np.full((24, 32, 3), 9, np.uint8))
    second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.mp4"]


def test_an_aborted_writer_frees_the_name(tmp_path) -> None:
    out = tmp_path / "cut.mp4"
    writer = FrameWriter(out, 10.0, (32, 24))
    writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.abort()
    FrameWriter(out, 10.0, (32, 24)).abort()  # not refused
    assert not (tmp_path / ".cut.mp4.lock").exists()
