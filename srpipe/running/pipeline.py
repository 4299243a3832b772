"""The one overlapped pipeline of ``srpipe run``: decode -> [prepare (SR)] -> process -> write.

Every input a run reads goes through it, whatever the task: a video or any frame source
(:mod:`~srpipe.running.frame_stream`) and a folder of images
(:mod:`~srpipe.running.image_batches`)::

    from srpipe.running.pipeline import run_pipeline

    stats = run_pipeline(
        source,          # iterable of frames (or of batches, with batched=True)
        process_batch,   # list[frame] -> list[np.ndarray | None], called in THIS thread
        writer,          # .write(rgb[, timestamp]) or .write_frame(frame, rgb); .close(), .abort()
        batch_size=4,
        progress_desc="detect",
    )

* ``process_batch`` gets up to ``batch_size`` consecutive frames and returns one output
  RGB ``uint8`` image per frame, in order (SR + task + draw); ``None`` skips that frame.
  It runs in the calling thread, so the task, CUDA and Ctrl-C behave as in a plain loop;
  the decode and write threads beside it keep the cores busy between batches.
* A decoder thread reads frames ahead and a writer thread writes outputs behind, through
  queues of ``queue_size`` batches each, so at most ``(2 * queue_size + 3) * batch_size``
  frames are alive at once however long the input is (``stats.max_frames_in_flight``).
* ``prepare_batch`` (optional) runs on a thread of its own between decode and
  ``process_batch``, which then gets what it returned for each batch: SR of batch k+1 runs
  while the task predicts batch k, each stage on its share of the cores
  (:func:`srpipe.upscaling.hardware.stage_threads`). On a few cores that beats both stages
  taking every core in turn: a small frame's convolutions split across threads wait at
  every layer for the slowest thread, and on a shared machine that thread is often
  descheduled. One more queue: at most ``(3 * queue_size + 4) * batch_size`` frames alive.
* ``batched=True``: ``source`` yields whole batches (lists), which are processed as they
  come (a folder shared out under torchrun keeps the batches one process would make).
* A writer with ``write_frame(frame, image)`` is given the frame too (an image folder writes
  each frame to its own file); otherwise ``write(image)``, with the frame's timestamp when
  ``write`` accepts one.
* The pipeline **closes** the writer when every frame is written. On any error it
  **aborts** the writer (a video writer keeps a playable ``NAME.partial.EXT``) and
  re-raises. On Ctrl-C it writes the batches already processed, aborts the writer, prints
  how far it got, and raises :class:`RunInterrupted` (a ``KeyboardInterrupt`` carrying the
  stats).
* A tqdm bar (frames written, frames/s, ETA) goes to stderr unless ``progress=False``.
* Returns :class:`PipelineStats`; ``stats.to_dict()["seconds"]`` holds the time of the
  pipeline's own stages (``decode``, ``encode``); ``process_seconds`` is the total time
  spent in ``process_batch`` (callers usually time its parts themselves).
"""

from __future__ import annotations

import inspect
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

_END = object()  # end-of-stream marker in a queue
_POLL_S = 0.1  # how often a blocked thread checks whether the pipeline is stopping


@dataclass
class PipelineStats:
    """How a pipeline run went: counts, times, bounds and what was written."""

    frames_total: int | None
    frames_read: int = 0
    frames_processed: int = 0
    frames_written: int = 0
    wall_seconds: float = 0.0
    fps: float = 0.0
    process_seconds: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    batch_size: int = 0
    queue_size: int = 0
    max_frames_in_flight: int = 0
    frame_bound: int = 0
    interrupted: bool = False
    output: str | None = None
    partial: bool = False
    audio: str | None = None
    last_timestamp: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-able)."""
        return asdict(self)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a pipeline; ``stats`` says how far it got and where the partial is."""

    def __init__(self, stats: PipelineStats) -> None:
        super().__init__(interruption_message(stats))
        self.stats = stats


def interruption_message(stats: PipelineStats) -> str:
    """One line: frames written of total, video time reached, the partial file."""
    total = f" of {stats.frames_total}" if stats.frames_total else ""
    reached = (
        f" (up to {stats.last_timestamp:.2f} s of the source)"
        if stats.last_timestamp is not None
        else ""
    )
    where = (
        f"; playable partial output: {stats.output}" if stats.output else "; no output was written"
    )
    return f"interrupted after {stats.frames_written}{total} frames{reached}{where}"


class _Tracker:
    """Thread-safe frame accounting: how many frames are alive between decode and encode."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.alive = 0
        self.max_alive = 0

    def add(self, count: int) -> None:
        with self.lock:
            self.alive += count
            self.max_alive = max(self.max_alive, self.alive)

    def remove(self, count: int) -> None:
        with self.lock:
            self.alive -= count


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Blocking put that gives up when the pipeline stops; False if it gave up."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event | None = None) -> Any:
    """Blocking get; returns ``_END`` if ``stop`` is set while waiting."""
    while True:
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            if stop is not None and stop.is_set():
                return _END


class _Failure:
    """An exception raised in a worker thread, carried to the main thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def run_pipeline(
    source: Iterable[Any],
    process_batch: Callable[[list[Any]], list[np.ndarray | None]],
    writer: Any,
    batch_size: int = 4,
    progress_desc: str = "run",
    *,
    queue_size: int = 2,
    progress: bool = True,
    batched: bool = False,
    prepare_batch: Callable[[list[Any]], Any] | None = None,
) -> PipelineStats:
    """Decode, [prepare,] process and encode ``source``, the stages overlapped (module doc)."""

    if batch_size < 1 or queue_size < 1:
        raise ValueError("batch_size and queue_size must be at least 1")
    total = getattr(source, "frame_count", None)
    stats = PipelineStats(
        frames_total=total,
        batch_size=batch_size,
        queue_size=queue_size,
        frame_bound=((3 if prepare_batch else 2) * queue_size + (4 if prepare_batch else 3))
        * batch_size,
        seconds={"decode": 0.0, "encode": 0.0},
    )
    decoded: queue.Queue = queue.Queue(maxsize=queue_size)
    # what the main thread reads: the decoder's batches, or the prepare stage's results
    ready: queue.Queue = queue.Queue(maxsize=queue_size) if prepare_batch else decoded
    processed: queue.Queue = queue.Queue(maxsize=queue_size)
    stop = threading.Event()
    hurry = threading.Event()  # a second Ctrl-C: stop writing the queued batches too
    tracker = _Tracker()
    encode_error: list[BaseException] = []
    write = _writer_call(writer)
    bar = tqdm(total=total, desc=progress_desc, unit="frame", disable=not progress, smoothing=0.1)

    def batches(iterator: Any) -> Iterator[list[Any]]:
        # the source's batches as they come, or its frames grouped batch_size at a time;
        # each frame is counted alive as soon as it is decoded
        if batched:
            for batch in iterator:
                tracker.add(len(batch))
                stats.frames_read += len(batch)
                yield list(batch)
            return
        batch: list[Any] = []
        for frame in iterator:
            tracker.add(1)
            stats.frames_read += 1
            batch.append(frame)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def decode() -> None:
        iterator = iter(source)
        try:
            pending = batches(iterator)
            while not stop.is_set():
                started = time.perf_counter()
                batch = next(pending, _END)
                stats.seconds["decode"] += time.perf_counter() - started
                if batch is _END:
                    break
                if not _put(decoded, batch, stop):
                    return
            _put(decoded, _END, stop)
        except BaseException as exc:  # reaches the main thread, which re-raises it
            _put(decoded, _Failure(exc), stop)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # releases the decoder's file even when stopped early

    def prepare() -> None:
        assert prepare_batch is not None
        try:
            while True:
                item = _get(decoded, stop)
                if item is _END or isinstance(item, _Failure):
                    _put(ready, item, stop)
                    return
                if not _put(ready, (item, prepare_batch(item)), stop):
                    return
        except BaseException as exc:  # reaches the main thread, which re-raises it
            _put(ready, _Failure(exc), stop)

    def encode() -> None:
        # Drains `processed` to the end marker even when stopping: on Ctrl-C the batches
        # already processed are still written, so the partial output is as long as possible.
        while True:
            item = _get(processed)
            if item is _END:
                return
            frames, outputs = item
            if not encode_error and not hurry.is_set():
                try:
                    started = time.perf_counter()
                    for frame, image in zip(frames, outputs):
                        if image is not None:
                            write(frame, image)
                            stats.frames_written += 1
                            stats.last_timestamp = getattr(frame, "timestamp", None)
                    stats.seconds["encode"] += time.perf_counter() - started
                except BaseException as exc:
                    encode_error.append(exc)
                    stop.set()
            tracker.remove(len(frames))
            bar.update(len(frames))

    decoder = threading.Thread(target=decode, name="srpipe-run-decode", daemon=True)
    encoder = threading.Thread(target=encode, name="srpipe-run-write", daemon=True)
    started = time.perf_counter()
    preparer = threading.Thread(target=prepare, name="srpipe-run-prepare", daemon=True)
    decoder.start()
    encoder.start()
    if prepare_batch is not None:
        preparer.start()
    failure: BaseException | None = None
    try:
        while True:
            item = _get(ready, stop)
            if item is _END:
                break
            if isinstance(item, _Failure):
                raise item.error
            t0 = time.perf_counter()
            if prepare_batch is not None:
                item, prepared = item
                outputs = list(process_batch(prepared))
            else:
                outputs = list(process_batch(item))
            stats.process_seconds += time.perf_counter() - t0
            if len(outputs) != len(item):
                raise ValueError(
                    f"process_batch returned {len(outputs)} images for {len(item)} frames"
                )
            stats.frames_processed += len(item)
            if not _put(processed, (item, outputs), stop):
                break
    except BaseException as exc:
        failure = exc
    if failure is not None:
        stop.set()  # the decoder stops reading ahead; queued batches are still written
    try:
        _finish_encoder(encoder, processed)
    except KeyboardInterrupt:  # impatient second Ctrl-C: drop the queued batches
        hurry.set()
        failure = failure or KeyboardInterrupt()
        _finish_encoder(encoder, processed)
    stop.set()
    decoder.join(timeout=5.0)
    if prepare_batch is not None:
        preparer.join(timeout=5.0)  # a batch it is preparing ends first (no way to cut it)
    bar.close()
    if failure is None and encode_error:
        failure = encode_error[0]
    stats.wall_seconds = time.perf_counter() - started
    stats.fps = stats.frames_written / stats.wall_seconds if stats.wall_seconds else 0.0
    stats.max_frames_in_flight = tracker.max_alive
    stats.audio = getattr(writer, "audio", None)
    if failure is None:
        closed = writer.close()  # FrameWriter returns the final path; other writers may not
        output = closed if closed is not None else getattr(writer, "path", None)
        stats.output = str(output) if output is not None else None
        return stats
    partial = writer.abort()
    stats.output = str(partial) if partial is not None else None
    stats.partial = partial is not None
    if isinstance(failure, KeyboardInterrupt):
        stats.interrupted = True
        sys.stderr.write(interruption_message(stats) + "\n")
        raise RunInterrupted(stats) from None
    raise failure


def _finish_encoder(encoder: threading.Thread, processed: queue.Queue) -> None:
    """Give the encoder its end marker (after every batch already queued) and wait for it."""
    while encoder.is_alive():
        try:
            processed.put(_END, timeout=_POLL_S)
            break
        except queue.Full:
            continue
    encoder.join()


def _writer_call(writer: Any) -> Callable[[Any, np.ndarray], None]:
    """``writer.write_frame(frame, image)`` when the writer has it, else ``writer.write``
    with the frame's timestamp when it accepts one."""
    if callable(getattr(writer, "write_frame", None)):
        return writer.write_frame
    try:
        takes_time = "timestamp" in inspect.signature(writer.write).parameters
    except (TypeError, ValueError):
        takes_time = False
    if takes_time:
        return lambda frame, image: writer.write(image, timestamp=getattr(frame, "timestamp", None))
    return lambda frame, image: writer.write(image)
