"""`srpipe export --sr NAME --scale S --format onnx -o model.onnx`: deployable SR models.

The ONNX graph takes ``lr`` (N, 3, H, W) float32 RGB in [0, 1] with dynamic N, H and W
and returns ``sr`` (N, 3, H*s, W*s), unclamped, exactly like the PyTorch model. After
export the file is run with onnxruntime on two input sizes and compared with PyTorch; a
difference above ``--atol`` (1e-3 by default) is an error and nothing is written. The
model's name, scale, architecture and weights sha256 go into the ONNX metadata.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import click
import numpy as np

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError, UsageError
from srpipe.models.checkpoint import load_model
from srpipe.version import __version__

#: input sizes the exported graph is checked on (H, W): square and odd-sized
CHECK_SIZES = ((32, 32), (23, 41))


@click.command("export")
@click.option(
    "--sr", required=True, help="Model name (`srpipe models`) or checkpoint path to export."
)
@click.option("--scale", type=int, default=4, show_default=True, help="Upscaling factor.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx"]),
    default="onnx",
    show_default=True,
    help="Export format.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file. Default: <name>_x<scale>.onnx in the current folder.",
)
@click.option(
    "--opset",
    type=click.IntRange(min=9),
    default=17,
    show_default=True,
    help="ONNX opset version (9 or later: the exporter's oldest).",
)
@click.option(
    "--atol",
    type=float,
    default=1e-3,
    show_default=True,
    help="Largest allowed |onnxruntime - PyTorch| difference in the check.",
)
@click.option(
    "--static-size",
    default=None,
    metavar="HxW",
    help="Fix the input size (e.g. 256x256) instead of dynamic H/W; needed for models that "
    "resize inside forward (srcnn, vdsr and other luma models).",
)
@click.option("--no-check", is_flag=True, help="Skip the onnxruntime comparison.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def export(
    sr: str,
    scale: int,
    fmt: str,
    out: Path | None,
    opset: int,
    atol: float,
    static_size: str | None,
    no_check: bool,
    as_json: bool,
) -> None:
    """Export an SR model to ONNX with dynamic height and width, checked with onnxruntime.

    \b
    Examples:
      srpipe export --sr edsr --scale 4 -o edsr_x4.onnx
      srpipe export --sr runs/train/best.safetensors --scale 2 --format onnx
    """
    if scale < 1:
        raise UsageError(f"--scale must be a positive integer, got {scale}")

    model, meta = load_model(sr, scale, device="cpu")
    name = str(meta.get("name") or meta.get("arch") or Path(sr).stem)
    target = out if out is not None else Path(f"{name}_x{scale}.{fmt}")
    if target.suffix.lower() != ".onnx":
        raise UsageError(f"{target}: an ONNX export needs a .onnx file name")
    size = _parse_size(static_size) if static_size else None
    report = export_onnx(
        model, target, scale=scale, meta={**meta, "name": name}, opset=opset, static_size=size
    )
    if not no_check:
        report["check"] = check_onnx(model, target, scale=scale, atol=atol, static_size=size)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        check = report.get("check")
        checked = (
            f"; onnxruntime max |diff| {check['max_abs_diff']:.2e} on {', '.join(check['sizes'])}"
            if check
            else ""
        )
        click.echo(
            f"exported {name} x{scale} to {target} ({report['bytes'] / 1e6:.2f} MB){checked}"
        )


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--static-size expects HxW like 256x256, got {text!r}") from None
    if h < 1 or w < 1:
        raise UsageError(f"--static-size must be positive, got {text!r}")
    return h, w


def export_onnx(
    model: Any,
    target: Path,
    *,
    scale: int,
    meta: dict[str, Any],
    opset: int = 17,
    static_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Write ``model`` to ``target`` as ONNX (atomically); return a summary.

    Batch, height and width are dynamic unless ``static_size`` (H, W) fixes H and W.
    """
    import onnx
    import torch

    model = model.float().cpu().eval()
    example = torch.rand(1, 3, *(static_size or (32, 32)))
    if static_size:
        axes = {"lr": {0: "batch"}, "sr": {0: "batch"}}
    else:
        axes = {
            "lr": {0: "batch", 2: "height", 3: "width"},
            "sr": {0: "batch", 2: "out_height", 3: "out_width"},
        }
    with atomic_path(target) as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter is deprecated but needs no onnxscript and handles
            # pixel shuffle with dynamic sizes; silence its notice
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(
                    model,
                    (example,),
                    str(tmp),
                    dynamo=False,
                    input_names=["lr"],
                    output_names=["sr"],
                    dynamic_axes=axes,
                    opset_version=opset,
                    do_constant_folding=True,
                )
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                hint = "" if static_size else " or --static-size HxW"
                raise SrpipeError(
                    f"ONNX export of {meta.get('name')} failed ({type(exc).__name__}: "
                    f"{first[:160]}); try another --opset{hint}"
                ) from None
        graph = onnx.load(str(tmp))
        props = {
            "srpipe_version": __version__,
            "name": str(meta.get("name")),
            "arch": str(meta.get("arch")),
            "scale": str(scale),
            "weights_sha256": str(meta.get("sha256")),
            "input": "lr: float32 RGB in [0,1], (N, 3, H, W)"
            + (f", H x W fixed to {static_size[0]} x {static_size[1]}" if static_size else ""),
            "output": "sr: float32 RGB, (N, 3, H*scale, W*scale), unclamped",
        }
        for key, value in props.items():
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, value
        try:
            onnx.checker.check_model(graph)
        except Exception as exc:  # onnx's ValidationError: a page of text; one line here
            first = " ".join(str(exc).split())[:160]
            raise SrpipeError(
                f"the exported ONNX graph does not validate ({first}); try another --opset"
            ) from None
        onnx.save(graph, str(tmp))
    return {
        "output": str(target),
        "format": "onnx",
        "opset": opset,
        "bytes": os.path.getsize(target),
        "metadata": props,
    }


def check_onnx(
    model: Any,
    path: Path,
    *,
    scale: int,
    atol: float = 1e-3,
    static_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run ``path`` with onnxruntime on :data:`CHECK_SIZES` and compare with ``model``.

    Raises :class:`SrpipeError` (and deletes the file) if any difference exceeds ``atol``.
    """
    import torch

    try:
        import onnxruntime as ort
    except ImportError:
        raise SrpipeError(
            "onnxruntime is not installed, so the export cannot be checked; "
            "pip install 'srpipe[export]' or pass --no-check"
        ) from None
    options = ort.SessionOptions()
    options.log_severity_level = 4  # failures become our one-line error, not a log dump
    session = ort.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    sizes = []
    sizes_to_check = [static_size, static_size] if static_size else list(CHECK_SIZES)
    for batch, (h, w) in zip((1, 2), sizes_to_check):
        x = torch.rand(batch, 3, h, w, generator=generator)
        with torch.no_grad():
            expected = model(x).numpy()
        if not np.isfinite(expected).all():
            # NaN - NaN compares as nothing: without this a broken model "checks" with 0.00
            path.unlink(missing_ok=True)
            raise SrpipeError(
                "the model itself outputs NaN/Inf on a random input (broken weights?); "
                "the export was removed"
            )
        try:
            got = session.run(["sr"], {"lr": x.numpy()})[0]
        except Exception as exc:
            got = None
            reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        if got is None or got.shape != (batch, 3, h * scale, w * scale):
            path.unlink(missing_ok=True)
            detail = f"failed ({reason})" if got is None else f"returned {got.shape}"
            raise SrpipeError(
                f"the exported graph {detail} for input {tuple(x.shape)}; the model's "
                "forward depends on the input size, export with --static-size HxW"
            )
        difference = float(np.abs(got - expected).max())
        worst = max(worst, difference if np.isfinite(difference) else float("inf"))
        sizes.append(f"{batch}x3x{h}x{w}")
    if worst > atol:
        path.unlink(missing_ok=True)
        raise SrpipeError(
            f"onnxruntime output differs from PyTorch by {worst:.2e} (> {atol:g}); "
            "the export was removed; try another --opset"
            + ("" if static_size else " or --static-size HxW")
        )
    return {"max_abs_diff": worst, "atol": atol, "sizes": sizes, "runtime": ort.__version__}
