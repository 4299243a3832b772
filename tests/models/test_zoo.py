"""srpipe.models.zoo: the recorded bf16 exactness holds when measured again."""

from __future__ import annotations

import numpy as np
import pytest

from srpipe.models import zoo


def test_bf16_exact_reads_the_record() -> None:
    assert zoo.bf16_exact("no-such-model", 4) is None
    assert zoo.bf16_exact("edsr", 2.5) is None  # fractional scales are never recorded
    for (name, scale), share in zoo.BF16_AGREEMENT.items():
        assert zoo.bf16_exact(name, scale) is (share >= zoo.BF16_EXACT_SHARE)


@pytest.mark.parametrize(
    ("name", "scale"),
    [key for key, share in zoo.BF16_AGREEMENT.items() if share >= zoo.BF16_EXACT_SHARE],
)
def test_a_model_recorded_exact_in_bf16_still_is(name: str, scale: int) -> None:
    """Re-measured on a 64x64 LR crop of one validation photo against the threshold."""
    from srpipe.data.sources import get, read_still
    from srpipe.image.resize import imresize
    from srpipe.upscaling.forward import super_resolve
    from srpipe.upscaling.upscaler import Upscaler

    hr = read_still(get("coins").path())
    side = 64 * scale  # coins is 384x303: every recorded scale up to x4 fits
    lr = imresize(hr[:side, :side], 1 / scale, method="bicubic")
    from srpipe.models.shuffle_fold import folded_copy

    model = Upscaler(name, scale, device="cpu", precision="fp32").model
    # the forward itself, not the Upscaler: on a CPU that only emulates bf16 the Upscaler
    # would run fp32, and the check would compare fp32 with itself
    # bf16 with the tail folded, as the Upscaler runs it
    fp32, bf16 = (
        super_resolve(m, [lr], scale=scale, device="cpu", precision=p)[0].astype(np.int16)
        for m, p in ((model, "fp32"), (folded_copy(model), "bf16"))
    )
    assert (np.abs(fp32 - bf16) <= 1).mean() >= zoo.BF16_EXACT_SHARE
