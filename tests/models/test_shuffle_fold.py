"""srpipe.models.shuffle_fold: the folded tail computes what the network as written does."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_a_folded_edsr_computes_the_same_function(scale: int) -> None:
    import copy

    import torch
    from torch import nn

    from srpipe.models.networks.edsr import EDSR
    from srpipe.models.shuffle_fold import ShuffleFoldedConv, fold_shuffles

    torch.manual_seed(0)
    model = EDSR(scale=scale, n_resblocks=2, n_feats=16).eval()
    folded = copy.deepcopy(model)
    assert fold_shuffles(folded) == 1  # only the last shuffle: its conv has 3 outputs
    assert sum(isinstance(m, ShuffleFoldedConv) for m in folded.modules()) == 1
    # the upsampling stages' own convolutions (16 -> 64) stay as written
    assert sum(isinstance(m, nn.PixelShuffle) for m in folded.modules()) == (1 if scale == 4 else 0)
    x = torch.rand(2, 3, 11, 13)  # odd sizes: the borders are where padding could disagree
    with torch.inference_mode():
        expected, got = model(x), folded(x)
    assert got.shape == expected.shape == (2, 3, 11 * scale, 13 * scale)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_nothing_to_fold_leaves_the_network_alone() -> None:
    from torch import nn

    from srpipe.models.shuffle_fold import fold_shuffles

    ends_with_shuffle = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
    wide_after = nn.Sequential(nn.PixelShuffle(2), nn.Conv2d(4, 16, 3, padding=1))
    strided_after = nn.Sequential(nn.PixelShuffle(2), nn.Conv2d(4, 3, 3, stride=2, padding=1))

    class Reversed(nn.Sequential):  # a Sequential whose forward is not "each step in order"
        def forward(self, x):  # type: ignore[no-untyped-def]
            for step in reversed(self):
                x = step(x)
            return x

    own_order = Reversed(nn.PixelShuffle(2), nn.Conv2d(4, 3, 3, padding=1))
    for net in (ends_with_shuffle, wide_after, strided_after, own_order):
        before = [type(m) for m in net.modules()]
        assert fold_shuffles(net) == 0
        assert [type(m) for m in net.modules()] == before


def test_the_upscaler_folds_only_where_it_runs_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    from srpipe.models.networks.edsr import EDSR
    from srpipe.models.shuffle_fold import ShuffleFoldedConv
    from srpipe.upscaling import hardware
    from srpipe.upscaling.upscaler import Upscaler

    native = hardware.Hardware("test CPU", 2, ("avx512_bf16",), True, False, peaks={})
    monkeypatch.setattr(hardware, "detect", lambda **_: native)  # bf16 runs here, as asked
    module = EDSR(scale=2, n_resblocks=1, n_feats=8)
    fp32 = Upscaler.from_module(module, 2, precision="fp32", device="cpu")
    assert not any(isinstance(m, ShuffleFoldedConv) for m in fp32.model.modules())
    bf16 = Upscaler.from_module(module, 2, precision="bf16", device="cpu")
    assert bf16.precision == "bf16"
    assert any(isinstance(m, ShuffleFoldedConv) for m in bf16.model.modules())
    # the module handed in is never changed (it may still be trained)
    assert not any(isinstance(m, ShuffleFoldedConv) for m in module.modules())
