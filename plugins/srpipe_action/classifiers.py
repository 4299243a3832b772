"""Video classifiers for the ``action`` task: which exist, how each one wants its clips, loading.

A :class:`ClassifierSpec` is everything the task needs to know about a classifier before it
has weights: how to build the network for N classes, its clip length and frame rate, its
resize / crop / normalisation, the class names its published weights predict, and where its
published weights come from. torchvision's video models (:data:`TORCHVISION_CLASSIFIERS`) are
described from their weight enums (``transforms()`` and ``meta``: no download), so each one
runs with its own recipe; another plugin adds classifiers through the
``action_register_classifiers`` hook (:mod:`srpipe_action.hookspecs`).

:func:`load_classifier` turns a spec and a weights file (a state dict, read with
``torch.load(weights_only=True)``) into a :class:`VideoClassifier`. This module is apart from
the task because it is the one place that imports torch and torchvision for classification.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.plugins import get_plugin_manager
from srpipe.upscaling.upscaler import resolve_device
from srpipe_action.classifier_spec import ClassifierSpec

#: torchvision's video classifiers, in the order ``--help`` lists them
TORCHVISION_CLASSIFIERS = (
    "r3d_18",
    "mc3_18",
    "r2plus1d_18",
    "s3d",
    "mvit_v1_b",
    "mvit_v2_s",
    "swin3d_t",
    "swin3d_s",
    "swin3d_b",
)
#: state-dict key of each torchvision architecture's output layer (its rows are the classes)
_TORCHVISION_HEADS = {
    "r3d_18": "fc.weight",
    "mc3_18": "fc.weight",
    "r2plus1d_18": "fc.weight",
    "s3d": "classifier.1.weight",
    "mvit_v1_b": "head.1.weight",
    "mvit_v2_s": "head.1.weight",
    "swin3d_t": "head.weight",
    "swin3d_s": "head.weight",
    "swin3d_b": "head.weight",
}


def torchvision_spec(name: str) -> ClassifierSpec:
    """The spec of torchvision's ``name`` read from its Kinetics-400 weight enum (no download)."""
    import torchvision.models as tvm

    weights = tvm.get_model_weights(name).DEFAULT
    preset = weights.transforms()
    docs = str(weights.meta.get("_docs", ""))
    # the enum's docs state the evaluation recipe: "frame_rate=15 ... clip_len=16"
    rate = re.search(r"frame_rate=([0-9.]+)", docs)
    length = re.search(r"clip_len=(\d+)", docs)
    if rate is None or length is None:
        raise SrpipeError(f"torchvision's {name} weights do not state frame_rate / clip_len")
    return ClassifierSpec(
        name=name,
        build=lambda n, arch=name: tvm.get_model(arch, weights=None, num_classes=n),
        clip_length=int(length.group(1)),
        frame_rate=float(rate.group(1)),
        resize=tuple(int(v) for v in preset.resize_size),
        crop=(int(preset.crop_size[0]), int(preset.crop_size[1])),
        mean=tuple(float(v) for v in preset.mean),  # type: ignore[arg-type]
        std=tuple(float(v) for v in preset.std),  # type: ignore[arg-type]
        categories=tuple(weights.meta["categories"]),
        head=_TORCHVISION_HEADS[name],
        pretrained=lambda: weights.get_state_dict(progress=False, check_hash=True),
        summary=f"torchvision {name}, Kinetics-400 top-1 "
        f"{weights.meta['_metrics']['Kinetics-400']['acc@1']:.1f}%",
    )


def plugin_specs() -> dict[str, ClassifierSpec]:
    """Classifiers other plugins return from ``action_register_classifiers``, by name."""
    manager = get_plugin_manager()
    # the spec arrives with this plugin's registration (srpipe_add_hookspecs); without the
    # plugin registered (a bare import of this module) no one implements the hook
    caller = getattr(manager.hook, "action_register_classifiers", None)
    if caller is None or caller.spec is None:
        return {}
    specs: dict[str, ClassifierSpec] = {}
    for batch in caller():
        for spec in batch or []:
            specs.setdefault(spec.name, spec)
    return specs


def classifier_names() -> list[str]:
    """Every classifier ``--classifier`` accepts: torchvision's, then the plugins'."""
    return [
        *TORCHVISION_CLASSIFIERS,
        *(n for n in plugin_specs() if n not in TORCHVISION_CLASSIFIERS),
    ]


def find_spec(name: str) -> ClassifierSpec:
    """The spec of ``--classifier NAME``; the error lists what exists."""
    specs = plugin_specs()
    if name in specs:
        return specs[name]
    if name in TORCHVISION_CLASSIFIERS:
        return torchvision_spec(name)
    raise SrpipeError(
        f"unknown classifier {name!r}; use one of {', '.join(classifier_names())} "
        "(a plugin adds others with the action_register_classifiers hook)"
    )


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from ``path`` (``torch.load(weights_only=True)``; refuses code pickles).

    Checkpoints of torchvision's training reference (``{"model": state_dict, ...}``) and
    ``{"state_dict": ...}`` files are unwrapped.
    """
    import torch

    if not path.is_file():
        raise SrpipeError(
            f"weights file not found: {path}; give a state dict saved with torch.save"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SrpipeError(
            f"cannot read {path.name} as a state dict ({first}); save one with "
            "torch.save(model.state_dict(), FILE)"
        ) from None
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise SrpipeError(f"{path.name} is not a state dict; save model.state_dict()")
    return state


class VideoClassifier:
    """A loaded classifier: prepares frames its way and turns clips into class probabilities."""

    def __init__(
        self, spec: ClassifierSpec, module: Any, categories: Sequence[str], device: str
    ) -> None:
        self.spec = spec
        self.module = module
        self.categories = tuple(categories)
        self.device = device

    @property
    def clip_length(self) -> int:
        return self.spec.clip_length

    @property
    def frame_rate(self) -> float:
        return self.spec.frame_rate

    def prepare_frame(self, image: np.ndarray) -> np.ndarray:
        """The frame resized and centre-cropped as the classifier's transform does, uint8.

        The same calls as torchvision's ``VideoClassification`` preset (bilinear, no
        antialias, on uint8), one frame at a time so that a clip is never held at full size.
        """
        import torch
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as tf

        tensor = torch.from_numpy(np.ascontiguousarray(image[..., :3])).permute(2, 0, 1)
        tensor = tf.resize(
            tensor, list(self.spec.resize), InterpolationMode.BILINEAR, antialias=False
        )
        tensor = tf.center_crop(tensor, list(self.spec.crop))
        return tensor.permute(1, 2, 0).contiguous().numpy()

    def classify(self, clips: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
        """Softmax probabilities ``(len(clips), classes)`` of prepared clips (T frames each)."""
        import torch

        batch = torch.from_numpy(np.stack([np.stack(list(c)) for c in clips]))  # N T H W C
        batch = batch.permute(0, 4, 1, 2, 3).float().div_(255.0)  # N C T H W
        mean = torch.tensor(self.spec.mean).view(1, 3, 1, 1, 1)
        std = torch.tensor(self.spec.std).view(1, 3, 1, 1, 1)
        batch = ((batch - mean) / std).to(self.device)
        with torch.inference_mode():
            logits = self.module(batch)
        return torch.softmax(logits.float(), dim=1).cpu().numpy()


def load_classifier(
    name: str,
    weights: str | Path | None = None,
    device: str = "auto",
    labels: Sequence[str] | None = None,
) -> VideoClassifier:
    """Build ``name`` with ``weights`` (a state dict file) or its published weights.

    The class count comes from the weights' output layer; the class names from ``labels``,
    else the spec's own categories when the counts agree, else ``class_<i>``. Without a file
    and without the published weights at hand (offline), one line says what to pass.
    """
    spec = find_spec(name)
    if weights is not None:
        state = read_state_dict(Path(weights))
    elif spec.pretrained is not None:
        try:
            # torch.hub announces a download it may not be able to make: keep errors one line
            with contextlib.redirect_stdout(io.StringIO()):
                state = spec.pretrained()
        except Exception as exc:
            raise SrpipeError(
                f"no weights for classifier {name} ({type(exc).__name__}: offline?); pass "
                f"--weights FILE, a state dict saved from torchvision.models.video.{name} "
                "(or run once online so torchvision caches its Kinetics-400 weights)"
            ) from None
    else:
        raise SrpipeError(f"classifier {name} has no published weights; pass --weights FILE")
    if spec.head not in state:
        raise SrpipeError(
            f"the weights do not fit {name}: no {spec.head!r} (the output layer); was the "
            f"state dict saved from another architecture?"
        )
    classes = int(state[spec.head].shape[0])
    module = spec.build(classes)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise SrpipeError(f"the weights do not fit {name}: {detail}") from None
    device = resolve_device(device)
    module = module.eval().to(device)
    if labels is not None:
        names = list(labels)
    elif len(spec.categories) == classes:
        names = list(spec.categories)
    else:
        names = [f"class_{i}" for i in range(classes)]
    if len(names) != classes:
        raise SrpipeError(
            f"--labels names {len(names)} classes but the weights predict {classes}; give one "
            "name a line, in the order of the weights' outputs"
        )
    return VideoClassifier(spec, module, names, device)


def read_labels(path: str | Path) -> list[str]:
    """Class names from a text file, one a line (UCF's ``classInd.txt`` ``"1 Name"`` works too)."""
    lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    return [re.sub(r"^\d+\s+", "", line) for line in lines]
