"""What this machine computes fast: native bf16/fp16 and its measured matmul peaks.

The same wheel runs on CPUs that differ by 10x in bf16: with AVX512-BF16 or AMX a bf16
convolution runs about twice as fast as fp32; on an AVX2-only CPU torch emulates bf16 and the
same model runs about ten times *slower* than fp32. So precision cannot be a fixed default, and
a speed can only be judged against what this machine reaches: :func:`detect` reads the CPU's
flags (and the CUDA devices), measures the fp32 and bf16 matmul peaks once, and caches the
answer under srpipe's cache, keyed by everything that changes it (CPU model and flags, threads,
torch version). :func:`choose_precision` is what ``--precision`` goes through.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from srpipe.atomic import write_json
from srpipe.environment import cache_dir, distribution_version

#: CPU flags that decide how fast reduced precision runs (as /proc/cpuinfo spells them)
SPEED_FLAGS = (
    "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16",
)  # fmt: skip
#: bumped when the measurement changes, so an old cached answer is not reused
VERSION = 1


@dataclass(frozen=True)
class Hardware:
    """What was found here; ``peaks`` are measured GFLOP/s of a large matmul per precision."""

    cpu: str
    cores: int
    flags: tuple[str, ...]
    native_bf16_cpu: bool
    native_fp16_cpu: bool
    cuda: list[dict[str, Any]] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)

    @property
    def best_cpu_peak(self) -> float:
        """The fastest measured CPU peak a run can use: bf16 only where it is native (an
        emulated bf16 peak is measured to show the slow-down, never to be reached)."""
        bf16 = self.peaks.get("cpu bf16", 0.0) if self.native_bf16_cpu else 0.0
        return max(self.peaks.get("cpu fp32", 0.0), bf16)

    def bf16_slowdown(self) -> float | None:
        """fp32 peak / bf16 peak on the CPU (above 1: bf16 is slower here), when measured."""
        fp32, bf16 = self.peaks.get("cpu fp32"), self.peaks.get("cpu bf16")
        return fp32 / bf16 if fp32 and bf16 else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flags": list(self.flags)}


def cpu_name_and_flags(cpuinfo: str | None = None) -> tuple[str, tuple[str, ...]]:
    """The CPU's model name and its speed-relevant flags (Linux ``/proc/cpuinfo``)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:  # not Linux: no flags to read; precision stays as asked
            return platform.processor() or platform.machine(), ()
    name, flags = platform.machine(), set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and name == platform.machine():
            name = value.strip()
        elif key in ("flags", "Features"):
            flags.update(value.split())
    return name, tuple(f for f in SPEED_FLAGS if f in flags)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cuda_devices() -> list[dict[str, Any]]:
    if "torch" not in sys.modules and not distribution_version("torch"):
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append(
            {
                "name": props.name,
                "capability": f"{props.major}.{props.minor}",
                "memory_gib": round(props.total_memory / 2**30, 1),
                "bf16": bool(props.major >= 8),
            }
        )
    return devices


def measure_peak(dtype_name: str, size: int = 1024, seconds: float = 0.4) -> float:
    """GFLOP/s of repeated ``size``x``size`` matmuls on the CPU in ``dtype_name``; best of the
    repeats, so a busy moment of the machine lowers it less."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    torch.matmul(a, b)  # warm-up: first call allocates and picks kernels
    best, spent = 0.0, 0.0
    while spent < seconds:
        start = time.perf_counter()
        torch.matmul(a, b)
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = max(best, 2 * size**3 / elapsed / 1e9)
    return round(best, 1)


def conv_flops(model: Any, x: Any) -> int:
    """FLOPs (2 per multiply-add) of every ``Conv2d`` in one forward of ``model`` on ``x``:
    what a speed is set against the matmul peak with (the convolutions are nearly all of an
    SR network's or a detector's arithmetic)."""
    import torch

    total = 0

    def count(module: torch.nn.Conv2d, _inputs: Any, out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += 2 * out.numel() * (module.in_channels // module.groups) * kh * kw

    handles = [
        m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


def _cache_path(cpu: str, flags: tuple[str, ...], threads: int) -> Path:
    key = f"{cpu}|{','.join(flags)}|{threads}|{distribution_version('torch')}|{VERSION}"
    return cache_dir() / "hardware" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


_DETECTED: Hardware | None = None


def detect(measure: bool = True, refresh: bool = False) -> Hardware:
    """This machine's :class:`Hardware`, measured once and cached on disk (and per process).

    With ``measure=False`` no matmul runs (flags and devices only; ``peaks`` empty unless a
    cached measurement exists).
    """
    global _DETECTED
    if _DETECTED is not None and not refresh and (_DETECTED.peaks or not measure):
        return _DETECTED
    cpu, flags = cpu_name_and_flags()
    native_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    native_fp16 = "avx512_fp16" in flags or "amx_fp16" in flags
    threads = _threads()
    cache = _cache_path(cpu, flags, threads)
    peaks: dict[str, float] = {}
    if cache.is_file() and not refresh:
        try:
            peaks = {str(k): float(v) for k, v in json.loads(cache.read_text())["peaks"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            peaks = {}  # a damaged cache entry is measured again
    if measure and not peaks:
        peaks["cpu fp32"] = measure_peak("fp32")
        # emulated bf16 is ~10x slower: a smaller matmul is enough to show by how much
        peaks["cpu bf16"] = measure_peak("bf16", size=1024 if native_bf16 else 256)
        write_json(cache, {"cpu": cpu, "flags": list(flags), "threads": threads, "peaks": peaks})
    _DETECTED = Hardware(
        cpu=cpu,
        cores=_cores(),
        flags=flags,
        native_bf16_cpu=native_bf16,
        native_fp16_cpu=native_fp16,
        cuda=_cuda_devices(),
        peaks=peaks,
    )
    return _DETECTED


def _threads() -> int:
    """The threads torch computes with (what the peaks were measured at)."""
    if "torch" not in sys.modules and not distribution_version("torch"):
        return _cores()
    import torch

    return int(torch.get_num_threads())


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses and why (None: exactly what was asked for)."""

    precision: str
    reason: str | None = None

    @property
    def why(self) -> str:
        """The reason, or "as asked" when the precision is the one requested."""
        return self.reason or "as asked"


def choose_precision(
    requested: str,
    device: str,
    hardware: Hardware | None = None,
    *,
    bf16_exact: bool | None = None,
) -> PrecisionChoice:
    """The precision to run ``requested`` with on ``device``.

    ``bf16`` stays bf16 unless it would be emulated: on a CPU without AVX512-BF16/AMX it runs
    fp32 (the measured slow-down in the reason). ``auto`` is bf16 where bf16 is native here
    *and* ``bf16_exact`` (the model's bf16 output was measured within one uint8 level of fp32,
    :func:`srpipe.models.zoo.bf16_exact`), fp32 everywhere else.
    """
    base = device.split(":")[0]
    if requested == "auto":
        return _auto_precision(base, device, hardware, bf16_exact)
    if requested != "bf16" or base != "cpu":
        return PrecisionChoice(requested)
    hardware = hardware or detect(measure=False)
    if hardware.native_bf16_cpu or not hardware.flags:
        # native here, or a CPU whose flags cannot be read: keep what the user asked for
        return PrecisionChoice(requested)
    hardware = detect(measure=True) if not hardware.peaks else hardware
    slowdown = hardware.bf16_slowdown()
    measured = f"measured {slowdown:.1f}x slower than fp32 here" if slowdown else "slower"
    return PrecisionChoice(
        "fp32",
        f"bf16 is emulated on this CPU (no AVX512-BF16 or AMX; {measured}); running fp32",
    )


def _auto_precision(
    base: str, device: str, hardware: Hardware | None, bf16_exact: bool | None
) -> PrecisionChoice:
    if not bf16_exact:
        why = "not measured" if bf16_exact is None else "measured beyond one uint8 level"
        return PrecisionChoice("fp32", f"auto: this model's bf16 output is {why} vs fp32")
    if base == "cpu":
        hardware = hardware or detect(measure=False)
        if hardware.native_bf16_cpu:
            return PrecisionChoice(
                "bf16", "auto: bf16 is native on this CPU and exact enough for this model"
            )
        return PrecisionChoice("fp32", "auto: bf16 would be emulated on this CPU")
    if base == "cuda":
        import torch

        if torch.cuda.is_bf16_supported():
            return PrecisionChoice(
                "bf16", f"auto: bf16 is native on {device} and exact enough for this model"
            )
        return PrecisionChoice("fp32", f"auto: {device} has no native bf16")
    return PrecisionChoice("fp32", f"auto: bf16 is not used on {device}")


#: the task's share of a run's compute until one is measured: the detector on EDSR x4's
#: output does about a quarter of the arithmetic (13 of 56 GFLOP on a 160x68 frame) in fp32,
#: SR's share in bf16 is quicker per GFLOP, so about a third of the time
TASK_SHARE_GUESS = 1 / 3


def stage_threads(total: int, task_share: float = TASK_SHARE_GUESS) -> tuple[int, int] | None:
    """Torch threads for SR and for the task when the two run side by side (``srpipe run``'s
    pipeline: SR of the next batch while the task predicts this one), out of ``total``.

    ``task_share`` is the task's share of the compute time (measured as the run goes; a
    guess before). Each stage gets threads in proportion, at least one; a task too light
    for a core of its own (video's PSNR and flicker) leaves SR every thread and computes
    beside it with one. None below two threads: stages on one core would only take turns.
    On two cores with a detector, one thread each, which also spares every convolution of a
    small frame its wait at each layer for the slower thread.
    """
    if total < 2:
        return None
    task = round(total * min(max(task_share, 0.0), 1.0))
    if task == 0:
        return total, 1
    task = min(task, total - 1)
    return total - task, task


def describe(hardware: Hardware) -> list[str]:
    """Lines for ``srpipe info``."""
    lines = [
        f"cpu: {hardware.cpu} ({hardware.cores} cores available)",
        f"flags: {' '.join(hardware.flags) or '(none read)'}",
        f"bf16 on the CPU: {'native' if hardware.native_bf16_cpu else 'emulated (slow)'}",
        f"fp16 on the CPU: {'native' if hardware.native_fp16_cpu else 'emulated (slow)'}",
    ]
    for name, value in hardware.peaks.items():
        lines.append(f"peak {name} matmul: {value:.0f} GFLOP/s")
    slowdown = hardware.bf16_slowdown()
    if slowdown:
        verdict = "faster" if slowdown < 1 else "slower"
        ratio = 1 / slowdown if slowdown < 1 else slowdown
        lines.append(f"bf16 vs fp32 on the CPU: {ratio:.1f}x {verdict}")
    for index, gpu in enumerate(hardware.cuda):
        lines.append(
            f"cuda:{index}: {gpu['name']} (capability {gpu['capability']}, "
            f"{gpu['memory_gib']} GiB, bf16 {'native' if gpu['bf16'] else 'no'})"
        )
    if not hardware.cuda:
        lines.append("cuda: none")
    return lines
