"""DICOM through the medical plugin: a 16-bit round trip with metadata, and bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from srpipe_medical.dicom import read_dicom, write_dicom

from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr
from srpipe.image.resize import degrade
from srpipe.upscaling.upscaler import Upscaler


def pydicom_file(name: str) -> Path:
    """One of pydicom's packaged test files."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name))


def test_ct_round_trip_keeps_16_bits_metadata_and_halves_the_spacing(tmp_path):
    import pydicom

    (ct,) = read_dicom(pydicom_file("CT_small.dcm"))
    assert ct.modality == "CT" and ct.pixels.dtype == np.uint16
    up = Upscaler("bicubic", 2).upscale_batch([ct.pixels])[0]
    out = write_dicom(tmp_path / "ct_x2.dcm", ct.with_pixels(up, 2), 2, "bicubic")

    (back,) = read_dicom(out)
    np.testing.assert_array_equal(back.pixels, up)
    hu = back.physical()
    assert hu.max() > 255 and hu.min() < 0  # nothing clipped to 8 bits, signed HU kept
    assert back.spacing == pytest.approx((ct.spacing[0] / 2, ct.spacing[1] / 2), rel=1e-5)
    src, new = pydicom.dcmread(pydicom_file("CT_small.dcm")), pydicom.dcmread(out)
    assert (new.Rows, new.Columns) == (2 * src.Rows, 2 * src.Columns)
    for key in ("PatientName", "StudyInstanceUID", "SeriesInstanceUID", "Modality",
                "RescaleIntercept", "RescaleSlope", "KVP", "SliceThickness"):  # fmt: skip
        assert new.get(key) == src.get(key), key
    assert new.SOPInstanceUID != src.SOPInstanceUID and "DERIVED" in new.ImageType
    # first pixel centre moves by a quarter of an old pixel against the row/column directions
    shift = -0.25 * np.array([float(v) for v in src.PixelSpacing])
    iop = np.array([float(v) for v in src.ImageOrientationPatient])
    expected = np.array([float(v) for v in src.ImagePositionPatient])
    expected += shift[1] * iop[:3] + shift[0] * iop[3:]
    np.testing.assert_allclose([float(v) for v in new.ImagePositionPatient], expected, atol=1e-4)


def test_psnr_in_the_ct_window_is_the_hand_computation():
    (ct,) = read_dicom(pydicom_file("CT_small.dcm"))
    lr = degrade(ct.pixels, 2)
    up = Upscaler("bicubic", 2).upscale_batch([lr])[0]
    hr, sr = ct.physical(), ct.physical(up)
    diff = (sr - hr)[2:-2, 2:-2]
    hand = 10 * math.log10(4096.0**2 / float(np.mean(diff**2)))
    assert psnr(sr, hr, shave=2, y_channel=False, data_range=ct.data_range()) == hand


def test_big_endian_and_implicit_encodings_read_as_the_same_slice():
    (little,) = read_dicom(pydicom_file("MR_small.dcm"))
    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm"):
        (other,) = read_dicom(pydicom_file(name))
        np.testing.assert_array_equal(other.pixels, little.pixels)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_truncated_pixel_data_is_one_line():
    with pytest.raises(SrpipeError) as exc:
        read_dicom(pydicom_file("MR_truncated.dcm"))
    assert "truncated or corrupt DICOM pixel data" in _one_line(exc)


def test_compressed_without_a_decoder_is_one_line():
    path = pydicom_file("MR_small_jpeg_ls_lossless.dcm")
    try:
        read_dicom(path)
    except SrpipeError as error:
        text = str(error)
        assert "\n" not in text
        assert "JPEG-LS" in text and "no installed decoder" in text
    else:
        pytest.skip("a JPEG-LS decoder is installed here")


def test_not_dicom_and_colour_are_refused(tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not a dicom file at all")
    with pytest.raises(SrpipeError, match="not a readable DICOM file"):
        read_dicom(junk)
    with pytest.raises(SrpipeError, match="single-channel"):
        read_dicom(pydicom_file("ExplVR_BigEnd.dcm"))


def test_a_dicom_bomb_is_refused_from_its_header(tmp_path):
    import pydicom

    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.Rows = ds.Columns = 60000  # 3.6 GP declared; the pixel data stays 8 KB
    path = tmp_path / "bomb.dcm"
    ds.save_as(path)
    with pytest.raises(SrpipeError, match="decode limit"):
        read_dicom(path)
