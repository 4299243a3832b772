"""The camera-motion set: labels hold by construction, sources keep their roles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from srpipe_action import camera_motion as cm

pytestmark = pytest.mark.usefixtures("action_plugins")


def _still(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (180, 200, 3), dtype=np.uint8)


def _plan(motion: str, speed: float = 2.0) -> cm.ClipPlan:
    return cm.ClipPlan("still", motion, speed, (0.3, 0.6), 0.5)


def test_a_static_clip_does_not_move() -> None:
    clip = cm.render_clip(_still(), _plan("static"))
    assert clip.shape == (cm.CLIP_FRAMES, cm.CLIP_SIZE, cm.CLIP_SIZE, 3)
    assert all(np.array_equal(clip[0], frame) for frame in clip[1:])


@pytest.mark.parametrize(
    ("motion", "axis", "sign"),
    [("pan_right", 1, -1), ("pan_left", 1, 1), ("pan_down", 0, -1), ("pan_up", 0, 1)],
)
def test_a_pan_moves_the_scene_against_the_camera_by_its_speed(
    motion: str, axis: int, sign: int
) -> None:
    speed = 2
    clip = cm.render_clip(_still(1), _plan(motion, float(speed)), frames=3)
    for before, after in itertools.pairwise(clip):
        # the camera moves right: what was at x + speed is now at x
        shifted = np.roll(before, sign * speed, axis=axis)
        inner = (slice(speed, -speed), slice(speed, -speed))
        assert np.array_equal(after[inner], shifted[inner])


def test_zoom_out_is_zoom_in_backwards_and_the_edge_moves() -> None:
    zoom_in = cm.render_clip(_still(2), _plan("zoom_in"))
    zoom_out = cm.render_clip(_still(2), _plan("zoom_out"))
    assert np.array_equal(zoom_in[::-1], zoom_out)
    # the centre stays put while the frame's content grows
    centre = cm.CLIP_SIZE // 2
    assert np.abs(zoom_in[0, centre, centre].astype(int) - zoom_in[-1, centre, centre]).max() < 40
    assert not np.array_equal(zoom_in[0], zoom_in[-1])


def test_a_small_still_is_enlarged_until_the_pan_fits() -> None:
    small = _still(3)[:120, :120]
    clip = cm.render_clip(small, _plan("pan_right", 3.0))
    assert clip.shape[1:3] == (cm.CLIP_SIZE, cm.CLIP_SIZE)


def test_every_split_reads_only_its_role_and_the_registry_has_no_leak() -> None:
    from srpipe.data import sources

    registry = {s.name: s for s in sources.registered()}  # merges and checks every plugin
    for role, names in cm.SPLIT_SOURCES.items():
        for name in names:
            assert registry[name].role == role
            assert (role == sources.TEST) == ("action" in registry[name].tasks)
    assert set(cm.SPLIT_SOURCES[sources.TEST]) == {s.name for s in sources.for_task("action")}


def test_the_validation_split_is_balanced_and_clustered_by_scene() -> None:
    dataset = cm.split_dataset("validation", max_clips=14)
    clips = {item.meta["video"]: item for item in dataset.items if item.meta["frame"] == 0}
    assert len(clips) == 14 and len(dataset.items) == 14 * cm.CLIP_FRAMES
    labels = [item.target for item in clips.values()]
    assert sorted(labels) == sorted(cm.CAMERA_MOTIONS * 2)
    # the stereo pair is one scene, so one cluster
    assert {item.group for item in dataset.items} <= {"motorcycle", "coins", "text"}
    assert "labels by construction" in dataset.description
    assert "not Kinetics" in dataset.description
