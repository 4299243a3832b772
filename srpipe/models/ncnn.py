"""Read ncnn models (``.param`` text + ``.bin`` weights) into numpy arrays.

Only what SR networks of the ncnn zoo use: ``Input``, ``Convolution`` (with its fused
activation), ``ReLU``, ``PixelShuffle`` and, for RRDBNet graphs, the weightless ``Split``,
``Concat``, ``Eltwise`` (scaled sums), ``BinaryOp`` and ``Interp`` (resizing). The format
(ncnn wiki, "param and model file structure"):

* ``.param``: the magic ``7767517``; ``layer_count blob_count``; then one layer a line:
  ``type name n_inputs n_outputs inputs... outputs... key=value...``. Convolution keys:
  0 = num_output, 1 = kernel, 2 = dilation, 3 = stride, 4 = pad, 5 = bias_term,
  6 = weight_data_size, 9 = activation_type (1 = ReLU, 2 = LeakyReLU, slope in the array
  parameter -23310 = "1,slope"). PixelShuffle: 0 = upscale factor. Eltwise: 0 = operation
  (1 = sum), -23301 = "n,coefficient..."; Interp: 0 = resize type (1 = nearest), 1 and 2 =
  height and width scale.
* ``.bin``: for each layer with weights, in order: the weights, preceded by a 4-byte tag
  (``0x01306B47`` = fp16, padded to 4 bytes; ``0`` = fp32), in (out, in, kh, kw) order;
  then the bias as raw fp32 (no tag).

No torch here; :mod:`srpipe.models.networks.srmd` turns the layers into a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError

MAGIC = 7767517
_TAG_FP16 = 0x01306B47
_TAG_FP32 = 0
#: layer types that hold no weights in the ``.bin`` (the graph's wiring and pointwise ops)
WEIGHTLESS = frozenset(
    {"Input", "ReLU", "PixelShuffle", "Split", "Concat", "Eltwise", "BinaryOp", "Interp"}
)


@dataclass
class NcnnLayer:
    """One layer of an ncnn graph, with its weights once the ``.bin`` is read."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, str]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def param(self, key: int, default: int = 0) -> int:
        """An integer parameter (ncnn's defaults apply when a key is absent)."""
        return int(self.params.get(key, default))


def parse_param(path: Path) -> list[NcnnLayer]:
    """The layers of an ncnn ``.param`` file, in file order."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise SrpipeError(f"cannot read ncnn param {path}: {exc.strerror or exc}") from None
    if not lines or lines[0] != [str(MAGIC)]:
        raise SrpipeError(f"{path.name} is not an ncnn param file (magic {MAGIC} missing)")
    layers = []
    for fields in lines[2:]:
        kind, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        blobs = fields[4 : 4 + n_in + n_out]
        params = {}
        for item in fields[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            params[int(key)] = value
        layers.append(NcnnLayer(kind, name, blobs[:n_in], blobs[n_in:], params))
    return layers


def _read_weights(blob: bytes, offset: int, count: int, path: Path) -> tuple[np.ndarray, int]:
    (tag,) = np.frombuffer(blob, dtype="<u4", count=1, offset=offset)
    offset += 4
    if tag == _TAG_FP16:
        data = np.frombuffer(blob, dtype="<f2", count=count, offset=offset).astype(np.float32)
        offset += (count * 2 + 3) // 4 * 4  # fp16 arrays are padded to 4 bytes
    elif tag == _TAG_FP32:
        data = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).copy()
        offset += count * 4
    else:
        raise SrpipeError(f"{path.name}: unsupported ncnn weight storage tag {tag:#x}")
    return data, offset


def load_ncnn(param_path: Path, bin_path: Path) -> list[NcnnLayer]:
    """Parse ``param_path`` and attach each Convolution's weight and bias from ``bin_path``."""
    layers = parse_param(param_path)
    try:
        blob = bin_path.read_bytes()
    except OSError as exc:
        raise SrpipeError(f"cannot read ncnn weights {bin_path}: {exc.strerror or exc}") from None
    offset = 0
    try:
        for layer in layers:
            if layer.type == "Convolution":
                out_ch, kernel = layer.param(0), layer.param(1)
                size = layer.param(6)
                in_ch = size // (out_ch * kernel * kernel)
                if in_ch * out_ch * kernel * kernel != size:
                    raise SrpipeError(f"{param_path.name}: {layer.name} has an odd weight size")
                weight, offset = _read_weights(blob, offset, size, bin_path)
                layer.weight = weight.reshape(out_ch, in_ch, kernel, kernel)
                if layer.param(5):
                    layer.bias = np.frombuffer(blob, "<f4", count=out_ch, offset=offset).copy()
                    offset += out_ch * 4
            elif layer.type not in WEIGHTLESS:
                raise SrpipeError(f"{param_path.name}: ncnn layer type {layer.type} not supported")
    except ValueError:  # numpy: buffer smaller than requested
        raise SrpipeError(f"{bin_path.name} is truncated; reinstall the package") from None
    if offset != len(blob):
        raise SrpipeError(
            f"{bin_path.name}: {len(blob) - offset} bytes left after the last layer; "
            "the .param and .bin do not match"
        )
    return layers
