"""Classifier specs from torchvision's enums, state-dict files, plugin classifiers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_torchvision_specs_carry_each_models_own_recipe() -> None:
    from srpipe_action.classifiers import torchvision_spec

    r3d = torchvision_spec("r3d_18")
    assert (r3d.clip_length, r3d.frame_rate) == (16, 15.0)
    assert (r3d.resize, r3d.crop) == ((128, 171), (112, 112))
    assert len(r3d.categories) == 400 and r3d.categories[0] == "abseiling"
    mvit = torchvision_spec("mvit_v2_s")
    assert (mvit.clip_length, mvit.frame_rate) == (16, 7.5)
    assert (mvit.resize, mvit.crop) == ((256,), (224, 224))
    assert mvit.mean == (0.45, 0.45, 0.45)
    swin = torchvision_spec("swin3d_t")
    assert (swin.clip_length, swin.frame_rate) == (32, 15.0)


def test_a_state_dict_file_loads_into_torchvision_r3d(tmp_path: Path) -> None:
    import torch
    from srpipe_action.classifiers import load_classifier
    from torchvision.models.video import r3d_18

    torch.manual_seed(0)
    model = r3d_18(num_classes=3).eval()
    path = tmp_path / "r3d.pth"
    torch.save(model.state_dict(), path)
    classifier = load_classifier("r3d_18", path, "cpu", labels=["a", "b", "c"])
    assert classifier.categories == ("a", "b", "c")
    frames = [np.full((60, 80, 3), 40 * i, np.uint8) for i in range(4)]
    prepared = [classifier.prepare_frame(f) for f in frames]
    assert prepared[0].shape == (112, 112, 3) and prepared[0].dtype == np.uint8
    probs = classifier.classify([prepared])
    # the same numbers as torchvision's own preset and model on the same clip
    preset = __import__("torchvision").models.video.R3D_18_Weights.DEFAULT.transforms()
    clip = preset(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    with torch.inference_mode():
        expected = torch.softmax(model(clip[None]), 1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_bad_weights_and_offline_defaults_are_one_line(tmp_path: Path, monkeypatch) -> None:
    import dataclasses

    from srpipe_action import classifiers

    from srpipe.errors import SrpipeError

    with pytest.raises(SrpipeError, match="not found"):
        classifiers.load_classifier("r3d_18", tmp_path / "none.pth", "cpu")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(SrpipeError, match=r"cannot read junk\.pth as a state dict"):
        classifiers.load_classifier("r3d_18", tmp_path / "junk.pth", "cpu")
    with pytest.raises(SrpipeError, match="unknown classifier 'resnet'"):
        classifiers.load_classifier("resnet")
    spec = classifiers.torchvision_spec("mc3_18")

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(
        classifiers, "find_spec", lambda name: dataclasses.replace(spec, pretrained=offline)
    )
    with pytest.raises(SrpipeError) as error:
        classifiers.load_classifier("mc3_18")
    assert "pass --weights FILE" in str(error.value) and "\n" not in str(error.value)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    import torch
    from srpipe_action.classifiers import load_classifier

    from srpipe.errors import SrpipeError

    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(SrpipeError, match="do not fit r3d_18"):
        load_classifier("r3d_18", tmp_path / "other.pth", "cpu")


@pytest.mark.usefixtures("action_plugins")
def test_a_plugin_adds_a_classifier_through_the_hook(tiny_weights: Path) -> None:
    from action_clips import TINY
    from srpipe_action.classifiers import classifier_names, load_classifier

    assert TINY in classifier_names()
    classifier = load_classifier(TINY, tiny_weights, "cpu")
    assert classifier.categories == ("class_0", "class_1")
    assert classifier.prepare_frame(np.zeros((48, 64, 3), np.uint8)).shape == (32, 32, 3)


def test_read_labels_accepts_ucf_class_index(tmp_path: Path) -> None:
    from srpipe_action.classifiers import read_labels

    (tmp_path / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 ApplyLipstick\n\n")
    assert read_labels(tmp_path / "classInd.txt") == ["ApplyEyeMakeup", "ApplyLipstick"]
