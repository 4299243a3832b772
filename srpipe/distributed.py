"""The one ``torchrun`` helper: ``eval``, ``run``, ``upscale`` and ``train`` over ranks.

``torchrun --nproc_per_node N -m srpipe eval ...`` (or ``--nnodes``/``--rdzv-*`` for several
machines) starts N copies of the command with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``
set. :func:`workers` joins them into one process group (NCCL where the ranks compute on
GPUs, gloo on CPU-only workers; objects always travel through a gloo group, as they are
Python data on the CPU). Each rank then works on its share of the items
(:func:`assign`; one video's frames: :func:`frame_ranges`), on its own device
(``cuda:LOCAL_RANK``, else the CPU), and :meth:`Workers.gather` brings the per-item
results to rank 0, which alone computes metrics and bootstraps and writes the outputs.
A plain ``srpipe eval`` is a world of one and never touches ``torch.distributed``.

Training (``torchrun -m srpipe train``) joins the same group through the same
:func:`workers`: every rank trains (DDP, :mod:`srpipe.train.data_parallel`), and the ranks
agree on when to stop with :meth:`Workers.any_rank` and log the mean loss with
:meth:`Workers.mean`. The group lives as long as the process; the ``srpipe`` program ends
the process once its outputs are closed (:func:`srpipe.cli.entry`).

Failures: every rank reports whether its share succeeded before anything is gathered
(:meth:`Workers.check`); if one failed, every rank raises :class:`RankFailed` with the
same line naming the failing rank and item, rank 0 writes no report, and the job exits
non-zero. A rank that dies outright (killed, out of memory) is caught by torchrun, which
stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from srpipe.errors import SrpipeError


class RankFailed(SrpipeError):
    """One rank failed; raised on every rank so the whole job stops with one message.

    ``here`` is True on the rank that failed: the CLI prints the line there only, so a
    job's log holds it once.
    """

    def __init__(self, message: str, *, here: bool) -> None:
        super().__init__(message)
        self.here = here


@dataclass
class Workers:
    """This process's place in the job: rank, world size, and how to talk to the others."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    #: a gloo group for Python objects (None: the default group already is gloo)
    _objects: Any = field(default=None, repr=False)

    @property
    def distributed(self) -> bool:
        """True under torchrun with more than one rank."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that computes metrics and writes reports."""
        return self.rank == 0

    def device(self, requested: str) -> str:
        """The device this rank computes on: ``auto``/``cuda`` become ``cuda:LOCAL_RANK``.

        A single process keeps ``requested`` as it is (the Upscaler resolves it).
        """
        if not self.distributed or requested not in ("auto", "cuda"):
            return requested
        import torch

        if torch.cuda.is_available():
            return f"cuda:{self.local_rank % max(torch.cuda.device_count(), 1)}"
        if requested == "cuda":
            raise SrpipeError(f"rank {self.rank}: --device cuda but CUDA is not available")
        return "cpu"

    def check(self, error: str | None) -> None:
        """Every rank says whether its share went well; raise :class:`RankFailed` if not.

        ``error`` is this rank's one-line failure (None: fine). Collective: every rank
        must call it at the same point.
        """
        if not self.distributed:
            if error is not None:
                raise SrpipeError(error)
            return
        import torch.distributed as dist

        statuses: list[Any] = [None] * self.world_size
        dist.all_gather_object(statuses, error, group=self._objects)
        for rank, status in enumerate(statuses):
            if status is not None:
                raise RankFailed(f"rank {rank} failed: {status}", here=rank == self.rank)

    def run_share(
        self,
        work: Callable[[], Any],
        where: Callable[[], str],
        on_failure: Callable[[], None] | None = None,
    ) -> Any:
        """``work()`` on this rank's share, then :meth:`check` with its failure, if any.

        The one guarded share every sharded pipeline (eval, run, upscale) goes through.
        ``where()`` names what the rank was working on when it failed (e.g. ``image
        'a.png'``). ``on_failure()`` runs on every rank when any rank failed, before the
        error is raised (a rank's partial output is removed there). A single process just
        runs ``work`` and lets errors through (``on_failure`` included).
        """
        try:
            if not self.distributed:
                return work()
            result, error = None, None
            try:
                result = work()
            except Exception as exc:
                error = f"{where()}: {one_line(exc)}"
            self.check(error)
            return result
        except SrpipeError:
            if on_failure is not None:
                on_failure()
            raise

    def gather(self, payload: Any) -> list[Any] | None:
        """Every rank's ``payload``, in rank order, on rank 0 (None on the others)."""
        if not self.distributed:
            return [payload]
        import torch.distributed as dist

        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(payload, out, dst=0, group=self._objects)
        return out

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0, group=self._objects)
        return box[0]

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.distributed:
            import torch.distributed as dist

            dist.barrier(group=self._objects)

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (a stop signal, a NaN loss).

        Collective; a small CPU tensor through the gloo group, whatever the ranks compute on.
        """
        if not self.distributed:
            return bool(flag)
        import torch
        import torch.distributed as dist

        box = torch.tensor([1 if flag else 0], dtype=torch.int32)
        dist.all_reduce(box, op=dist.ReduceOp.MAX, group=self._objects)
        return bool(box.item())

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks (a loss for the log). Collective."""
        if not self.distributed:
            return float(value)
        import torch
        import torch.distributed as dist

        box = torch.tensor([float(value)], dtype=torch.float64)
        dist.all_reduce(box, op=dist.ReduceOp.SUM, group=self._objects)
        return float(box.item()) / self.world_size

    def tensor_group(self, device: str) -> Any:
        """The process group that carries tensors on ``device`` (None: the default group).

        The default group is NCCL when the machine has GPUs, and NCCL moves CUDA tensors
        only; tensors of a job that computes on the CPU there (``--device cpu``) go through
        the gloo group. Training hands this to DDP and to its own gradient averaging.
        """
        return None if str(device).startswith("cuda") else self._objects


_WORKERS: Workers | None = None


def workers() -> Workers:
    """This process's :class:`Workers`, joining the torchrun process group on first use.

    Without torchrun's ``WORLD_SIZE`` (or with a world of one) nothing is initialised.
    """
    global _WORKERS
    if _WORKERS is not None:
        return _WORKERS
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world <= 1:
        _WORKERS = Workers()
        return _WORKERS
    import torch
    import torch.distributed as dist

    objects = None
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local % torch.cuda.device_count())
            dist.init_process_group(backend="nccl")
            # NCCL moves tensors between GPUs; pickled Python objects go through gloo
            objects = dist.new_group(backend="gloo")
        else:
            dist.init_process_group(backend="gloo")
    elif dist.get_backend() != "gloo":
        objects = dist.new_group(backend="gloo")
    _WORKERS = Workers(rank, world, local, objects)
    return _WORKERS


def assign(costs: Sequence[float], world_size: int) -> list[list[int]]:
    """Units (indices into ``costs``) per rank: greedy, each unit to the least-loaded rank.

    Deterministic (ties go to the lower rank), so every rank computes the same plan
    without talking; each rank's units stay in increasing order, so a rank works through
    its share in the order a single process would.
    """
    loads = [0.0] * world_size
    shares: list[list[int]] = [[] for _ in range(world_size)]
    for unit, cost in enumerate(costs):
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        shares[rank].append(unit)
        loads[rank] += float(cost)
    return shares


@dataclass(frozen=True)
class FrameRange:
    """One rank's frames of a video, as positions in the selected frames.

    The rank decodes from ``context`` on, records ``start`` to ``stop`` (exclusive), and
    only predicts the frames before ``start`` (what a temporal task must have seen).
    """

    context: int
    start: int
    stop: int


def frame_ranges(count: int, batch_size: int, world_size: int, context: int) -> list[FrameRange]:
    """Consecutive whole batches of ``count`` frames per rank, each with ``context`` frames
    (rounded up to whole batches) before it.

    Ranges start on the batch boundaries a single process has, so every rank upscales and
    predicts the batches one process would (same numbers); context batches are those same
    batches too. Rank 0 gets frames whenever there are any (it stitches the parts).
    """
    batches = -(-count // batch_size)
    bounds = [-(-rank * batches // world_size) for rank in range(world_size + 1)]
    warm = -(-max(context, 0) // batch_size)
    ranges = []
    for rank in range(world_size):
        first, last = bounds[rank], bounds[rank + 1]
        start, stop = min(first * batch_size, count), min(last * batch_size, count)
        context_start = max(first - warm, 0) * batch_size if stop > start else start
        ranges.append(FrameRange(context_start, start, stop))
    return ranges


def one_line(exc: BaseException) -> str:
    """An exception as one line (srpipe's own errors are already written for users)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, SrpipeError) else f"{type(exc).__name__}: {first}".rstrip(": ")


def describe_items(ids: Sequence[str]) -> str:
    """``item 'a'`` or ``items 'a'..'h'`` for a failure line."""
    if len(ids) == 1:
        return f"item {ids[0]!r}"
    return f"items {ids[0]!r}..{ids[-1]!r}"
