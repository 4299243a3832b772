"""The torch networks behind the registered models, one architecture a file.

The model table (:mod:`srpipe.models.zoo`) names them as ``"module:attr"`` strings: it is
imported whenever the plugin manager starts (``srpipe models``, ``srpipe run --help``) and
must not import torch; a network module is imported only when a model is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (what papers report)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
