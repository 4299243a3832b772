"""For inference: a pixel shuffle followed by a 3x3 convolution, computed the other way round.

EDSR, RCAN and the other sub-pixel networks end ``... conv -> PixelShuffle(r) -> conv3x3(n_feats,
3)``. On a CPU the shuffle of the widest tensor of the network is a pure memory reorder (EDSR x4
on a 320x180 frame: 118 MB in bf16, about 45 ms a frame on these machines) and the last
convolution, with 3 output channels at the output size, keeps the vector units idle; measured,
the two take about 13% of a bf16 frame.

A 3x3 convolution on the shuffled map is a convolution on the map *before* the shuffle, whose
``r*r*3`` output channels are the ``r x r`` output phases; each phase reads a 3x3 neighbourhood
of the unshuffled map (output row ``r*y + p`` with kernel row ``d`` reads shuffled row
``r*y + p + d - 1``, which is unshuffled row ``y + a`` at phase ``i`` for ``(a, i) = divmod(p + d -
1, r)``, with ``a`` in -1..1). The zero padding agrees too: a shuffled row outside the image is an
unshuffled row outside it. So ``conv(shuffle(x))`` equals ``shuffle(conv'(x))`` with the kernel
rearranged by :func:`fold_kernel`: the same function up to the order of the sums (more
multiplications, r*r times those of the small last conv, in a shape the CPU runs well; only
the small 3-channel result is shuffled).

Used where the Upscaler runs bf16 (whose output is already allowed one uint8 level from fp32,
and is re-measured with the fold by ``benchmarks/bench_run.py exactness``); fp32 runs keep the
network as written, so fp32 outputs stay bit-identical to the reference. Never in training:
the folded kernel is derived from the weights, not a weight of its own.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def fold_kernel(
    weight: torch.Tensor, bias: torch.Tensor | None, r: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The (out*r*r, in*r*r, 3, 3) kernel and bias that compute a 3x3 ``weight`` (out, in, 3, 3)
    applied after ``PixelShuffle(r)``, applied before it; its output is then pixel-shuffled."""
    out_ch, in_ch = weight.shape[:2]
    folded = weight.new_zeros(out_ch, r, r, in_ch, r, r, 3, 3)
    for p in range(r):  # output row phase
        for q in range(r):  # output column phase
            for dy in range(3):
                a, i = divmod(p + dy - 1, r)
                for dx in range(3):
                    b, j = divmod(q + dx - 1, r)
                    folded[:, p, q, :, i, j, a + 1, b + 1] += weight[:, :, dy, dx]
    # PixelShuffle reads channel c*r*r + i*r + j as phase (i, j) of channel c: the same order
    folded = folded.reshape(out_ch * r * r, in_ch * r * r, 3, 3)
    return folded, None if bias is None else bias.repeat_interleave(r * r)


class ShuffleFoldedConv(nn.Module):
    """``conv(PixelShuffle(r)(x))`` computed as ``PixelShuffle(r)(folded_conv(x))``."""

    def __init__(self, conv: nn.Conv2d, r: int) -> None:
        super().__init__()
        self.r = r
        with torch.no_grad():
            weight, bias = fold_kernel(conv.weight.detach(), _bias(conv), r)
        # buffers, not parameters: derived from the original weights, never trained
        self.register_buffer("weight", weight.contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, padding=1), self.r)


def _bias(conv: nn.Conv2d) -> torch.Tensor | None:
    return None if conv.bias is None else conv.bias.detach()


#: fold only convolutions with at most this many outputs (the image's channels): the fold
#: multiplies a convolution's arithmetic by r*r, which pays only for the small last one (an
#: upsampling stage's 64 -> 256 convolution would cost 4x more folded)
MAX_FOLDED_OUTPUTS = 4


def _foldable(conv: nn.Module) -> bool:
    """A plain 3x3 convolution with zero padding 1 and few outputs (a sub-pixel tail's last)."""
    return (
        type(conv) is nn.Conv2d
        and conv.out_channels <= MAX_FOLDED_OUTPUTS
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def _plain_sequential(module: nn.Module) -> bool:
    """A Sequential that runs its steps in order (a subclass with its own ``forward`` may not)."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _ends_with_shuffle(module: nn.Module) -> tuple[nn.Sequential, int] | None:
    """Where ``module``'s last step is a PixelShuffle: (the Sequential holding it, its index)."""
    if isinstance(module, nn.PixelShuffle):
        return None  # handled by the caller, which holds it
    if _plain_sequential(module) and len(module):
        last = module[len(module) - 1]
        if isinstance(last, nn.PixelShuffle):
            return module, len(module) - 1
        return _ends_with_shuffle(last)
    return None


def fold_shuffles(module: nn.Module) -> int:
    """Replace, in place, each PixelShuffle directly followed by a foldable 3x3 convolution in a
    Sequential (the shuffle may end a nested Sequential, as EDSR's Upsampler does) with a
    :class:`ShuffleFoldedConv`; the number of folds made."""
    folds = 0
    for child in list(module.children()):
        folds += fold_shuffles(child)
    if not _plain_sequential(module):
        return folds
    for index in range(len(module) - 1):
        step, conv = module[index], module[index + 1]
        if not _foldable(conv):
            continue
        if isinstance(step, nn.PixelShuffle):
            holder, position, r = module, index, step.upscale_factor
        else:
            found = _ends_with_shuffle(step)
            if found is None:
                continue
            holder, position = found
            r = holder[position].upscale_factor
        holder[position] = nn.Identity()
        module[index + 1] = ShuffleFoldedConv(conv, r)
        folds += 1
    return folds


def folded_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with its shuffles folded, or ``module`` itself when none fold (the
    module handed in is never changed: it may still be trained)."""
    folded = copy.deepcopy(module)
    return folded if fold_shuffles(folded) else module
