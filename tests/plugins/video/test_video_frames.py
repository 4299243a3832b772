"""FrameSequence: reading videos, folders and globs; selection; bad input as one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from srpipe_video.frames import FrameSequence
from video_clips import SIZE, synthetic_frame

from srpipe.errors import SrpipeError

BACKENDS = ["pyav", "opencv"]


def _brightness(image: np.ndarray) -> float:
    return float(image[30:, :, 1].mean())  # below the moving square: 20 + 10 * index


@pytest.mark.parametrize("backend", BACKENDS)
def test_reads_fps_size_count_timestamps_and_content(cv2_video, backend):
    path = cv2_video("clip.mp4", count=12, fps=10.0)
    seq = FrameSequence(path, backend=backend)
    assert (seq.fps, seq.frame_count, seq.size, seq.kind) == (10.0, 12, SIZE, "video")
    frames = list(seq)
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(12) / 10.0, atol=1e-6)
    np.testing.assert_allclose(seq.timestamps, np.arange(12) / 10.0, atol=1e-6)
    assert all(f.image.shape == (SIZE[1], SIZE[0], 3) and f.image.dtype == np.uint8 for f in frames)
    # lossy mp4v, but each frame's brightness identifies it
    for f in frames:
        assert abs(_brightness(f.image) - _brightness(synthetic_frame(f.index))) < 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_end_stride(cv2_video, backend):
    path = cv2_video("clip.mp4", count=12, fps=10.0)
    seq = FrameSequence(path, start=3, end=12, stride=4, backend=backend)
    frames = list(seq)
    assert [f.index for f in frames] == [3, 7, 11] and seq.frame_count == 3
    assert seq.fps == pytest.approx(2.5) and seq.source_fps == pytest.approx(10.0)
    np.testing.assert_allclose([f.timestamp for f in frames], [0.3, 0.7, 1.1], atol=1e-6)
    for f in frames:
        assert abs(_brightness(f.image) - _brightness(synthetic_frame(f.index))) < 4


def test_avi_mjpeg(cv2_video):
    seq = FrameSequence(cv2_video("clip.avi", count=5, fourcc="MJPG"))
    assert seq.frame_count == 5 and len(list(seq)) == 5


def test_folder_and_glob_in_natural_order(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(11):  # f0 ... f10: natural order puts f10 last
        cv2.imwrite(str(folder / f"f{i}.png"), cv2.cvtColor(synthetic_frame(i), cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("not a frame")
    seq = FrameSequence(folder, fps=5)
    frames = list(seq)
    assert seq.kind == "images" and seq.frame_count == 11 and seq.size == SIZE
    assert [f.index for f in frames] == list(range(11))
    assert np.array_equal(frames[10].image, synthetic_frame(10))  # PNG: lossless
    assert frames[10].timestamp == pytest.approx(2.0)
    globbed = FrameSequence(str(folder / "f*.png"), stride=5)
    assert [f.index for f in globbed] == [0, 5, 10] and globbed.fps == pytest.approx(5.0)


def test_sequence_of_mixed_sizes_is_an_error(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a1.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "a2.png"), np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(SrpipeError, match="one size"):
        list(FrameSequence(tmp_path))


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_file_is_a_one_line_error(tmp_path, backend):
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(SrpipeError) as excinfo:
        FrameSequence(path, backend=backend)
    assert "corrupt" in _one_line(excinfo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_file_is_a_one_line_error(av_video, backend):
    # index (moov) at the front, so the container opens and the missing tail must be noticed
    path = av_video("full.mp4", [i / 10 for i in range(30)], faststart=True)
    data = path.read_bytes()
    cut = path.with_name("cut.mp4")
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(SrpipeError) as excinfo:
        list(FrameSequence(cut, backend=backend))  # pyav: when opening; opencv: while decoding
    assert "truncated" in _one_line(excinfo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_frames_is_a_one_line_error(cv2_video, backend):
    path = cv2_video("empty.avi", count=0, fourcc="MJPG")
    with pytest.raises(SrpipeError) as excinfo:
        FrameSequence(path, backend=backend)
    assert "zero" in _one_line(excinfo)


def test_missing_file_and_bad_selection(tmp_path, cv2_video):
    with pytest.raises(SrpipeError, match="not found"):
        FrameSequence(tmp_path / "nope.mp4")
    with pytest.raises(SrpipeError, match="stride"):
        FrameSequence(cv2_video(), stride=0)
    with pytest.raises(SrpipeError, match="empty"):
        FrameSequence(cv2_video("c2.mp4", count=5), start=7)


def test_variable_frame_rate_is_detected_with_its_timestamps(av_video):
    cfr = FrameSequence(av_video("cfr.mp4", [i / 10 for i in range(10)]))
    assert not cfr.variable_frame_rate and cfr.fps == pytest.approx(10.0)
    times = [0.0, 0.1, 0.2, 0.5, 0.6, 1.2, 1.3, 1.4]
    vfr = FrameSequence(av_video("vfr.mp4", times))
    assert vfr.variable_frame_rate
    np.testing.assert_allclose(vfr.timestamps, times, atol=1e-3)
    np.testing.assert_allclose([f.timestamp for f in vfr], times, atol=1e-3)
    assert vfr.fps == pytest.approx((len(times) - 1) / times[-1])  # mean rate


def test_raw_stream_without_timestamps_is_counted_in_decode_order(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "raw.h264"
    container = av.open(str(path), "w", format="h264")  # elementary stream: packets have no pts
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    for i in range(9):
        frame = av.VideoFrame.from_ndarray(synthetic_frame(i), format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    seq = FrameSequence(path, start=2, stride=3)
    frames = list(seq)
    assert seq.total_frames == 9 and [f.index for f in frames] == [2, 5, 8]
    for f in frames:
        assert abs(_brightness(f.image) - _brightness(synthetic_frame(f.index))) < 4
