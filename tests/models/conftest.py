"""Shared helpers for the model tests: parameter counts without allocating big models."""

from __future__ import annotations

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
        with torch.device("meta"):
            model = spec.build(scale=scale, **{**spec.defaults, **hyper})
        return count_parameters(model)

    return count
