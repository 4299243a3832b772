"""The luma wrapper's BT.601 conversion: the protocol's Y and an exact round trip."""

from __future__ import annotations

import numpy as np
import torch

from srpipe.image.metrics import rgb_to_y
from srpipe.models.networks.luma import LumaSR


class _Identity(LumaSR):
    pre_upsample = False

    def restore(self, x):
        return torch.nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest")


def test_y_matches_the_metrics_definition():
    model = _Identity(scale=1)
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    y = torch.einsum("ij,njhw->nihw", model.rgb_to_ycbcr, x) + model.offset
    assert np.allclose(y[0, 0].numpy() * 255, rgb_to_y(rgb), atol=1e-3)


def test_round_trip_is_identity_at_scale_one():
    model = _Identity(scale=1)
    x = torch.rand(2, 3, 4, 4)
    assert torch.allclose(model(x), x, atol=1e-5)
