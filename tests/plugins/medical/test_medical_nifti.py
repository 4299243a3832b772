"""NIfTI through the medical plugin: integer and float volumes, zooms and affine updated."""

from __future__ import annotations

import numpy as np
import pytest

from srpipe.upscaling.upscaler import Upscaler

nib = pytest.importorskip("nibabel", reason="nibabel not installed (srpipe[medical])")

from srpipe_medical.nifti import read_nifti, write_nifti  # noqa: E402


def _volume(tmp_path, data, zooms=(0.8, 0.9, 3.0)):
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 2.0]
    image = nib.Nifti1Image(data, affine)
    image.header.set_zooms(zooms)
    path = tmp_path / "vol.nii.gz"
    nib.save(image, str(path))
    return path


def test_int16_volume_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(-1000, 3000, size=(20, 24, 3)).astype(np.int16)
    slices = read_nifti(_volume(tmp_path, data))
    assert len(slices) == 3 and slices[0].spacing == pytest.approx((0.8, 0.9))
    np.testing.assert_array_equal(slices[1].physical(), data[:, :, 1])
    up = Upscaler("bicubic", 2).upscale_batch([s.pixels for s in slices])
    out = write_nifti(tmp_path / "up.nii.gz", [s.with_pixels(u, 2) for s, u in zip(slices, up)], 2)
    back = nib.load(str(out))
    assert back.shape == (40, 48, 3) and back.get_data_dtype() == np.int16
    assert back.header.get_zooms() == pytest.approx((0.4, 0.45, 3.0))
    np.testing.assert_array_equal(np.asarray(back.dataobj)[:, :, 2], up[2].astype(np.int64) - 32768)
    # new voxel 0 is centred a quarter of an old voxel before old voxel 0
    np.testing.assert_allclose(back.affine[:3, 3], [-10.0 - 0.2, 5.0 - 0.225, 2.0])


def test_float_volume_is_quantised_over_its_range(tmp_path):
    data = np.linspace(-1.5, 2.5, 10 * 12 * 2, dtype=np.float32).reshape(10, 12, 2)
    slices = read_nifti(_volume(tmp_path, data))
    np.testing.assert_allclose(slices[0].physical(), data[:, :, 0], atol=4.0 / 65535)
