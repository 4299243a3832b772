"""The network a run trains: built from the config's architecture and hyper-parameters,
seeded, and optionally started from another checkpoint's matching tensors.

Separate from the loop because a run's network is also what tests, benchmarks and scripts
rebuild on their own (the same seed gives the same initial weights on every rank and in
every tool), without a trainer around it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.models.checkpoint import load_checkpoint, read_checkpoint_metadata
from srpipe.plugins import get_plugin_manager

if TYPE_CHECKING:
    from torch import nn


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def build_model(config: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """The registered architecture with the config's hyper-parameters; returns (model, hyper)."""
    spec = get_plugin_manager().model(config["model"]["arch"])
    scale = int(config["scale"])
    if scale not in spec.scales:
        raise SrpipeError(f"{spec.name} supports scales {spec.scales}, not x{scale}")
    hyper = {
        **spec.defaults,
        **_normalisation_of(config["model"].get("init_from")),
        **(config["model"]["hyper"] or {}),
    }
    try:
        return spec.build(scale=scale, **hyper), hyper
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise _unbuildable(spec.name, config["model"]["hyper"], exc) from None
        unknown = sorted(set(hyper) - set(spec.defaults))
        raise SrpipeError(
            f"model.hyper: {spec.name} has no {', '.join(unknown) or str(exc)}; it takes: "
            f"{', '.join(k for k in spec.defaults if k != 'pretrained')}"
        ) from None
    except (ValueError, RuntimeError) as exc:  # n_feats=-3, a string where a size goes
        raise _unbuildable(spec.name, config["model"]["hyper"], exc) from None


def _unbuildable(name: str, asked: dict[str, Any] | None, exc: Exception) -> SrpipeError:
    """One line for hyper-parameters the builder refuses, naming the config key."""
    reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    return SrpipeError(f"model.hyper {asked or {}} cannot build {name}: {reason}")


#: hyper-parameters that fix how a network scales its input, not its shape: a model that
#: starts from a checkpoint must keep the checkpoint's, or its copied weights see inputs on
#: another scale (srpipe's edsr uses LIIF's encoder with rgb_range 2 and mean 0.5)
_NORMALISATION = ("rgb_range", "rgb_mean")


def _normalisation_of(path: str | Path | None) -> dict[str, Any]:
    """The input-normalisation hyper-parameters stored in an ``init_from`` checkpoint."""
    if not path:
        return {}
    meta = read_checkpoint_metadata(path) if Path(path).is_file() else None
    hyper = (meta or {}).get("hyper") or {}
    return {k: hyper[k] for k in _NORMALISATION if k in hyper}


def init_weights_from(model: nn.Module, path: str | Path) -> tuple[int, int]:
    """Copy every tensor of the checkpoint at ``path`` whose name and shape match.

    This is how x3/x4 start from the x2 model: everything but the upsampler transfers.
    Returns (copied, total tensors in the model).
    """

    source, _ = load_checkpoint(path)
    theirs = source.state_dict()
    mine = model.state_dict()
    copied = {k: v for k, v in theirs.items() if k in mine and mine[k].shape == v.shape}
    if not copied:
        raise SrpipeError(f"init_from {path}: no tensor matches this model's names and shapes")
    mine.update(copied)
    model.load_state_dict(mine)
    return len(copied), len(mine)
