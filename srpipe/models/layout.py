"""Memory layout of a network's weights.

channels_last (NHWC) makes convolutions faster on CPUs with AVX-512 and on tensor-core GPUs,
but ``module.to(memory_format=torch.channels_last)`` raises on any parameter that is not 4-D:
HAN's layer-attention module holds a ``Conv3d`` (a 5-D weight). Converting the 4-D tensors
only gives every network the fast layout where it applies and leaves the rest as it was.
"""

from __future__ import annotations

import torch
from torch import nn


def to_channels_last(module: nn.Module) -> nn.Module:
    """Put every 4-D parameter and buffer of ``module`` in channels_last, in place."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.dim() == 4:
            tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
    return module
