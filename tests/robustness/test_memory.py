"""Memory: planned from a budget, CPU out-of-memory retried smaller, folders go on."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from srpipe.image.io import write_image
from srpipe.upscaling.upscaler import Upscaler

CPU_OOM = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 7000000000 bytes."


class Nearest2(nn.Module):
    """A x2 'model' (nearest neighbour) that fails like torch's CPU allocator on demand."""

    def __init__(self, fail_above: int = 10**9, fail_on_white: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)  # something for the width probe to see
        self.fail_above, self.fail_on_white = fail_above, fail_on_white
        self.sides: list[int] = []

    def forward(self, x):
        self.sides.append(max(x.shape[-2:]))
        if max(x.shape[-2:]) > self.fail_above or (
            self.fail_on_white and bool((x.flatten(1).amin(1) > 0.99).any())
        ):
            raise RuntimeError(CPU_OOM)
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)


def test_cpu_out_of_memory_is_retried_with_smaller_tiles():
    image = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    model = Nearest2(fail_above=40)
    out = Upscaler.from_module(model, 2, device="cpu", tile_overlap=4)(image)
    np.testing.assert_array_equal(out, image.repeat(2, 0).repeat(2, 1))
    assert max(model.sides[-1:]) <= 40 and max(model.sides) > 40  # it failed, then fit


def test_folder_goes_on_past_an_image_that_cannot_be_done(tmp_path):
    from srpipe.commands.upscale import _run

    jobs = []
    for name, value in (("a.png", 10), ("b.png", 255), ("c.png", 40)):
        write_image(tmp_path / name, np.full((40, 40, 3), value, np.uint8))
        jobs.append((tmp_path / name, tmp_path / "out" / name))
    up = Upscaler.from_module(Nearest2(fail_on_white=True), 2, device="cpu", batch_size=4)
    done, failed = _run(up, jobs, show_progress=False)
    assert [d["input"] for d in done] == [str(tmp_path / "a.png"), str(tmp_path / "c.png")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert len(failed) == 1 and "out of cpu memory" in failed[0]["error"]
    assert "\n" not in failed[0]["error"]


def test_default_budget_tiles_a_photo_that_would_not_fit():
    """EDSR x4 on 1000x750 needs ~7 GB whole; the default budget (<= 1.5 GB) tiles it."""
    up = Upscaler("edsr", 4, device="cpu")
    assert up.memory_budget <= 1536 * 2**20
    tile = up._tile_for(750, 1000)
    assert 32 <= tile < 750
    seen = tile + 2 * up.tile_overlap
    assert up.bytes_per_pixel() * seen * seen < up.memory_budget


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--tile", "-1"), "--tile"),
        (("--batch-size", "0"), "--batch-size"),
        (("--memory", "lots"), "--memory"),
    ],
)
def test_bad_sizes_are_usage_errors(tmp_path, srpipe_cli, args, fragment):
    src = tmp_path / "in.png"
    write_image(src, np.zeros((8, 8, 3), np.uint8))
    outcome = srpipe_cli("upscale", src, tmp_path / "o.png", "--sr", "bicubic", *args)
    assert outcome.code == 2, outcome.err
    assert fragment in outcome.err and "Traceback" not in outcome.err
    assert not (tmp_path / "o.png").exists()


def test_memory_setting_is_used(tmp_path, srpipe_cli):
    src = tmp_path / "in.png"
    write_image(src, np.zeros((8, 8, 3), np.uint8))
    outcome = srpipe_cli("upscale", src, tmp_path / "o.png", "--sr", "bicubic", "--memory", "1G")
    assert outcome.code == 0 and (tmp_path / "o.png").is_file()
