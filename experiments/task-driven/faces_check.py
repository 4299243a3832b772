"""Can the offline data answer "does task-driven SR help faces"? The evidence, measured.

Two sides, each from files, never typed:

* **test**: the faces report of experiments/faces (``srpipe eval faces`` at x4 on srpipe's
  offline face set, the only faces test set there is): pairs, identities, the harness's own
  power statement, and the accuracy left between the best plain SR -> T row and HR -> T,
  i.e. the most any task-driven recipe could add, against the width of its interval.
* **train**: scikit-image's ``lfw_subset`` (the one offline face set not already a test
  source: 100 grey 25x25 LFW crops, no identity labels). At x4 its LR is 6x6 px. Measured:
  whether the faces protocol's detector (MTCNN, ``min_face_size`` 20) finds its faces, and
  how much identity the default embedder still sees after x2 / x4 bicubic and after the
  bundled EDSR x4 (and, as a control, after faint noise): rank-1 of each degraded chip
  against the 100 HR chips (its own HR chip is the right answer; chance is 1/100), and the
  mean same-chip distance beside the mean distance to the nearest *other* HR chip.

Writes faces_check.json and the block between ``<!-- faces-check -->`` markers in
README.md. Run from the repository root (about a minute on one CPU thread):
``python experiments/task-driven/faces_check.py``
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FACES_REPORT = REPO / "experiments" / "faces" / "results" / "native-x2-x4" / "report.json"
SCALE = 4


def test_side() -> dict:
    report = json.loads(FACES_REPORT.read_text())
    rows = {
        r["variant"]: r["value"]
        for r in report["results"]
        if r["scale"] == SCALE and r["metric"] == report["task"]["headline"]
    }
    variants = [v for v in report["variants"] if v["scale"] == SCALE]
    pairs = variants[0]["items"]
    sr_rows = {v["name"]: rows[v["name"]] for v in variants if v["kind"] == "sr"}
    best = max(sr_rows, key=lambda n: sr_rows[n]["value"])
    b = sr_rows[best]
    return {
        "report": str(FACES_REPORT.relative_to(REPO)),
        "pairs": pairs,
        "k": report["settings"]["intervals"]["k"],
        "power": report["power"][f"x{SCALE}"],
        "accuracy": rows,
        "best_sr": best,
        "headroom_pairs": round((rows["hr"]["value"] - b["value"]) * pairs, 2),
        "best_sr_half_width": round((b["high"] - b["low"]) / 2, 4),
    }


def train_side() -> dict:
    from skimage import data as skdata
    from srpipe_faces.models import shared_detector, shared_embedder

    from srpipe.image.resize import degrade, imresize, modcrop
    from srpipe.upscaling.upscaler import Upscaler

    torch.set_num_threads(1)
    stack = skdata.lfw_subset()  # (200, 25, 25) float in [0, 1]: 100 faces, then 100 non-faces
    faces = stack[:100]
    grey = (faces * 255).round().astype(np.uint8)
    hr = [np.ascontiguousarray(modcrop(np.repeat(g[:, :, None], 3, 2), SCALE)) for g in grey]
    detector = shared_detector(20, "cpu")
    found = sum(bool(detector.detect(np.repeat(g[:, :, None], 3, 2))) for g in grey)
    embedder = shared_embedder(None, None, "cpu")
    edsr = Upscaler("edsr", SCALE, device="cpu")
    lr = {s: [degrade(h, s) for h in hr] for s in (2, SCALE)}
    noise = np.random.default_rng(0).normal(0, 2, size=(len(hr), *hr[0].shape))
    probes = {
        # a control: a perturbation a face embedder should not notice
        "HR + Gaussian noise (sigma 2 of 255)": [
            np.clip(h + n, 0, 255).round().astype(np.uint8) for h, n in zip(hr, noise)
        ],
        "x2 bicubic": [imresize(x, 2) for x in lr[2]],
        f"x{SCALE} bicubic": [imresize(x, SCALE) for x in lr[SCALE]],
        f"x{SCALE} bundled EDSR": [edsr(x) for x in lr[SCALE]],
    }
    gallery = embedder.embed(hr)
    dist_hr = embedder.distance(gallery[:, None], gallery[None])
    np.fill_diagonal(dist_hr, np.inf)
    out = {
        "faces": len(hr),
        "hr_size": list(hr[0].shape[:2]),
        "source_size": list(grey.shape[1:]),
        "lr_size": {f"x{s}": list(v[0].shape[:2]) for s, v in lr.items()},
        "mtcnn_found": found,
        "embedder": f"{embedder.name} ({Path(embedder.weights_path).name})",
        "hr_nearest_other": round(float(dist_hr.min(1).mean()), 4),
        "probes": {},
    }
    for name, images in probes.items():
        emb = embedder.embed(images)
        d = embedder.distance(emb[:, None], gallery[None])
        own = np.diag(d)
        rank1 = float((d.argmin(1) == np.arange(len(d))).mean())
        out["probes"][name] = {
            "rank1": round(rank1, 3),
            "same_chip": round(float(own.mean()), 4),
        }
    return out


def block(test: dict, train: dict) -> str:
    acc = test["accuracy"]

    def ci(v: dict) -> str:
        return f"{v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"

    lines = [
        f"Test side (`{test['report']}`, x{SCALE}, {test['pairs']} pairs, "
        f"k = {test['k']} identity clusters):",
        "",
        "| variant | accuracy [95% CI] |",
        "|---|---|",
    ]
    plain = [n for n in acc if n not in ("hr", "bicubic", "nearest", "bilinear")]
    for name in ("bicubic", *plain):
        label = name if name == "bicubic" else f"{name} (plain SR -> T)"
        lines.append(f"| {label} | {ci(acc[name])} |")
    lines.append(f"| hr | {ci(acc['hr'])} |")
    lines += [
        "",
        f"* The harness's power check: answerable = {test['power']['answerable']}; "
        f"{test['power']['reason']}.",
        f"* Headroom above the best plain SR -> T ({test['best_sr']}): "
        f"{test['headroom_pairs']:g} of {test['pairs']} pairs, while that row's interval "
        f"is +/- {test['best_sr_half_width']:.3f} accuracy "
        f"(= {test['best_sr_half_width'] * test['pairs']:.1f} pairs).",
        "",
        f"Train side (scikit-image `lfw_subset`, {train['faces']} face crops of "
        f"{train['source_size'][1]}x{train['source_size'][0]} px, grey, no identity labels; "
        f"embedder {train['embedder']}):",
        "",
        f"* x{SCALE} LR of a chip: {train['lr_size'][f'x{SCALE}'][1]}x"
        f"{train['lr_size'][f'x{SCALE}'][0]} px (HR modcropped to "
        f"{train['hr_size'][1]}x{train['hr_size'][0]}).",
        f"* MTCNN (the faces protocol's detector, min face 20 px) finds a face in "
        f"{train['mtcnn_found']} of {train['faces']} HR chips.",
        f"* Mean distance from an HR chip to the nearest other HR chip: "
        f"{train['hr_nearest_other']:.3f}.",
        "",
        "| probe (vs the 100 HR chips) | rank-1 (own chip) | mean distance to own HR chip |",
        "|---|---|---|",
    ]
    for name, p in train["probes"].items():
        lines.append(f"| {name} | {p['rank1']:.2f} | {p['same_chip']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    test, train = test_side(), train_side()
    (HERE / "faces_check.json").write_text(json.dumps({"test": test, "train": train}, indent=1))
    readme = HERE / "README.md"
    text = readme.read_text()
    new = re.sub(
        r"<!-- faces-check -->.*<!-- /faces-check -->",
        lambda _: f"<!-- faces-check -->\n{block(test, train)}<!-- /faces-check -->",
        text,
        flags=re.S,
    )
    readme.write_text(new)
    print(block(test, train))


if __name__ == "__main__":
    main()
