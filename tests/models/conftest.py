"""Shared helpers for the model tests: parameter counts without allocating big models."""

from __future__ import annotations

import math

import pytest


@pytest.fixture
def meta_params():
    """Count trainable parameters of ``spec.build(scale, **hyper)`` built on the meta device.

    The meta device allocates no memory and runs no initialisation, so the 43M-parameter
    EDSR is counted in milliseconds; the count is the same as on the CPU.
    """
    import torch

    from srpipe.models.networks import count_parameters
    from srpipe.plugins import get_plugin_manager

    def count(name: str, scale: int, **hyper) -> int:
        spec = get_plugin_manager().model(name)
        # import the module outside the meta context: its module-level tensors (e.g. the
        # luma models' colour matrices) must stay on the CPU for later tests
        spec.resolve()
        with torch.device("meta"):
            model = spec.build(scale=scale, **{**spec.defaults, **hyper})
        return count_parameters(model)

    return count


@pytest.fixture
def overfit():
    """Train ``model`` for ``steps`` Adam steps on one generated image; return the PSNR (dB,
    RGB on [0, 1]) of its output before and after.

    The image is smooth gradients plus a few edges (learnable by a tiny network); the LR
    input is its MATLAB-bicubic downscale. ``loss`` names an entry of the loss registry, so
    deeply supervised networks (a list of outputs in training) are trained as their recipe.
    """
    import torch

    from srpipe.image.resize import imresize
    from srpipe.train.losses import build_loss

    def run(model, scale: int, *, steps: int = 50, lr: float = 1e-3, loss: str = "l1", size=24):
        torch.manual_seed(0)
        yy, xx = torch.meshgrid(
            torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij"
        )
        hr = torch.stack([xx, yy, (xx > 0.5).float() * 0.6 + 0.2 * yy]).unsqueeze(0)
        lr_img = imresize(hr, output_size=(size // scale, size // scale))

        def psnr() -> float:
            model.eval()
            with torch.no_grad():
                mse = (model(lr_img).clamp(0, 1) - hr).pow(2).mean().item()
            return 10 * math.log10(1 / mse)

        before = psnr()
        criterion = build_loss(loss)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
        model.train()
        for _ in range(steps):
            optimizer.zero_grad()
            criterion(model(lr_img), hr).backward()
            optimizer.step()
        return before, psnr()

    return run
