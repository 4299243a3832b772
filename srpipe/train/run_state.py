"""What a run folder keeps so that a run resumes exactly: ``state.pt`` and the logs.

``state.pt`` holds tensors and plain values only (the model, optimizer, EMA, schedule,
random states, iteration and elapsed time) and is read back with ``weights_only=True``, so
a planted pickle is refused with one line instead of running. The CSV logs are appended and
synced row by row, and cut back to the checkpoint's iteration on resume. Separate from the
loop (:mod:`srpipe.train.trainer`) because it is the part that must stay readable across
srpipe versions and safe against files srpipe did not write.
"""

from __future__ import annotations

import csv
import os
import pickle
import random
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    import torch

#: the resume file in a run folder
STATE_FILE = "state.pt"


def rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's (CPU and CUDA) random states, as state.pt stores them."""
    import torch

    # Only tensors, numbers, strings and containers: state.pt must load with
    # torch.load(weights_only=True), which builds no other object and runs no code.
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (numpy's old tuple form too)."""
    import torch

    random.setstate(state["python"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        keys = numpy_state["keys"].numpy().astype(np.uint32)
        numpy_state = (
            numpy_state["name"],
            keys,
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a ``state.pt`` without running code from it (one-line errors otherwise).

    ``weights_only=True`` lets the unpickler build tensors and plain containers only; a
    file that asks for any other object (what a planted payload needs) is refused. The
    allow-list admits the numpy RNG state that runs of older srpipe versions stored.
    """

    import torch

    allowed = _legacy_numpy_globals()
    if Path(path).is_dir():
        raise SrpipeError(
            f"--resume: {path} is a folder, not a training state; remove or rename it, or "
            "start without --resume"
        )
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(allowed):
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        hint = next((ln for ln in str(exc).splitlines() if "GLOBAL" in ln), "").strip()
        raise SrpipeError(
            f"--resume: refusing {path}: it asks to build objects srpipe never saves "
            f"({hint[:100] or 'unsafe pickle'}); it was not written by srpipe train, or was "
            "tampered with: delete it and start the run again"
        ) from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0].split(". ")[0][:100] if str(exc).strip() else ""
        raise SrpipeError(
            f"--resume: {path} is unreadable ({reason or type(exc).__name__}), probably "
            "truncated; delete it and start again (last.safetensors / best.safetensors hold "
            "the latest weights: model.init_from can start from them)"
        ) from None
    needed = {"model", "optimizer", "iteration", "elapsed_s", "rng"}
    if not isinstance(state, dict) or not needed <= set(state):
        raise SrpipeError(
            f"--resume: {path} is not an srpipe training state (missing "
            f"{', '.join(sorted(needed - set(state) if isinstance(state, dict) else needed))})"
            "; delete it and start again"
        )
    return state


def _legacy_numpy_globals() -> list[Any]:
    # numpy's own documented-safe array rebuild (what torch's docs name for this case);
    # imported here: numpy._core is numpy 2's private layout, needed only for old checkpoints
    from numpy._core.multiarray import _reconstruct  # noqa: PLC0415

    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def first_mismatch(message: str) -> str:
    """The first mismatched tensor of torch's load_state_dict error (it lists dozens)."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    detail = next((ln for ln in lines[1:] if "size mismatch" in ln or "Missing" in ln), "")
    detail = detail or (lines[0] if lines else "")
    return detail.rstrip(".")[:140]


def append_csv(path: Path, header: list[str], row: list[Any]) -> None:
    """Append ``row`` to a log (``header`` first in a new file), synced: a kill keeps it whole."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        w = csv.writer(handle)
        if new:
            w.writerow(header)
        w.writerow(row)
        handle.flush()
        os.fsync(handle.fileno())


def truncate_log(path: Path, iteration: int) -> None:
    """Drop a log's rows after ``iteration``: a run killed after its last checkpoint logged
    rows that the resumed run logs again."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(float(r[0])) <= iteration]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)
