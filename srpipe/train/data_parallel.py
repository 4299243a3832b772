"""Data-parallel training over ``torchrun`` ranks: each rank's device, DDP, and DDP by hand.

The ranks, their process group and their agreement (stop, NaN, mean loss) are
:class:`srpipe.distributed.Workers`, the one torchrun helper of eval, run, upscale and
train. What is here only training needs: the device a rank trains on, the SR network
wrapped in ``DistributedDataParallel``, and the same gradient averaging and buffer sharing
done by hand for a task net that runs inside its owner's loss and so cannot be wrapped.
Kept apart from the trainer so that the loop reads the same with one rank or many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srpipe.distributed import Workers
from srpipe.upscaling.upscaler import resolve_device

if TYPE_CHECKING:
    import torch
    from torch import nn


def training_device(ranks: Workers, preference: str) -> torch.device:
    """The device this rank trains on: srpipe's resolver, a bare ``cuda`` made an index.

    Under torchrun ``auto`` / ``cuda`` become the local rank's GPU
    (:meth:`~srpipe.distributed.Workers.device`); one process on ``cuda`` trains on GPU 0.
    """
    import torch

    device = torch.device(resolve_device(ranks.device(preference)))
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", ranks.local_rank)
    return device


def wrap(model: nn.Module, ranks: Workers, device: torch.device) -> nn.Module:
    """``model`` in DDP when there are several ranks (it averages the gradients), else itself."""
    if not ranks.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    group = ranks.tensor_group(str(device))
    return DistributedDataParallel(model, device_ids=ids, process_group=group)


def average_gradients(
    ranks: Workers, params: list[torch.nn.Parameter], device: torch.device
) -> None:
    """Average the gradients of ``params`` over ranks, as DDP does for a wrapped module.

    For a module that cannot be wrapped in DDP because its owner runs its forward (a task
    plugin's net inside its own loss). A parameter that got no gradient on this rank but
    did on another takes part with zeros, so every rank issues the same collective and ends
    with the same gradient; one with no gradient on any rank keeps ``None`` (the optimizer
    skips it, as it would in a single process). One flat all-reduce, not one per tensor.
    """
    if not ranks.distributed or not params:
        return
    import torch
    import torch.distributed as dist

    group = ranks.tensor_group(str(device))
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.uint8, device=device)
    dist.all_reduce(has, op=dist.ReduceOp.MAX, group=group)
    used = [p for p, flag in zip(params, has.tolist()) if flag]
    for p in used:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not used:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in used])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
    flat /= ranks.world_size
    offset = 0
    for p in used:
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def broadcast_buffers(ranks: Workers, module: nn.Module, device: torch.device) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), as DDP does."""
    if not ranks.distributed:
        return
    import torch.distributed as dist

    group = ranks.tensor_group(str(device))
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0, group=group)
