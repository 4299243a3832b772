"""srpipe.upscaling.hardware: what the CPU runs natively, measured peaks, the precision chosen."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from srpipe.upscaling import hardware

AVX2_ONLY = """processor\t: 0
model name\t: Some AVX2 CPU
flags\t\t: fpu sse2 avx avx2 fma
"""
SAPPHIRE = """processor\t: 0
model name\t: Some AMX CPU
flags\t\t: fpu avx2 fma avx512f avx512_bf16 amx_tile amx_bf16
"""


def _hw(cpuinfo: str, peaks: dict[str, float]) -> hardware.Hardware:
    name, flags = hardware.cpu_name_and_flags(cpuinfo)
    return hardware.Hardware(
        cpu=name, cores=2, flags=flags,
        native_bf16_cpu="avx512_bf16" in flags or "amx_bf16" in flags,
        native_fp16_cpu=False, peaks=peaks,
    )  # fmt: skip


def test_flags_are_read_from_cpuinfo() -> None:
    assert hardware.cpu_name_and_flags(AVX2_ONLY) == ("Some AVX2 CPU", ("avx2", "fma"))
    name, flags = hardware.cpu_name_and_flags(SAPPHIRE)
    assert name == "Some AMX CPU" and "amx_bf16" in flags and "avx512_bf16" in flags


def test_bf16_where_it_is_emulated_runs_fp32_and_says_by_how_much() -> None:
    slow = _hw(AVX2_ONLY, {"cpu fp32": 130.0, "cpu bf16": 13.0})
    choice = hardware.choose_precision("bf16", "cpu", slow)
    assert choice.precision == "fp32"
    assert "emulated" in choice.reason and "10.0x slower" in choice.reason


def test_bf16_where_it_is_native_or_on_cuda_is_kept() -> None:
    fast = _hw(SAPPHIRE, {"cpu fp32": 195.0, "cpu bf16": 425.0})
    assert hardware.choose_precision("bf16", "cpu", fast) == hardware.PrecisionChoice("bf16")
    slow = _hw(AVX2_ONLY, {"cpu fp32": 130.0, "cpu bf16": 13.0})
    assert hardware.choose_precision("bf16", "cuda:0", slow).precision == "bf16"
    assert hardware.choose_precision("fp32", "cpu", slow).precision == "fp32"
    assert fast.best_cpu_peak == 425.0 and fast.bf16_slowdown() == pytest.approx(195 / 425)


def test_peaks_are_measured_once_then_read_from_the_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path))
    monkeypatch.setattr(hardware, "_DETECTED", None)
    calls: list[str] = []

    def fake_measure(dtype_name: str, size: int = 1024, seconds: float = 0.4) -> float:
        calls.append(dtype_name)
        return 100.0 if dtype_name == "fp32" else 50.0

    monkeypatch.setattr(hardware, "measure_peak", fake_measure)
    first = hardware.detect(measure=True)
    assert first.peaks == {"cpu fp32": 100.0, "cpu bf16": 50.0} and calls == ["fp32", "bf16"]
    monkeypatch.setattr(hardware, "_DETECTED", None)  # a new process: the disk cache answers
    assert hardware.detect(measure=True).peaks == first.peaks and len(calls) == 2
    cached = next((tmp_path / "hardware").glob("*.json"))
    cached.write_text("{not json")  # a damaged entry is measured again, not trusted
    monkeypatch.setattr(hardware, "_DETECTED", None)
    assert hardware.detect(measure=True).peaks == first.peaks and len(calls) == 4


def test_measured_peak_is_a_positive_rate() -> None:
    assert hardware.measure_peak("fp32", size=64, seconds=0.01) > 0


def test_info_command_prints_and_jsons(monkeypatch, tmp_path) -> None:
    from srpipe.cli import cli

    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path))
    monkeypatch.setattr(hardware, "_DETECTED", None)
    monkeypatch.setattr(hardware, "measure_peak", lambda name, size=1024, seconds=0.4: 42.0)
    out = CliRunner().invoke(cli, ["info"])
    assert out.exit_code == 0, out.output
    assert "peak cpu fp32 matmul: 42 GFLOP/s" in out.output and "bf16 on the CPU:" in out.output
    data = json.loads(CliRunner().invoke(cli, ["info", "--json"]).output)
    assert data["peaks"] == {"cpu fp32": 42.0, "cpu bf16": 42.0} and "flags" in data


def test_auto_is_bf16_only_where_native_and_the_model_was_measured_exact() -> None:
    fast = _hw(SAPPHIRE, {"cpu fp32": 195.0, "cpu bf16": 425.0})
    slow = _hw(AVX2_ONLY, {"cpu fp32": 130.0, "cpu bf16": 13.0})
    chosen = hardware.choose_precision("auto", "cpu", fast, bf16_exact=True)
    assert chosen.precision == "bf16" and "native" in chosen.why
    assert hardware.choose_precision("auto", "cpu", slow, bf16_exact=True).precision == "fp32"
    inexact = hardware.choose_precision("auto", "cpu", fast, bf16_exact=False)
    assert inexact.precision == "fp32" and "beyond one uint8 level" in inexact.why
    unmeasured = hardware.choose_precision("auto", "cpu", fast, bf16_exact=None)
    assert unmeasured.precision == "fp32" and "not measured" in unmeasured.why
    assert hardware.choose_precision("auto", "mps", fast, bf16_exact=True).precision == "fp32"
    assert hardware.choose_precision("fp32", "cpu", fast).why == "as asked"


def test_stage_threads_split_the_cores_between_sr_and_the_task() -> None:
    assert hardware.stage_threads(1) is None  # one core: the stages would only take turns
    assert hardware.stage_threads(2) == (1, 1)  # before any measurement: a detector's share
    assert hardware.stage_threads(16) == (11, 5)
    assert hardware.stage_threads(16, task_share=0.5) == (8, 8)
    # a task too light for a core of its own leaves SR every thread and runs beside it
    assert hardware.stage_threads(2, task_share=0.15) == (2, 1)
    # however heavy the task, SR keeps a thread
    assert hardware.stage_threads(4, task_share=1.0) == (1, 3)
