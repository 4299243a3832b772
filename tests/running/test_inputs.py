"""How run classifies and reads its input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srpipe.errors import SrpipeError
from srpipe.running.inputs import describe_inputs, image_frames, open_input
from srpipe.running.state import StageTimer


def test_an_image_and_a_folder_of_images(tmp_path: Path) -> None:
    from srpipe.image.io import write_image

    write_image(tmp_path / "b.png", np.zeros((4, 4, 3), np.uint8))
    write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / ".hidden").write_text("")
    assert open_input(tmp_path / "a.png").files == [tmp_path / "a.png"]
    folder = open_input(tmp_path)
    assert folder.kind == "folder" and [p.name for p in folder.files] == ["a.png", "b.png"]


def test_missing_and_empty_inputs_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(SrpipeError, match="input not found"):
        open_input(tmp_path / "nope.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SrpipeError, match="is empty"):
        open_input(tmp_path / "empty")


def test_an_unreadable_image_is_a_frame_without_image(tmp_path: Path) -> None:
    from srpipe.image.io import write_image

    write_image(tmp_path / "good.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    frames = list(
        image_frames([tmp_path / "good.png", tmp_path / "bad.png"], StageTimer(), first_index=8)
    )
    assert [f.index for f in frames] == [8, 9]
    assert frames[0].image is not None and frames[1].image is None and frames[1].error


def test_describe_inputs() -> None:
    assert describe_inputs([]) == "setup"
    assert describe_inputs(["a.png"]) == "input 'a.png'"
    assert describe_inputs(["a.png", "c.png"]) == "inputs 'a.png'..'c.png'"
