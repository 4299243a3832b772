"""The task-driven recipes of ``srpipe train --task``: what each trains, on which losses.

Names follow SR4IR (Kim et al., CVPR 2024), whose table compares them:

``s2t``  ("S->T") SR frozen; the task net is fine-tuned on SR outputs with its own loss.
``t2s``  ("T->S") task net frozen; SR trained with the pixel loss + the raw task loss.
``tdp``  task net frozen; SR trained with the pixel loss + the task-driven perceptual loss
         (distance between the task net's feature maps on SR and on HR).
``sr4ir`` alternating, every iteration: (1) task net frozen, SR trained as ``tdp``; (2) SR
         output detached, task net trained on SR, HR and CQMix images (weights 1/3 each).

CQMix (SR4IR's "cross-quality patch mix") pastes random square patches of the HR image into
the SR image, so the task net learns features that do not depend on which quality a
region has.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Recipe:
    """What a recipe updates and which parts of the task's view it needs."""

    name: str
    needs: frozenset[str]
    trains_sr: bool
    trains_task: bool
    summary: str


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "s2t",
            frozenset({"loss", "trainable"}),
            False,
            True,
            "SR frozen, task net fine-tuned on SR outputs",
        ),
        Recipe("t2s", frozenset({"loss"}), True, False, "task frozen, SR on L1 + task loss"),
        Recipe("tdp", frozenset({"features"}), True, False, "task frozen, SR on L1 + TDP"),
        Recipe(
            "sr4ir",
            frozenset({"features", "loss", "trainable"}),
            True,
            True,
            "alternating: SR on L1 + TDP, task net on SR/HR/CQMix",
        ),
    )
}


def cqmix(
    sr: torch.Tensor,
    hr: torch.Tensor,
    patch: int,
    generator: torch.Generator,
    *,
    rank: int = 0,
    world: int = 1,
) -> torch.Tensor:
    """SR with each ``patch`` x ``patch`` cell replaced by HR with probability 1/2.

    The mask is drawn per image on a grid of ``patch``-pixel cells (the last row/column of
    cells may be partial) from ``generator``, so a resumed run draws the same masks. Under
    DDP every rank draws the masks of the whole global batch and keeps its own
    (``rank::world``: the distributed sampler deals samples to ranks in turn), so N ranks
    mix their images as one process with an N times larger batch would.
    """
    n, _, h, w = sr.shape
    rows, cols = -(-h // patch), -(-w // patch)
    cells = (torch.rand((n * world, 1, rows, cols), generator=generator) < 0.5)[rank::world]
    mask = cells.repeat_interleave(patch, 2).repeat_interleave(patch, 3)[:, :, :h, :w]
    mask = mask.to(sr.device)
    return torch.where(mask, hr, sr)
