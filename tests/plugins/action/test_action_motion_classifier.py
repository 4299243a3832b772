"""The bundled camera-motion classifier: its network, its registration and its weights file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from srpipe_action import camera_motion as cm
from srpipe_action import motion_classifier as mc

pytestmark = pytest.mark.usefixtures("action_plugins")


def test_the_network_maps_a_clip_to_one_logit_per_motion() -> None:
    import torch

    net = mc.build_motion_net().eval()
    with torch.inference_mode():
        logits = net(torch.zeros(2, 3, cm.CLIP_FRAMES, cm.CLIP_SIZE, cm.CLIP_SIZE))
    assert logits.shape == (2, len(cm.CAMERA_MOTIONS))
    assert "head.weight" in net.state_dict()


def test_the_plugin_registers_it_as_the_default_classifier() -> None:
    from srpipe_action.classifiers import classifier_names, find_spec
    from srpipe_action.task import DEFAULT_CLASSIFIER

    assert DEFAULT_CLASSIFIER == mc.NAME and mc.NAME in classifier_names()
    spec = find_spec(mc.NAME)
    assert spec.categories == cm.CAMERA_MOTIONS and spec.clip_length == cm.CLIP_FRAMES


def test_the_bundled_weights_load_and_record_their_recipe_and_splits() -> None:
    from srpipe_action.classifiers import load_classifier

    assert mc.WEIGHTS.stat().st_size < 2 * 1024 * 1024
    classifier = load_classifier(mc.NAME, device="cpu")
    assert classifier.categories == cm.CAMERA_MOTIONS
    clip = np.zeros((cm.CLIP_FRAMES, cm.CLIP_SIZE, cm.CLIP_SIZE, 3), np.uint8)
    probabilities = classifier.classify([list(clip)])
    assert probabilities.shape == (1, len(cm.CAMERA_MOTIONS))
    metadata = mc.read_bundled_metadata()
    splits = json.loads(metadata["splits"])
    assert splits == {role: sorted(names) for role, names in cm.SPLIT_SOURCES.items()}
    selection = json.loads(metadata["selection"])
    assert "validation" in selection["rule"] and selection["step"] > 0
    assert json.loads(metadata["recipe"])["script"] == "scripts/train_action.py"


def test_missing_weights_are_one_line(tmp_path) -> None:
    from srpipe.errors import SrpipeError

    with pytest.raises(SrpipeError, match="camera-motion weights are missing"):
        mc.read_bundled_weights(tmp_path / "none.safetensors")
