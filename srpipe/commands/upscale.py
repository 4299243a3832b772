"""`srpipe upscale IN OUT --sr NAME|PATH --scale S`: upscale an image or a folder of images.

A folder run goes on past unreadable files, lists them at the end and exits 1 if any
failed. Every output is written atomically (temporary file, then rename), so an
interrupted run never leaves a half-written image. Alpha channels, grey images and 16-bit
PNGs keep their form; EXIF orientation is applied before upscaling.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from srpipe.distributed import assign, workers
from srpipe.errors import SrpipeError, UsageError
from srpipe.image.io import IMAGE_EXTENSIONS, is_image_path, load_image, write_image
from srpipe.image.limits import parse_bytes
from srpipe.upscaling.upscaler import Upscaler


@click.command("upscale")
@click.argument("input", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option(
    "--sr",
    default="bicubic",
    show_default=True,
    help="none, nearest, bilinear, bicubic, a model name (`srpipe models`) or a checkpoint "
    "path (.safetensors, EDSR-PyTorch/RCAN/BasicSR .pt/.pth).",
)
@click.option(
    "--scale",
    type=float,
    default=4,
    show_default=True,
    help="Upscaling factor; fractional ones (3.5) for models that take any scale (liif) "
    "and the classic interpolators.",
)
@click.option(
    "--tile",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Tile size in LR pixels (0 = planned from --memory: whole images when they fit, "
    "else the largest tile that does).",
)
@click.option(
    "--memory",
    default=None,
    metavar="SIZE",
    help="Memory budget for planning tiles and batches, e.g. 2G or 512M. Default: "
    "$SRPIPE_MEMORY, else half the available RAM (free VRAM on CUDA), at most 1.5G.",
)
@click.option(
    "--tile-overlap",
    type=click.IntRange(min=0),
    default=16,
    show_default=True,
    help="Context pixels around each tile; seams are cross-faded over this width. A model "
    "that needs more to match its untiled output (realesrgan: 64, a SwinIR: 4 windows) "
    "gets its own minimum.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps.",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="Model arithmetic: bf16 autocast on CPU/CUDA, fp16 on CUDA only; auto: bf16 where "
    "native here and the model's bf16 output was measured within one uint8 level of fp32, "
    "else fp32. bf16 where it would be emulated runs fp32 and says so.",
)
@click.option(
    "--self-ensemble",
    is_flag=True,
    help="Average the 8 flips/rotations (the papers' '+' results; 8x slower).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Same-size images per forward.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def upscale(
    input: Path,
    output: Path,
    sr: str,
    scale: int,
    tile: int,
    memory: str | None,
    tile_overlap: int,
    device: str,
    precision: str,
    self_ensemble: bool,
    batch_size: int,
    as_json: bool,
) -> None:
    """Upscale INPUT (an image or a folder of images) into OUTPUT.

    \b
    For one image, OUTPUT is the file to write (its extension picks the format) or a
    folder to put it in. For a folder, OUTPUT is a folder; names and formats are kept.
    \b
    Examples:
      srpipe upscale photo.jpg photo_x4.png --sr edsr --scale 4
      srpipe upscale frames/ frames_x2/ --sr bicubic --scale 2
      srpipe upscale scan.png big.png --sr my_rcan.safetensors --tile 256 --precision bf16
    """
    if not scale >= 1:
        raise UsageError(f"--scale must be at least 1, got {scale:g}")
    scale = int(scale) if float(scale).is_integer() else scale
    if not input.exists():
        raise SrpipeError(f"{input}: no such file or folder")
    jobs = _plan_jobs(input, output)
    if memory is not None:
        parse_bytes(memory)  # a bad size is a usage error before any model loads
    if sr.lower() == "none":
        scale = 1  # `none` copies the pixels (still applying EXIF orientation, format change)
    ranks = workers()
    upscaler = Upscaler(
        sr,
        scale,
        device=ranks.device(device),
        precision=precision,
        tile=tile,
        tile_overlap=tile_overlap,
        batch_size=batch_size,
        self_ensemble=self_ensemble,
        memory=memory,
    )
    started = time.perf_counter()
    if ranks.distributed:
        # whole batches per rank, as one process would batch them; rank 0 reports
        starts = list(range(0, len(jobs), upscaler.batch_size))
        mine = [
            job
            for u in assign([1.0] * len(starts), ranks.world_size)[ranks.rank]
            for job in jobs[starts[u] : starts[u] + upscaler.batch_size]
        ]
        current: list[str] = []
        outcome = ranks.run_share(
            lambda: _run(upscaler, mine, show_progress=False, current=current),
            lambda: f"input {current[0]!r}" if current else "setup",
        )
        parts = ranks.gather(outcome)
        if parts is None:
            return  # not rank 0: rank 0 prints the summary
        order = {str(source): k for k, (source, _) in enumerate(jobs)}
        done = sorted((d for part in parts for d in part[0]), key=lambda d: order[d["input"]])
        failed = sorted((f for part in parts for f in part[1]), key=lambda f: order[f["input"]])
    else:
        done, failed = _run(upscaler, jobs, show_progress=input.is_dir() and not as_json)
    seconds = time.perf_counter() - started
    if input.is_file() and failed:
        raise SrpipeError(failed[0]["error"])  # one image: its error is the error
    if as_json:
        report = {
            "input": str(input),
            "output": str(output),
            "upscaler": upscaler.describe(),
            "seconds": round(seconds, 3),
            "outputs": done,
            "failed": failed,
        }
        click.echo(json.dumps(report, indent=2))
    else:
        where = output if input.is_dir() else (done[0]["output"] if done else output)
        why = f": {upscaler.precision_reason}" if upscaler.precision_reason else ""
        click.echo(
            f"upscaled {len(done)} image{'s' if len(done) != 1 else ''} x{scale:g} with "
            f"{upscaler.name} ({upscaler.device}, {upscaler.precision}{why}) in {seconds:.2f} s "
            f"-> {where}"
        )
        if failed:
            click.echo(f"{len(failed)} file(s) failed:", err=True)
            for item in failed:
                click.echo(f"  {item['error']}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


def _plan_jobs(input: Path, output: Path) -> list[tuple[Path, Path]]:
    """(source, target) pairs; refuses to overwrite the inputs."""

    if input.is_dir():
        if output.exists() and not output.is_dir():
            raise UsageError(f"{output} is a file; a folder input needs an output folder")
        if output.resolve() == input.resolve():
            raise UsageError("the output folder is the input folder; pick another one")
        sources = sorted(p for p in input.iterdir() if p.is_file() and is_image_path(p))
        if not sources:
            raise SrpipeError(f"{input}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
        return [(p, output / p.name) for p in sources]
    if output.is_dir() or not output.suffix:
        target = output / (input.stem + (input.suffix if is_image_path(input) else ".png"))
    else:
        if not is_image_path(output):
            raise UsageError(
                f"{output}: unknown image extension {output.suffix!r}; "
                f"use one of {', '.join(IMAGE_EXTENSIONS)}"
            )
        target = output
    if target.resolve() == input.resolve():
        raise UsageError("the output would overwrite the input; pick another name")
    return [(input, target)]


def _run(
    upscaler: Any,
    jobs: list[tuple[Path, Path]],
    *,
    show_progress: bool,
    current: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Upscale every job in batches; a failing file is recorded and the run goes on."""

    done: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    bar = tqdm(total=len(jobs), unit="img", disable=not show_progress, desc="upscale")
    for start in range(0, len(jobs), upscaler.batch_size):
        batch = []
        if current is not None:  # named if this batch fails outright under torchrun
            current[:] = [str(s) for s, _ in jobs[start : start + upscaler.batch_size]]
        for source, target in jobs[start : start + upscaler.batch_size]:
            try:
                picture = load_image(source)
                upscaler.check_output_size(*picture.size, name=str(source))
                batch.append((source, target, picture))
            except (SrpipeError, OSError, ValueError, MemoryError) as exc:
                # unreadable, vanished or undecodable: listed at the end, the batch goes on
                failed.append({"input": str(source), "error": _one_line(source, exc)})
        if batch:
            t0 = time.perf_counter()
            try:
                results = upscaler.upscale_pictures([picture for _, _, picture in batch])
            except SrpipeError:
                results = None  # retry one by one so one bad image does not sink the batch
            per_image = (time.perf_counter() - t0) / len(batch)
            for k, (source, target, picture) in enumerate(batch):
                try:
                    result = results[k] if results is not None else None
                    if result is None:
                        t0 = time.perf_counter()
                        result = upscaler.upscale_picture(picture)
                        per_image = time.perf_counter() - t0
                    _write(target, result)
                except (SrpipeError, OSError, MemoryError, RuntimeError, ValueError) as exc:
                    failed.append({"input": str(source), "error": _one_line(source, exc)})
                    continue
                done.append(
                    {
                        "input": str(source),
                        "output": str(target),
                        "size_in": list(picture.size),
                        "size_out": [result.rgb.shape[1], result.rgb.shape[0]],
                        "bit_depth": result.bit_depth,
                        "alpha": result.alpha is not None,
                        "seconds": round(per_image, 4),
                    }
                )
        bar.update(min(upscaler.batch_size, len(jobs) - start))
    bar.close()
    return done, failed


def _write(target: Path, picture: Any) -> None:

    # grey with alpha is written as RGBA: OpenCV cannot write two-channel images
    grey_only = picture.grey and picture.alpha is None
    pixels = picture.rgb[:, :, 0] if grey_only else picture.rgb
    write_image(target, pixels, picture.alpha)


def _one_line(source: Path, exc: BaseException) -> str:
    if isinstance(exc, SrpipeError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{source}: {type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
