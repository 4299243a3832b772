"""`srpipe eval medical` and `srpipe run medical` end to end on tiny offline data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from srpipe.cli import cli
from srpipe.errors import SrpipeError
from srpipe.image.io import load_image, write_image
from srpipe.image.metrics import psnr
from srpipe.image.resize import degrade, imresize
from srpipe.report import read_item_scores


def pydicom_file(name: str) -> Path:
    """One of pydicom's packaged test files."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name))


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _ramp16(size: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return (1000 + 900 * x + 40 * y + 3000 * ((x - 20) ** 2 + (y - 24) ** 2 < 120)).astype(
        np.uint16
    )


def test_eval_medical_on_dicom_and_16bit_png_with_a_mask(tmp_path, medical_loaded):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), data / "ct.dcm")
    hr = _ramp16()
    write_image(data / "ramp.png", hr)
    write_image(data / "ramp_mask.png", ((hr > 20000) * 255).astype(np.uint8))
    out = tmp_path / "report"
    result = _cli("eval", "medical", "--data", str(data), "--compare", "bicubic",
                  "--scale", "2", "--bootstrap", "50", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    report = read_item_scores(out / "report.json")
    rows = {r["id"]: r for r in report["x2"]["bicubic"]}
    assert set(rows) == {"ct", "ramp"}
    # the ramp's PSNR is measured over its own value range, by hand
    lr = degrade(hr, 2)
    up = imresize(lr, 2.0)
    peak = float(hr.max()) - float(hr.min())
    hand = psnr(up.astype(float), hr.astype(float), shave=2, y_channel=False, data_range=peak)
    assert rows["ramp"]["scores"]["psnr"] == pytest.approx(hand)
    assert 0.0 < rows["ramp"]["scores"]["dice"] <= 1.0  # against the user's mask
    assert 0.0 < rows["ct"]["scores"]["dice"] < 1.0  # bicubic CT bone/air vs HR's
    assert rows["ct"]["scores"]["hausdorff_mm"] > 0
    hr_rows = {r["id"]: r for r in report["x2"]["hr"]}
    assert hr_rows["ct"]["scores"]["dice"] == 1.0 and hr_rows["ct"]["scores"]["hausdorff_mm"] == 0


def test_run_medical_writes_dicom_and_16bit_png(tmp_path, medical_loaded):
    import pydicom

    out = tmp_path / "run"
    result = _cli("run", "medical", str(pydicom_file("CT_small.dcm")), "--sr", "bicubic",
                  "--scale", "2", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    ds = pydicom.dcmread(out / "CT_small_x2.dcm")
    assert (ds.Rows, ds.Columns) == (256, 256) and ds.pixel_array.max() > 255

    write_image(tmp_path / "ramp.png", _ramp16())
    result = _cli("run", "medical", str(tmp_path / "ramp.png"), "--sr", "bicubic",
                  "--scale", "2", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    written = load_image(out / "annotated" / "ramp.png")
    assert written.bit_depth == 16 and written.size == (96, 96)
    np.testing.assert_array_equal(written.rgb[:, :, 0], imresize(_ramp16(), 2.0))

    # a 16-bit TIFF comes back as a 16-bit TIFF
    write_image(tmp_path / "scan.tif", _ramp16())
    result = _cli("run", "medical", str(tmp_path / "scan.tif"), "--sr", "bicubic",
                  "--scale", "2", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    written = load_image(out / "annotated" / "scan.tif")
    assert written.bit_depth == 16 and written.size == (96, 96)
    np.testing.assert_array_equal(written.rgb[:, :, 0], imresize(_ramp16(), 2.0))


def test_bad_dicom_is_one_line_from_the_cli(tmp_path, medical_loaded):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(pydicom_file("MR_truncated.dcm"), data / "mr.dcm")
    result = CliRunner().invoke(cli, ["eval", "medical", "--data", str(data), "--scale", "2"])
    # srpipe.cli.main prints a SrpipeError as "Error: <message>" and exits non-zero
    assert result.exit_code != 0 and isinstance(result.exception, SrpipeError)
    text = str(result.exception)
    assert "\n" not in text and "truncated or corrupt DICOM pixel data" in text


def test_run_medical_on_a_dicom_series_folder_writes_the_series_back(tmp_path, medical_loaded):
    import pydicom

    series = tmp_path / "series"
    series.mkdir()
    for number, name in ((2, "b.dcm"), (1, "a.dcm")):
        ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
        ds.InstanceNumber = number
        ds.save_as(series / name)
    out = tmp_path / "run"
    result = _cli("run", "medical", str(series), "--sr", "bicubic", "--scale", "2",
                  "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    written = sorted((out / "series_x2").glob("*.dcm"))
    assert [p.name for p in written] == ["a.dcm", "b.dcm"]
    for path, number in zip(written, (1, 2)):
        ds = pydicom.dcmread(path)
        assert (ds.Rows, ds.Columns) == (256, 256) and int(ds.InstanceNumber) == number
