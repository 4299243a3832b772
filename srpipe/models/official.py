"""Recognise state dicts of other SR projects and map them onto srpipe's networks.

Supported (architecture and hyper-parameters are read from the key names and tensor
shapes, as spandrel does, so no config file is needed):

* EDSR-PyTorch EDSR (``edsr_baseline_x4-6b446fab.pt``, ``EDSR_x4.pt``): ``sub_mean``,
  ``head.0``, ``body.N.body.{0,2}``, ``tail.0.*``, ``tail.1``, ``add_mean``; also what
  srpipe's own EDSR saves, since our module names are the same;
* RCAN (official code and EDSR-PyTorch's copy): ``body.G.body.B.body.3.conv_du.{0,2}``;
* HAN (official code): RCAN's names plus ``la.gamma``, ``csa.conv``, ``last_conv``, ``last``;
* RDN in EDSR-PyTorch's naming (``SFENet1``, ``RDBs.N.convs.M.conv.0``, ``GFF``, ``UPNet``);
* BasicSR EDSR and RCAN (``conv_first``, ``body.N.conv1`` / ``residual_group``,
  ``conv_after_body``, ``upsample.K``, ``conv_last``), after unwrapping ``params_ema`` /
  ``params``.

What the keys cannot show gets the paper's value: EDSR's ``res_scale`` is 0.1 for 256
features or more and 1 otherwise; BasicSR's ``img_range`` and RGB mean (not saved) are
255 and DIV2K's. Nothing here imports torch: it works on any mapping of name -> tensor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from srpipe.errors import SrpipeError

#: Wrappers that training frameworks put around the state dict, most preferred first
#: (BasicSR saves the EMA weights as ``params_ema``; they are the better ones).
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net")

_DIV2K_MEAN_R = 0.4488


@dataclass
class DetectedCheckpoint:
    """A foreign state dict, recognised and renamed to srpipe's module names."""

    arch: str  # srpipe registry name of the network family: "edsr", "rcan", "rdn"
    scale: int  # 0: the weights serve every scale (pre-upsampling models: SRCNN, VDSR, DRRN...)
    hyper: dict[str, Any]
    source: str  # "edsr-pytorch", "rcan", "basicsr"
    state_dict: dict[str, Any]


def unwrap_state_dict(obj: Any) -> dict[str, Any]:
    """The name -> tensor mapping inside a loaded checkpoint object.

    Unwraps BasicSR's ``params_ema`` / ``params`` and similar wrappers and strips the
    ``module.`` prefix that ``DataParallel`` / ``DistributedDataParallel`` add.
    """
    if not isinstance(obj, Mapping):
        raise SrpipeError(
            f"checkpoint holds a {type(obj).__name__}, not a state dict; "
            "save model.state_dict() instead of the whole model"
        )
    for key in WRAPPER_KEYS:
        inner = obj.get(key)
        if isinstance(inner, Mapping) and inner and _looks_like_state_dict(inner):
            obj = inner
            break
    if not _looks_like_state_dict(obj):
        raise SrpipeError("checkpoint holds no tensors named like a network's state dict")
    prefix = "module."
    if all(k.startswith(prefix) for k in obj):
        obj = {k[len(prefix) :]: v for k, v in obj.items()}
    return dict(obj)


def _looks_like_state_dict(obj: Mapping) -> bool:
    return (
        bool(obj)
        and all(isinstance(k, str) for k in obj)
        and any(hasattr(v, "shape") for v in obj.values())
    )


def detect_checkpoint(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """Recognise ``state`` (already unwrapped); None when no known layout matches."""
    for detector in DETECTORS:
        found = detector(state)
        if found is not None:
            return found
    return None


def _count(state: Mapping[str, Any], pattern: str) -> int:
    """How many consecutive indices i make ``pattern.format(i)`` a key."""
    i = 0
    while pattern.format(i) in state:
        i += 1
    return i


def _upsampler_scale(state: Mapping[str, Any], prefix: str, n_feats: int) -> int:
    """Scale of a pixel-shuffle upsampler whose convs are ``prefix.0``, ``prefix.2``...

    Each stage's conv has ``r*r*n_feats`` outputs; the scale is the product of the r's.
    """
    scale = 1
    k = 0
    while f"{prefix}.{k}.weight" in state:
        ratio = state[f"{prefix}.{k}.weight"].shape[0] / n_feats
        r = math.isqrt(round(ratio))
        if r * r != round(ratio) or r < 2:
            raise SrpipeError(
                f"checkpoint upsampler {prefix}.{k} has {int(ratio * n_feats)} channels, "
                f"not a square multiple of {n_feats}; the file is not a supported SR model"
            )
        scale *= r
        k += 2
    return scale


def _rgb_range(state: Mapping[str, Any]) -> float:
    """EDSR-PyTorch stores ``sub_mean.bias = -rgb_range * mean / std``: recover rgb_range."""
    bias = state.get("sub_mean.bias")
    weight = state.get("sub_mean.weight")
    if bias is None or weight is None:
        return 255.0
    value = -float(bias[0]) / float(weight[0, 0, 0, 0]) / _DIV2K_MEAN_R
    for candidate in (255.0, 1.0):
        if abs(value - candidate) < 1e-3 * candidate:
            return candidate
    return value


def _edsr_res_scale(n_feats: int) -> float:
    # Not stored in the weights; the paper used 0.1 only for the 256-feature model.
    return 0.1 if n_feats >= 256 else 1.0


def _edsr_pytorch_edsr(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "head.0.weight" not in state or "body.0.body.0.weight" not in state:
        return None
    if "body.0.body.0.body.0.weight" in state:  # that is RCAN
        return None
    n_feats, n_colors = state["head.0.weight"].shape[:2]
    n_resblocks = _count(state, "body.{}.body.0.weight")
    hyper = {
        "n_resblocks": n_resblocks,
        "n_feats": int(n_feats),
        "res_scale": _edsr_res_scale(int(n_feats)),
        "rgb_range": _rgb_range(state),
        "n_colors": int(n_colors),
        "kernel_size": int(state["head.0.weight"].shape[-1]),
    }
    scale = _upsampler_scale(state, "tail.0", int(n_feats))
    return DetectedCheckpoint("edsr", scale, hyper, "edsr-pytorch", dict(state))


def _edsr_pytorch_rcan(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "body.0.body.0.body.3.conv_du.0.weight" not in state:
        return None
    n_feats, n_colors = state["head.0.weight"].shape[:2]
    squeeze = state["body.0.body.0.body.3.conv_du.0.weight"].shape[0]
    hyper = {
        "n_resgroups": _count(state, "body.{}.body.0.body.0.weight"),
        "n_resblocks": _count(state, "body.0.body.{}.body.0.weight"),
        "n_feats": int(n_feats),
        "reduction": int(n_feats) // int(squeeze),
        "rgb_range": _rgb_range(state),
        "n_colors": int(n_colors),
        "kernel_size": int(state["head.0.weight"].shape[-1]),
    }
    scale = _upsampler_scale(state, "tail.0", int(n_feats))
    return DetectedCheckpoint("rcan", scale, hyper, "rcan", dict(state))


def _han(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """HAN (official code): RCAN's keys plus ``la.gamma``, ``csa.conv``, ``last_conv``."""
    if "la.gamma" not in state or "csa.conv.weight" not in state:
        return None
    rcan = _edsr_pytorch_rcan(state)
    if rcan is None:
        return None
    return DetectedCheckpoint("han", rcan.scale, rcan.hyper, "han", rcan.state_dict)


def _rdn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "SFENet1.weight" not in state or "RDBs.0.convs.0.conv.0.weight" not in state:
        return None
    g0, n_colors = state["SFENet1.weight"].shape[:2]
    growth = state["RDBs.0.convs.0.conv.0.weight"].shape[0]
    n_convs = _count(state, "RDBs.0.convs.{}.conv.0.weight")
    # UPNet = [conv, shuffle] per stage, then the output conv: convs at even indices.
    n_stages = _count_even(state, "UPNet.{}.weight") - 1
    scale = 1
    for k in range(n_stages):
        scale *= math.isqrt(state[f"UPNet.{2 * k}.weight"].shape[0] // int(growth))
    hyper = {
        "G0": int(g0),
        "D": _count(state, "RDBs.{}.LFF.weight"),
        "C": n_convs,
        "G": int(growth),
        "kernel_size": int(state["SFENet1.weight"].shape[-1]),
        "n_colors": int(n_colors),
        "rgb_range": 255.0,
    }
    return DetectedCheckpoint("rdn", scale, hyper, "edsr-pytorch", dict(state))


def _count_even(state: Mapping[str, Any], pattern: str) -> int:
    i = 0
    while pattern.format(2 * i) in state:
        i += 1
    return i


_BASICSR_COMMON = (
    (r"^conv_first\.", "head.0."),
    (r"^upsample\.", "tail.0."),
    (r"^conv_last\.", "tail.1."),
)


def _rename(state: Mapping[str, Any], rules: list[tuple[str, str]]) -> dict[str, Any]:
    out = {}
    for key, value in state.items():
        new = key
        for pattern, replacement in rules:
            new = re.sub(pattern, replacement, new)
        out[new] = value
    return out


def _basicsr_edsr(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "conv_first.weight" not in state or "body.0.conv1.weight" not in state:
        return None
    n_feats, n_colors = state["conv_first.weight"].shape[:2]
    n_resblocks = _count(state, "body.{}.conv1.weight")
    rules = [
        *_BASICSR_COMMON,
        (r"^body\.(\d+)\.conv1\.", r"body.\1.body.0."),
        (r"^body\.(\d+)\.conv2\.", r"body.\1.body.2."),
        (r"^conv_after_body\.", f"body.{n_resblocks}."),
    ]
    hyper = {
        "n_resblocks": n_resblocks,
        "n_feats": int(n_feats),
        "res_scale": _edsr_res_scale(int(n_feats)),
        "rgb_range": 255.0,
        "n_colors": int(n_colors),
    }
    scale = _upsampler_scale(state, "upsample", int(n_feats))
    return DetectedCheckpoint("edsr", scale, hyper, "basicsr", _rename(state, rules))


def _basicsr_rcan(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "body.0.residual_group.0.rcab.0.weight" not in state:
        return None
    n_feats, n_colors = state["conv_first.weight"].shape[:2]
    n_resgroups = _count(state, "body.{}.conv.weight")
    n_resblocks = _count(state, "body.0.residual_group.{}.rcab.0.weight")
    squeeze = state["body.0.residual_group.0.rcab.3.attention.1.weight"].shape[0]
    rules = [
        *_BASICSR_COMMON,
        (
            r"^body\.(\d+)\.residual_group\.(\d+)\.rcab\.3\.attention\.1\.",
            r"body.\1.body.\2.body.3.conv_du.0.",
        ),
        (
            r"^body\.(\d+)\.residual_group\.(\d+)\.rcab\.3\.attention\.3\.",
            r"body.\1.body.\2.body.3.conv_du.2.",
        ),
        (r"^body\.(\d+)\.residual_group\.(\d+)\.rcab\.", r"body.\1.body.\2.body."),
        (r"^body\.(\d+)\.conv\.", rf"body.\1.body.{n_resblocks}."),
        (r"^conv_after_body\.", f"body.{n_resgroups}."),
    ]
    hyper = {
        "n_resgroups": n_resgroups,
        "n_resblocks": n_resblocks,
        "n_feats": int(n_feats),
        "reduction": int(n_feats) // int(squeeze),
        "rgb_range": 255.0,
        "n_colors": int(n_colors),
    }
    scale = _upsampler_scale(state, "upsample", int(n_feats))
    return DetectedCheckpoint("rcan", scale, hyper, "basicsr", _rename(state, rules))


# --- the architectures whose official layout is srpipe's own (or whose only PyTorch layout
# is srpipe's): D-DBPN, SRFBN and SAN use the official module names; the others are read
# from what srpipe saves. Hyper-parameters the weights cannot show get the paper's value.

#: projection kernel size -> scale (DBPN and SRFBN: 6x6 x2, 7x7 x3, 8x8 x4, 12x12 x8)
_PROJECTION_SCALE = {6: 2, 7: 3, 8: 4, 12: 8}


def _projection_scale(state: Mapping[str, Any], key: str) -> int:
    kernel = int(state[key].shape[-1])
    if kernel not in _PROJECTION_SCALE:
        raise SrpipeError(
            f"checkpoint projection {key} has a {kernel}x{kernel} kernel, not one of DBPN's "
            "6/7/8/12 (x2/x3/x4/x8); the file is not a supported SR model"
        )
    return _PROJECTION_SCALE[kernel]


def _dbpn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """D-DBPN (alterzero/DBPN-Pytorch ``dbpn.py`` and srpipe): ``feat0.conv``, ``upN.up_conv1``."""
    if "feat0.conv.weight" not in state or "up1.up_conv1.deconv.weight" not in state:
        return None
    feat, n_colors = state["feat0.conv.weight"].shape[:2]
    hyper = {
        "n_stages": _count_from(state, "up{}.up_conv1.deconv.weight", 1),
        "base_filter": int(state["feat1.conv.weight"].shape[0]),
        "feat": int(feat),
        "n_colors": int(n_colors),
    }
    scale = _projection_scale(state, "up1.up_conv1.deconv.weight")
    return DetectedCheckpoint("dbpn", scale, hyper, "dbpn", dict(state))


def _srfbn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """SRFBN (Paper99/SRFBN_CVPR19 and srpipe): ``conv_in.0``, ``block.upBlocks.G.0``.

    The number of steps is not in the weights (they are shared): the paper's T=4.
    """
    if "conv_in.0.weight" not in state or "block.upBlocks.0.0.weight" not in state:
        return None
    hyper = {
        "n_feats": int(state["feat_in.0.weight"].shape[0]),
        "n_steps": 4,
        "n_groups": _count(state, "block.upBlocks.{}.0.weight"),
        "n_colors": int(state["conv_in.0.weight"].shape[1]),
        "rgb_range": _rgb_range(state),
    }
    scale = _projection_scale(state, "block.upBlocks.0.0.weight")
    return DetectedCheckpoint("srfbn", scale, hyper, "srfbn", dict(state))


#: modules the official SAN builds but never runs (their keys are dropped on import)
_SAN_UNUSED = re.compile(r"^(conv_last\.|RG\.\d+\.gamma$|non_local\.soca\.)")


def _san(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """SAN (daitao/SAN and srpipe): ``RG.G.rcab.B.conv_first``, ``RG.G.soca.conv_du``."""
    if "RG.0.rcab.0.conv_first.0.weight" not in state or "RG.0.soca.conv_du.0.weight" not in state:
        return None
    n_feats, n_colors = state["head.0.weight"].shape[:2]
    hyper = {
        "n_resgroups": _count(state, "RG.{}.conv_last.weight"),
        "n_resblocks": _count(state, "RG.0.rcab.{}.conv_first.0.weight"),
        "n_feats": int(n_feats),
        "reduction": int(n_feats) // int(state["RG.0.soca.conv_du.0.weight"].shape[0]),
        "rgb_range": _rgb_range(state),
        "n_colors": int(n_colors),
    }
    scale = _upsampler_scale(state, "tail.0", int(n_feats))
    kept = {k: v for k, v in state.items() if not _SAN_UNUSED.match(k)}
    source = "san" if len(kept) < len(state) else "srpipe"
    return DetectedCheckpoint("san", scale, hyper, source, kept)


def _lapsrn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "input_conv.0.weight" not in state or "levels.0.image_up.weight" not in state:
        return None
    n_feats, n_colors = state["input_conv.0.weight"].shape[:2]
    hyper = {
        "n_colors": int(n_colors),
        "n_feats": int(n_feats),
        "depth": _count_even(state, "levels.0.convs.{}.weight"),
    }
    scale = 2 ** _count(state, "levels.{}.up.weight")
    return DetectedCheckpoint("lapsrn", scale, hyper, "srpipe", dict(state))


def _drrn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """DRRN; the number of units (shared weights) is not in the file: the paper's 25."""
    if "entries.0.weight" not in state or "units.0.1.weight" not in state:
        return None
    n_feats, n_colors = state["entries.0.weight"].shape[:2]
    hyper = {
        "n_colors": int(n_colors),
        "n_blocks": _count(state, "units.{}.1.weight"),
        "n_units": 25,
        "n_feats": int(n_feats),
    }
    return DetectedCheckpoint("drrn", 0, hyper, "srpipe", dict(state))


def _memnet(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "blocks.0.gate.1.weight" not in state or "feature.weight" not in state:
        return None
    n_feats, n_colors = state["feature.weight"].shape[:2]
    # block 0's gate sees its R short-term maps and the feature extractor's output
    gate_in = int(state["blocks.0.gate.1.weight"].shape[1])
    hyper = {
        "n_colors": int(n_colors),
        "n_feats": int(n_feats),
        "n_memory_blocks": _count(state, "blocks.{}.gate.1.weight"),
        "n_recursions": gate_in // int(n_feats) - 1,
    }
    return DetectedCheckpoint("memnet", 0, hyper, "srpipe", dict(state))


def _vdsr(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "body.0.weight" not in state or "head.0.weight" in state or "body.0.body.0.weight" in state:
        return None
    n_feats, n_colors = state["body.0.weight"].shape[:2]
    hyper = {
        "n_colors": int(n_colors),
        "depth": _count_even(state, "body.{}.weight"),
        "n_feats": int(n_feats),
    }
    return DetectedCheckpoint("vdsr", 0, hyper, "srpipe", dict(state))


def _srcnn_espcn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    """SRCNN and ESPCN share ``conv1..3``; ESPCN's last conv has ``n_colors * r^2`` outputs."""
    if set(state) != {f"conv{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}:
        return None
    n1, n_colors, f1 = (int(v) for v in state["conv1.weight"].shape[:3])
    n2, _, f2 = (int(v) for v in state["conv2.weight"].shape[:3])
    out, _, f3 = (int(v) for v in state["conv3.weight"].shape[:3])
    if out == n_colors:
        hyper = {"n_colors": n_colors, "f1": f1, "f2": f2, "f3": f3, "n1": n1, "n2": n2}
        return DetectedCheckpoint("srcnn", 0, hyper, "srpipe", dict(state))
    r = math.isqrt(out // n_colors)
    if r * r * n_colors != out:
        return None
    hyper = {"n_colors": n_colors, "n1": n1, "n2": n2}
    return DetectedCheckpoint("espcn", r, hyper, "srpipe", dict(state))


def _fsrcnn(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "feature.0.weight" not in state or "deconv.weight" not in state:
        return None
    d, n_colors = state["feature.0.weight"].shape[:2]
    hyper = {
        "n_colors": int(n_colors),
        "d": int(d),
        "s": int(state["shrink.0.weight"].shape[0]),
        "m": _count_even(state, "mapping.{}.weight"),
    }
    # the deconvolution's output_padding (scale - 1) is not stored: its stride is the scale,
    # which no tensor shows either, so the file serves the scale it is asked for
    return DetectedCheckpoint("fsrcnn", 0, hyper, "srpipe", dict(state))


def _pan(state: Mapping[str, Any]) -> DetectedCheckpoint | None:
    if "body.0.pa_conv.gate.weight" not in state or "up_convs.0.weight" not in state:
        return None
    n_feats, n_colors = state["head.weight"].shape[:2]
    stages = _count(state, "up_convs.{}.weight")
    hyper = {
        "n_feats": int(n_feats),
        "n_up_feats": int(state["up_convs.0.weight"].shape[0]),
        "n_blocks": _count(state, "body.{}.pa_conv.gate.weight"),
        "n_colors": int(n_colors),
    }
    # x3 has one x3 stage; x2/x4/x8 have 1/2/3 x2 stages: one stage is ambiguous (x2 or x3)
    scale = {2: 4, 3: 8}.get(stages, 0)
    return DetectedCheckpoint("pan", scale, hyper, "srpipe", dict(state))


def _count_from(state: Mapping[str, Any], pattern: str, start: int) -> int:
    i = start
    while pattern.format(i) in state:
        i += 1
    return i - start


#: every recogniser, most specific first (HAN before RCAN: HAN's keys include RCAN's)
DETECTORS = (
    _han,
    _edsr_pytorch_rcan,
    _edsr_pytorch_edsr,
    _rdn,
    _basicsr_rcan,
    _basicsr_edsr,
    _dbpn,
    _srfbn,
    _san,
    _lapsrn,
    _drrn,
    _memnet,
    _vdsr,
    _srcnn_espcn,
    _fsrcnn,
    _pan,
)

#: what the recognisers read, for the one-line error on an unknown state dict
SUPPORTED = (
    "EDSR/RCAN/RDN (EDSR-PyTorch), RCAN and HAN (official), EDSR/RCAN (BasicSR), "
    "D-DBPN (alterzero/DBPN-Pytorch), SRFBN (Paper99/SRFBN_CVPR19), SAN (daitao/SAN), "
    "and srpipe's SRCNN, FSRCNN, ESPCN, VDSR, LapSRN, DRRN, MemNet, PAN state dicts"
)


#: Keys a foreign checkpoint may lack that our freshly built module provides correctly.
OPTIONAL_KEYS = ("sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias")


#: Fixed tables the official DAT code saves in its state dict; srpipe computes them.
DAT_FIXED_BUFFERS = ("rpe_biases", "relative_position_index", "attn_mask_0", "attn_mask_1")


def liif_official(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state dict, hyper) of the LIIF authors' checkpoint ``{"model": {"name", "args", "sd"}}``.

    Only the EDSR-baseline encoder with an MLP decoder (EDSR-baseline-LIIF) is supported;
    the encoder's mean-shift layers, unused by LIIF's forward, are dropped.
    """
    model = obj.get("model") if isinstance(obj, Mapping) else None
    if not isinstance(model, Mapping) or model.get("name") != "liif" or "sd" not in model:
        raise SrpipeError("not a LIIF checkpoint: expected {'model': {'name': 'liif', 'sd': ...}}")
    args = model.get("args") or {}
    encoder = args.get("encoder_spec") or {}
    imnet = args.get("imnet_spec") or {}
    if encoder.get("name") != "edsr-baseline" or imnet.get("name") != "mlp":
        raise SrpipeError(
            f"LIIF with encoder {encoder.get('name')!r} / decoder {imnet.get('name')!r} is not "
            "supported; only EDSR-baseline-LIIF (edsr-baseline + mlp)"
        )
    sd = model["sd"]
    state = {
        k: v for k, v in sd.items() if not k.startswith(("encoder.sub_mean.", "encoder.add_mean."))
    }
    enc_args = encoder.get("args") or {}
    hyper = {
        "n_resblocks": _count(state, "encoder.body.{}.body.0.weight"),
        "n_feats": int(state["encoder.head.0.weight"].shape[0]),
        "res_scale": float(enc_args.get("res_scale", 1.0)),
        "hidden": [int(h) for h in (imnet.get("args") or {}).get("hidden_list", [])],
        "feat_unfold": bool(args.get("feat_unfold", True)),
        "local_ensemble": bool(args.get("local_ensemble", True)),
        "cell_decode": bool(args.get("cell_decode", True)),
        "input_mean": 0.5,  # the official configs' data_norm (not stored in the file)
        "input_std": 0.5,
    }
    return state, hyper


def dat_official(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(state dict, fixed buffers, scale) of an official DAT checkpoint (``{"params": ...}``).

    The fixed buffers (relative position tables, 64x64 shifted-window masks) are returned
    apart so a caller can check them against the ones srpipe computes.
    """
    state = unwrap_state_dict(obj)
    if "conv_first.weight" not in state or "layers.0.blocks.0.attn.qkv.weight" not in state:
        raise SrpipeError("not a DAT checkpoint: no conv_first / layers.0.blocks.0.attn.qkv")
    fixed = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] in DAT_FIXED_BUFFERS}
    state = {k: v for k, v in state.items() if k not in fixed}
    key = "upsample.0.weight"
    if "conv_last.weight" in state:  # EDSR-style tail: scale from its pixel shuffles
        scale = _upsampler_scale(state, "upsample", int(state["upsample.0.weight"].shape[1]))
    else:  # one-step tail: conv to 3 * scale^2 channels
        scale = math.isqrt(int(state[key].shape[0]) // int(state["conv_first.weight"].shape[1]))
    return state, fixed, scale
