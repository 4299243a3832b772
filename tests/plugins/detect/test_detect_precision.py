"""srpipe_detect.precision: which precision the detector runs at, and the bf16 record holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from srpipe_detect import precision
from srpipe_detect.detector import BUNDLED_WEIGHTS, detect_batch

from srpipe.hashing import sha256_file
from srpipe.upscaling import hardware


def _hardware(native_bf16: bool) -> hardware.Hardware:
    return hardware.Hardware(
        cpu="test CPU",
        cores=2,
        flags=("avx2", "avx512_bf16") if native_bf16 else ("avx2",),
        native_bf16_cpu=native_bf16,
        native_fp16_cpu=False,
        peaks={"cpu fp32": 100.0, "cpu bf16": 200.0 if native_bf16 else 10.0},
    )


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "detect", lambda **_: _hardware(True))


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "detect", lambda **_: _hardware(False))


def _record_bundled_as_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the bundled detector had been measured above the floor at every size."""
    monkeypatch.setitem(
        precision.DETECTOR_BF16_AGREEMENT,
        sha256_file(BUNDLED_WEIGHTS),
        ("tiny_objects_yolov8s.pt", {"320": 1.0, "1280": 0.995}),
    )


def test_auto_runs_bf16_only_for_a_detector_measured_exact_in_run_on_native_hardware(
    native: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = precision.DETECTOR_BF16_AGREEMENT[sha256_file(BUNDLED_WEIGHTS)]
    below = precision.choose_detector_precision("auto", "cpu", BUNDLED_WEIGHTS, "run")
    if min(recorded[1].values()) < precision.BF16_AGREEMENT_FLOOR:
        assert below.precision == "fp32" and "below the agreement floor" in below.why
    _record_bundled_as_exact(monkeypatch)
    choice = precision.choose_detector_precision("auto", "cpu", BUNDLED_WEIGHTS, "run")
    assert choice.precision == "bf16" and "native" in choice.why
    in_eval = precision.choose_detector_precision("auto", "cpu", BUNDLED_WEIGHTS, "eval")
    assert in_eval.precision == "fp32" and "eval" in in_eval.why
    asked = precision.choose_detector_precision("bf16", "cpu", BUNDLED_WEIGHTS, "run")
    assert asked.precision == "bf16" and asked.why == "as asked"
    assert precision.choose_detector_precision("fp32", "cpu", BUNDLED_WEIGHTS, "run").why == (
        "as asked"
    )


def test_auto_keeps_fp32_where_bf16_is_emulated_or_unmeasured(
    emulated: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_bundled_as_exact(monkeypatch)
    choice = precision.choose_detector_precision("auto", "cpu", BUNDLED_WEIGHTS, "run")
    assert choice.precision == "fp32" and "emulated" in choice.why
    asked = precision.choose_detector_precision("bf16", "cpu", BUNDLED_WEIGHTS, "run")
    assert asked.precision == "fp32" and "slower than fp32" in asked.why
    other = tmp_path / "mine.pt"
    other.write_bytes(b"not the bundled detector")
    assert precision.bf16_exact(other) is None
    unmeasured = precision.choose_detector_precision("auto", "cpu", other, "run")
    assert unmeasured.precision == "fp32" and "not measured" in unmeasured.why
    onnx = precision.choose_detector_precision("bf16", "cpu", tmp_path / "coco.onnx", "run")
    assert onnx.precision == "fp32" and ".onnx" in onnx.why


def test_the_record_is_keyed_by_the_weights_bytes() -> None:
    digest = sha256_file(BUNDLED_WEIGHTS)
    assert digest in precision.DETECTOR_BF16_AGREEMENT
    assert precision.bf16_exact(BUNDLED_WEIGHTS) is (
        min(precision.DETECTOR_BF16_AGREEMENT[digest][1].values()) >= precision.BF16_AGREEMENT_FLOOR
    )


def test_the_bundled_detectors_bf16_record_holds_at_its_own_size() -> None:
    """Re-measured on 24 of the synthetic set's validation images at their own size (the
    record's "320" entry, above the floor): bf16 with the fp32 decode finds what fp32 finds."""
    from srpipe_detect.synth import SynthConfig, _iter_split
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    recorded = precision.DETECTOR_BF16_AGREEMENT[sha256_file(BUNDLED_WEIGHTS)]
    assert recorded[1]["320"] >= precision.BF16_AGREEMENT_FLOOR
    images = [image for *_, image, _ in _iter_split("val", 24, SynthConfig())]
    task = DetectTask()
    options = {"detector": "tiny-objects", "detector_precision": "fp32"}
    task.setup(TaskContext("run", device="cpu", options=options))
    fp32 = detect_batch(task, images, None)
    # the forward itself at bf16: on a CPU that only emulates bf16, choose_detector_precision
    # would run fp32 and the check would compare fp32 with itself
    task.precision = "bf16"
    bf16 = detect_batch(task, images, None)
    measured = precision.agreement(fp32, bf16)["agree50"]
    ceiling = precision.agreement(fp32, fp32)["agree50"]
    assert measured / ceiling >= precision.BF16_AGREEMENT_FLOOR


def test_the_box_decode_stays_fp32_under_bf16() -> None:
    """Under bf16 the coordinates are still fp32 arithmetic: a bf16 decode would put every x
    beyond 1,024 px on a multiple of 8 (bf16 keeps 8 bits of mantissa)."""
    import torch
    from srpipe_detect.detector import load_detector

    model = load_detector(str(BUNDLED_WEIGHTS)).model.eval()
    x = torch.rand(1, 3, 256, 1280, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), precision.detector_precision("bf16", "cpu"):
        reduced = model(x)[0]
    assert reduced.dtype == torch.float32
    far_right = reduced[0, 0][reduced[0, 0] > 1024]  # box centres (xywh) past 1,024 px
    assert len(far_right) > 100
    on_bf16_grid = (torch.remainder(far_right, 8) == 0).float().mean().item()
    assert on_bf16_grid < 0.05


def test_asking_bf16_where_it_is_emulated_says_so_in_one_line(
    emulated: None, caplog: pytest.LogCaptureFixture
) -> None:
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    task = DetectTask()
    options = {"detector": "tiny-objects", "detector_precision": "bf16"}
    with caplog.at_level("WARNING"):
        task.setup(TaskContext("run", device="cpu", options=options))
    assert task.precision == "fp32"
    (line,) = [r.getMessage() for r in caplog.records if "detector-precision" in r.getMessage()]
    assert "emulated" in line and "\n" not in line
    assert task.summarize([])["detector_precision"].startswith("fp32 (bf16 is emulated")
