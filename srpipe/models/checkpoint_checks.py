"""What a checkpoint must pass before srpipe builds and fills the network it names.

A checkpoint's header is data anyone can edit: a 3 MB file whose metadata asks for
``n_feats=4096`` would otherwise build a 3 GB network before any shape is compared, and
weights that are NaN/Inf or stored as integers would load without a word and give black
images (or a report) with exit 0. So, in this order:

1. :func:`check_network_fits` builds the named network on PyTorch's ``meta`` device (shapes
   only, no memory, no initialisation), stopping a build that creates far more tensors than
   the file holds, and compares every tensor's name, shape and kind (float or not) with the
   file's, then sizes its parameters against the memory plan
   (:func:`srpipe.image.limits.memory_budget`);
2. :func:`check_finite` refuses weights holding NaN or Inf, naming the tensor.

Every refusal is one line naming the file and the tensor or value at fault.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srpipe.errors import SrpipeError
from srpipe.image.limits import memory_budget

if TYPE_CHECKING:
    from srpipe.models.spec import ModelSpec

#: safetensors dtype codes of floating-point tensors (the rest are integers or bools)
SAFETENSORS_FLOATS = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})

#: A meta build may make this many torch calls per tensor of the file, plus a constant. Every
#: built-in architecture needs at most 9 calls a state-dict tensor (measured for this bound);
#: 100 leaves room for plugin networks while a header asking for a million residual blocks
#: stops after a few thousand calls instead of minutes of building.
CALLS_PER_TENSOR = 100
CALLS_BASE = 1000

#: bytes a parameter takes once loaded (srpipe runs checkpoints in fp32)
BYTES_PER_PARAMETER = 4


@dataclass(frozen=True)
class TensorInfo:
    """What the checkpoint says about one tensor, read without loading it."""

    shape: tuple[int, ...]
    is_float: bool
    dtype: str


def tensors_of_header(header: Mapping[str, Any], label: str) -> dict[str, TensorInfo]:
    """The tensors a safetensors header declares (``__metadata__`` left out)."""
    found: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            shape = tuple(int(n) for n in entry["shape"])
            dtype = str(entry["dtype"])
        except (KeyError, TypeError, ValueError):
            raise SrpipeError(
                f"{label}: corrupt safetensors header (tensor {name!r} has no valid "
                "shape/dtype); re-save or re-download it"
            ) from None
        found[name] = TensorInfo(shape, dtype in SAFETENSORS_FLOATS, dtype)
    return found


def tensors_of_state(state: Mapping[str, Any]) -> dict[str, TensorInfo]:
    """The same description for tensors already in memory (a ``.pt`` state dict)."""
    return {
        name: TensorInfo(
            tuple(value.shape), bool(value.is_floating_point()), str(value.dtype).split(".")[-1]
        )
        for name, value in state.items()
        if hasattr(value, "shape")
    }


def check_network_fits(
    spec: ModelSpec,
    scale: float,
    hyper: Mapping[str, Any],
    tensors: Mapping[str, TensorInfo],
    label: str,
    *,
    optional: tuple[str, ...] = (),
    device: str = "cpu",
) -> None:
    """Refuse, before any allocation, a checkpoint whose tensors are not the network its
    header (or key layout) names, or whose network would not fit the memory plan.

    ``optional`` names tensors the network has but a file may leave out (a frozen mean).
    """
    expected = _meta_state(spec, scale, hyper, len(tensors), label)
    missing = [k for k in expected if k not in tensors and k not in optional]
    unexpected = [k for k in tensors if k not in expected]
    if missing or unexpected:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
            )
            if part
        )
        raise SrpipeError(
            f"{label}: its tensors are not those of {spec.name} with {_asked(hyper)} "
            f"({detail}); the file's metadata or its weights were changed: re-save it"
        )
    for name, info in tensors.items():
        shape, is_float = expected[name]
        if info.shape != shape:
            raise SrpipeError(
                f"{label}: tensor {name} has shape {info.shape}, but {spec.name} with "
                f"{_asked(hyper)} needs {shape}; the file's metadata does not match its "
                "weights: re-save it"
            )
        if is_float and not info.is_float:
            raise SrpipeError(
                f"{label}: tensor {name} is stored as {info.dtype}, not floating point; "
                "SR weights are float32/float16/bfloat16: the file is corrupt or not an SR "
                "checkpoint"
            )
    count = sum(_numel(shape) for shape, _ in expected.values())
    needed = count * BYTES_PER_PARAMETER
    budget = memory_budget(device)
    if needed > budget:
        raise SrpipeError(
            f"{label}: {spec.name} with {_asked(hyper)} holds {count / 1e6:.1f}M parameters "
            f"({_size(needed)} in fp32), over the memory budget of {_size(budget)} on "
            f"{device}; if the model is genuine, raise the budget with SRPIPE_MEMORY=<size> "
            "(e.g. 8G)"
        )


def check_finite(state: Mapping[str, Any], label: str) -> None:
    """Refuse weights holding NaN or Inf (they upscale to black or garbage, exit 0)."""
    import torch

    for name, value in state.items():
        if not hasattr(value, "is_floating_point") or not value.is_floating_point():
            continue
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise SrpipeError(
                f"{label}: tensor {name} holds {bad} NaN/Inf value(s) of {value.numel()}; "
                "the weights are broken (a diverged training run?): use an earlier checkpoint"
            )


def _meta_state(
    spec: ModelSpec, scale: float, hyper: Mapping[str, Any], file_tensors: int, label: str
) -> dict[str, tuple[tuple[int, ...], bool]]:
    """Name -> (shape, is float) of the network ``spec`` builds, on the meta device."""
    import torch

    # import the builder's module outside the meta context: its module-level tensors (the
    # luma networks' colour matrices) must stay real for every later build
    spec.resolve()
    grad_enabled = torch.is_grad_enabled()
    try:
        with torch.device("meta"), _shapes_only(CALLS_PER_TENSOR * file_tensors + CALLS_BASE):
            model = spec.build(scale=scale, **hyper)
        state = model.state_dict()
    except _TooLarge:
        raise SrpipeError(
            f"{label}: {spec.name} with {_asked(hyper)} is far larger than the "
            f"{file_tensors} tensors the file holds; its metadata was changed: re-save it"
        ) from None
    except SrpipeError:
        raise
    except Exception as exc:  # any builder error: the header asks for what cannot be built
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise SrpipeError(
            f"{label}: its hyper-parameters ({_asked(hyper)}) do not build {spec.name} "
            f"({reason or type(exc).__name__}); re-save the checkpoint"
        ) from None
    finally:
        torch.set_grad_enabled(grad_enabled)  # a builder stopped inside no_grad
    return {name: (tuple(t.shape), bool(t.is_floating_point())) for name, t in state.items()}


#: in-place methods that change a tensor's shape: these must really run on the meta tensor
_RESHAPING_IN_PLACE = frozenset(
    {
        "resize_",
        "resize_as_",
        "squeeze_",
        "unsqueeze_",
        "transpose_",
        "t_",
        "as_strided_",
        "set_",
        "swapdims_",
        "swapaxes_",
    }
)
#: calls that only read or set a tensor's metadata (most of a build's calls): run as they are
_METADATA = frozenset(
    {
        "__get__",
        "__set__",
        "dim",
        "size",
        "stride",
        "numel",
        "is_contiguous",
        "is_floating_point",
        "_set_grad_enabled",
        "empty",
    }
)
#: out-of-place arithmetic on meta tensors this small runs on CPU stand-ins instead
_SMALL = 65536


def _shapes_only(limit: int) -> Any:
    """A torch function mode for a build on the meta device that keeps shapes, skips values,
    and stops after ``limit`` calls.

    Why not plain ``torch.device("meta")``: many ops on the meta device (``w / std``,
    ``normal_``, ``arange``, ``eye``) run PyTorch's Python references, whose first use
    imports torch._dynamo and sympy: 3-5 s more for every ``srpipe`` command that loads a
    checkpoint. A shape check needs no values, so in-place initialisation is skipped,
    small index tables (``arange``, ``eye``) are made on the CPU, and arithmetic on small
    constants (a mean, a std) runs on CPU zeros of the same shapes; results come back as
    meta tensors. Anything else (large) still runs on the meta device.
    """
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_map

    def stand_in(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.device.type == "meta":
            return torch.zeros(value.shape, dtype=value.dtype, device="cpu")
        if isinstance(value, torch.device) and value.type == "meta":
            return torch.device("cpu")
        return value

    def to_meta(value: Any) -> Any:
        return value.to("meta") if isinstance(value, torch.Tensor) else value

    class ShapesOnly(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.left = limit

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = getattr(func, "__name__", "")
            if name in _METADATA:
                # before the limit: a no_grad block left by _TooLarge must still restore grad
                return func(*args, **kwargs)
            self.left -= 1
            if self.left < 0:
                raise _TooLarge
            tensors = [t for t in _flat(args, kwargs) if isinstance(t, torch.Tensor)]
            on_meta = [t for t in tensors if t.device.type == "meta"]
            if not tensors and (_table_size(func, args, kwargs) or _SMALL + 1) <= _SMALL:
                # a small index table (arange, eye, linspace): its values are cheap on the CPU
                with torch.device("cpu"):
                    return tree_map(to_meta, func(*args, **{**kwargs, "device": "cpu"}))
            if on_meta and name.endswith("_") and not name.endswith("__"):
                if name not in _RESHAPING_IN_PLACE and args and args[0] is on_meta[0]:
                    return args[0]  # initialisation in place: values are not checked
            elif on_meta and all(t.numel() <= _SMALL for t in tensors):
                with torch.device("cpu"):
                    result = func(*tree_map(stand_in, args), **tree_map(stand_in, kwargs))
                return tree_map(to_meta, result)
            return func(*args, **kwargs)

    return ShapesOnly()


def _flat(args: tuple, kwargs: dict) -> list[Any]:
    """Arguments one list deep (``torch.cat([a, b])``): what builders pass; cheaper than a
    full pytree walk on each of the thousands of calls a build makes."""
    flat: list[Any] = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, (list, tuple)):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def _table_size(func: Any, args: tuple, kwargs: dict) -> int | None:
    """Elements an ``arange`` / ``linspace`` / ``eye`` call makes, or None for other calls."""
    import torch

    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    try:
        if func is torch.arange:
            start = kwargs.get("start", numbers[0] if len(numbers) > 1 else 0)
            end = kwargs.get("end", numbers[1] if len(numbers) > 1 else numbers[0])
            step = kwargs.get("step", numbers[2] if len(numbers) > 2 else 1)
            return max(0, math.ceil((end - start) / step))
        if func in (torch.linspace, torch.logspace):
            return int(kwargs.get("steps", numbers[2] if len(numbers) > 2 else 0))
        if func is torch.eye:
            rows = kwargs.get("n", numbers[0] if numbers else 0)
            return rows * kwargs.get("m", numbers[1] if len(numbers) > 1 else rows)
    except (IndexError, TypeError, ValueError, ZeroDivisionError):
        return None
    return None


class _TooLarge(Exception):
    """Raised inside a meta build that went past its call limit."""


def _asked(hyper: Mapping[str, Any]) -> str:
    """The hyper-parameters as the error shows them (short)."""
    text = ", ".join(f"{key}={value!r}" for key, value in hyper.items())
    return (text[:100] + "...") if len(text) > 100 else (text or "default hyper-parameters")


def _size(count: int) -> str:
    """Bytes as the error shows them: MiB below a GiB, else GiB."""
    if count < 1024**3:
        return f"{count / 1024**2:.1f} MiB"
    return f"{count / 1024**3:.1f} GiB"


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count
