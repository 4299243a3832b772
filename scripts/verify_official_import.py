"""Check srpipe's official-checkpoint import against the real projects' model code.

For each reference project whose checkout is given, build its model classes with random
weights, save their state dicts as the project does (``torch.save(model.state_dict())``,
BasicSR wrapping it in ``params`` / ``params_ema``), load the file with
``srpipe.models.checkpoint.load_checkpoint`` (architecture and hyper-parameters detected
from the keys), and compare outputs on a random image. Pass = max |difference| < 1e-4
on the [0, 1] scale.

    python scripts/verify_official_import.py \\
        --edsr-pytorch /tmp/official/EDSR-PyTorch \\
        --rcan /tmp/official/RCAN --basicsr /tmp/official/BasicSR --han /tmp/official/HAN \\
        --dbpn /tmp/official/DBPN-Pytorch --srfbn /tmp/official/SRFBN_CVPR19 --san /tmp/official/SAN

A checkout that is absent is skipped with a note (exit code 0). Their code is imported
from the given directories only (never copied here); the few imports their model files
need beyond torch (BasicSR's registry, deformable-conv ops, logger) are stubbed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch

from srpipe.models.checkpoint import load_checkpoint

TOLERANCE = 1e-4


def _package(name: str, path: Path | None = None, **attrs: object) -> types.ModuleType:
    """Register an empty package (its ``__init__`` is not run) or a stub module."""
    module = types.ModuleType(name)
    if path is not None:
        module.__path__ = [str(path)]
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def _forget(prefix: str) -> None:
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
        del sys.modules[name]


def edsr_pytorch_models(root: Path) -> dict[str, types.ModuleType]:
    """EDSR-PyTorch's ``src/model/{edsr,rcan}.py`` (``from model import common``)."""
    _forget("model")
    _package("model", root / "src" / "model")
    found = {"edsr": importlib.import_module("model.edsr")}
    if (root / "src" / "model" / "rcan.py").is_file():
        found["rcan"] = importlib.import_module("model.rcan")
    _forget("model")
    return found


def rcan_official(root: Path) -> types.ModuleType:
    """The RCAN authors' ``RCAN_TrainCode/code/model/rcan.py``."""
    _forget("model")
    _package("model", root / "RCAN_TrainCode" / "code" / "model")
    module = importlib.import_module("model.rcan")
    _forget("model")
    return module


def han_official(root: Path) -> types.ModuleType:
    """The HAN authors' ``src/model/han.py`` (its ``common`` is RCAN's)."""
    _forget("model")
    _package("model", root / "src" / "model")
    module = importlib.import_module("model.han")
    _forget("model")
    return module


def basicsr_archs(root: Path) -> dict[str, type]:
    """BasicSR's EDSR and RCAN classes, without running ``basicsr/__init__`` (it imports
    its whole training stack); registry, dcn ops and logger are stubbed."""
    _forget("basicsr")

    class _Registry:
        def register(self, obj=None):
            return (lambda o: o) if obj is None else obj

    _package("basicsr", root / "basicsr")
    _package("basicsr.archs", root / "basicsr" / "archs")
    _package("basicsr.utils", root / "basicsr" / "utils", get_root_logger=lambda *a, **k: None)
    _package("basicsr.utils.registry", ARCH_REGISTRY=_Registry())
    _package("basicsr.ops", root / "basicsr" / "ops")
    _package(
        "basicsr.ops.dcn",
        ModulatedDeformConvPack=type("ModulatedDeformConvPack", (torch.nn.Module,), {}),
        modulated_deform_conv=None,
    )
    edsr = importlib.import_module("basicsr.archs.edsr_arch").EDSR
    rcan = importlib.import_module("basicsr.archs.rcan_arch").RCAN
    _forget("basicsr")
    return {"edsr": edsr, "rcan": rcan}


def dbpn_official(root: Path) -> types.ModuleType:
    """alterzero/DBPN-Pytorch ``dbpn.py`` (``from base_networks import *``)."""
    sys.path.insert(0, str(root))
    try:
        _forget("dbpn")
        _forget("base_networks")
        return importlib.import_module("dbpn")
    finally:
        sys.path.remove(str(root))


def srfbn_official(root: Path) -> type:
    """Paper99/SRFBN_CVPR19 ``networks/srfbn_arch.py`` (its package ``__init__`` not run)."""
    _forget("networks")
    _package("networks", root / "networks")
    module = importlib.import_module("networks.srfbn_arch")
    _forget("networks")
    return module.SRFBN


def san_official(root: Path) -> type:
    """daitao/SAN ``TestCode/code/model/san.py`` (``from model import common``, MPNCOV)."""
    _forget("model")
    _package("model", root / "TestCode" / "code" / "model")
    module = importlib.import_module("model.san")
    _forget("model")
    return module.SAN


class _CudaIsCpu:
    """SRFBN's feedback block calls ``.cuda()`` on its hidden state; run it on the CPU."""

    def __enter__(self) -> None:
        self.saved = torch.Tensor.cuda
        torch.Tensor.cuda = lambda self, *a, **k: self

    def __exit__(self, *exc: object) -> None:
        torch.Tensor.cuda = self.saved


class _LastStep(torch.nn.Module):
    """SRFBN's forward returns every step's output; the SR image is the last."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def state_dict(self, *args, **kwargs):  # the official layout, without our wrapper's prefix
        return self.net.state_dict(*args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _CudaIsCpu():
            return self.net(x)[-1]


def _args(**kwargs: object) -> types.SimpleNamespace:
    """The argparse namespace EDSR-PyTorch / RCAN model constructors read."""
    base = {"n_colors": 3, "rgb_range": 255, "res_scale": 1.0}
    base.update(kwargs)
    base["scale"] = [base["scale"]]
    return types.SimpleNamespace(**base)


def compare(
    label: str,
    reference: torch.nn.Module,
    *,
    scale: int,
    input_range: float,
    wrap: Callable[[dict], object] | None,
    workdir: Path,
    size: int = 16,
) -> dict:
    """Save the reference's state dict, load it with srpipe, compare outputs."""
    reference.eval()
    path = workdir / f"{label.replace(' ', '_').replace('/', '-')}.pt"
    state = reference.state_dict()
    torch.save(wrap(state) if wrap else state, path)
    started = time.perf_counter()
    ours, meta = load_checkpoint(path)
    load_s = time.perf_counter() - started
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(x * input_range) / input_range
        got = ours(x)
    diff = (expected - got).abs().max().item() if expected.shape == got.shape else float("inf")
    return {
        "case": label,
        "detected": f"{meta['arch']} x{meta['scale']} ({meta['source']})",
        "hyper": {k: v for k, v in meta["hyper"].items() if k not in ("n_colors", "kernel_size")},
        "max_abs_diff": diff,
        "ok": meta["scale"] == scale and diff < TOLERANCE,
        "load_s": round(load_s, 2),
    }


def run(
    edsr_root: Path | None,
    rcan_root: Path | None,
    basicsr_root: Path | None,
    han_root: Path | None = None,
    dbpn_root: Path | None = None,
    srfbn_root: Path | None = None,
    san_root: Path | None = None,
) -> list[dict]:
    """Every available case; skipped projects produce a row with ``skipped`` set."""
    torch.manual_seed(0)
    rows: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="srpipe-official-import-"))

    if edsr_root and (edsr_root / "src" / "model" / "edsr.py").is_file():
        models = edsr_pytorch_models(edsr_root)
        edsr = models["edsr"].EDSR
        for n_resblocks, n_feats, res_scale, scale, rgb_range in [
            (16, 64, 1.0, 2, 255),
            (16, 64, 1.0, 3, 255),
            (16, 64, 1.0, 4, 255),
            (32, 256, 0.1, 4, 255),
            (2, 16, 1.0, 8, 255),
            (4, 32, 1.0, 2, 1),
        ]:
            ref = edsr(
                _args(
                    n_resblocks=n_resblocks,
                    n_feats=n_feats,
                    res_scale=res_scale,
                    scale=scale,
                    rgb_range=rgb_range,
                )
            )
            label = f"EDSR-PyTorch EDSR r{n_resblocks}f{n_feats} x{scale} rgb_range {rgb_range}"
            rows.append(
                compare(
                    label,
                    ref,
                    scale=scale,
                    input_range=rgb_range,
                    wrap=None,
                    workdir=workdir,
                    size=8 if n_feats == 256 else 16,
                )
            )
        # Negative control: res_scale is not in the weights, so a 64-feature model trained
        # with res_scale 0.1 is imported with 1.0 and must show up as a mismatch here.
        ref = edsr(_args(n_resblocks=4, n_feats=64, res_scale=0.1, scale=2))
        row = compare(
            "EDSR-PyTorch EDSR r4f64 res_scale 0.1 (control)",
            ref,
            scale=2,
            input_range=255,
            wrap=None,
            workdir=workdir,
        )
        row["expected_mismatch"] = True
        rows.append(row)
        if "rcan" in models:
            ref = models["rcan"].RCAN(
                _args(n_resgroups=2, n_resblocks=3, n_feats=32, reduction=16, scale=4)
            )
            rows.append(
                compare(
                    "EDSR-PyTorch RCAN g2b3f32 x4",
                    ref,
                    scale=4,
                    input_range=255,
                    wrap=None,
                    workdir=workdir,
                )
            )
    else:
        rows.append({"case": "EDSR-PyTorch", "skipped": f"no checkout at {edsr_root}"})

    if rcan_root and (rcan_root / "RCAN_TrainCode" / "code" / "model" / "rcan.py").is_file():
        rcan = rcan_official(rcan_root).RCAN
        for groups, blocks, scale in [(10, 20, 2), (10, 20, 3), (10, 20, 4), (2, 3, 8)]:
            ref = rcan(
                _args(n_resgroups=groups, n_resblocks=blocks, n_feats=64, reduction=16, scale=scale)
            )
            rows.append(
                compare(
                    f"RCAN official g{groups}b{blocks} x{scale}",
                    ref,
                    scale=scale,
                    input_range=255,
                    wrap=None,
                    workdir=workdir,
                )
            )
    else:
        rows.append({"case": "RCAN official", "skipped": f"no checkout at {rcan_root}"})

    if han_root and (han_root / "src" / "model" / "han.py").is_file():
        han = han_official(han_root).HAN
        # the official HAN hard-codes 11 stacked layers: 10 groups + the body's last conv
        for scale in (2, 4):
            ref = han(_args(n_resgroups=10, n_resblocks=20, n_feats=64, reduction=16, scale=scale))
            with torch.no_grad():  # gammas start at 0: make both attentions matter
                ref.la.gamma.fill_(0.5)
                ref.csa.gamma.fill_(0.7)
            rows.append(
                compare(
                    f"HAN official g10b20 x{scale}",
                    ref,
                    scale=scale,
                    input_range=255,
                    wrap=None,
                    workdir=workdir,
                )
            )
    else:
        rows.append({"case": "HAN official", "skipped": f"no checkout at {han_root}"})

    if dbpn_root and (dbpn_root / "dbpn.py").is_file():
        net = dbpn_official(dbpn_root).Net
        for stages, base, feat, scale, size in [
            (7, 64, 256, 2, 12),
            (7, 64, 256, 4, 8),
            (7, 16, 32, 8, 6),
        ]:
            ref = net(
                num_channels=3, base_filter=base, feat=feat, num_stages=stages, scale_factor=scale
            )
            with torch.no_grad():  # PReLU slopes all start at 0.25: make each one matter
                for module in ref.modules():
                    if isinstance(module, torch.nn.PReLU):
                        module.weight.uniform_(0.05, 0.5)
            rows.append(
                compare(
                    f"D-DBPN official s{stages}f{base}/{feat} x{scale}",
                    ref,
                    scale=scale,
                    input_range=1,
                    wrap=None,
                    workdir=workdir,
                    size=size,
                )
            )
    else:
        rows.append({"case": "D-DBPN official", "skipped": f"no checkout at {dbpn_root}"})

    if srfbn_root and (srfbn_root / "networks" / "srfbn_arch.py").is_file():
        srfbn = srfbn_official(srfbn_root)
        for feats, groups, scale in [(64, 6, 4), (32, 3, 2), (32, 3, 3), (16, 2, 8)]:
            ref = srfbn(
                3, 3, num_features=feats, num_steps=4, num_groups=groups, upscale_factor=scale
            )
            with torch.no_grad():
                for module in ref.modules():
                    if isinstance(module, torch.nn.PReLU):
                        module.weight.uniform_(0.05, 0.5)
            rows.append(
                compare(
                    f"SRFBN official f{feats}g{groups} x{scale} [state_dict]",
                    _LastStep(ref),
                    scale=scale,
                    input_range=255,
                    # the official solver saves {"state_dict": ...} of a DataParallel model
                    wrap=lambda st: {"state_dict": {f"module.{k}": v for k, v in st.items()}},
                    workdir=workdir,
                    size=8 if feats == 64 else 12,
                )
            )
    else:
        rows.append({"case": "SRFBN official", "skipped": f"no checkout at {srfbn_root}"})

    if san_root and (san_root / "TestCode" / "code" / "model" / "san.py").is_file():
        san = san_official(san_root)
        for groups, blocks, scale, size in [
            (20, 10, 4, 8),
            (2, 3, 2, 12),
            (2, 3, 3, 12),
            (2, 2, 8, 6),
        ]:
            ref = san(
                _args(n_resgroups=groups, n_resblocks=blocks, n_feats=64, reduction=16, scale=scale)
            )
            with torch.no_grad():  # the shared-source gamma and non-local W start at 0
                ref.gamma.fill_(0.3)
                torch.nn.init.normal_(ref.non_local.non_local.W.weight, std=0.05)
            rows.append(
                compare(
                    f"SAN official g{groups}b{blocks} x{scale}",
                    ref,
                    scale=scale,
                    input_range=255,
                    wrap=None,
                    workdir=workdir,
                    size=size,
                )
            )
    else:
        rows.append({"case": "SAN official", "skipped": f"no checkout at {san_root}"})

    if basicsr_root and (basicsr_root / "basicsr" / "archs" / "edsr_arch.py").is_file():
        archs = basicsr_archs(basicsr_root)
        for num_block, num_feat, res_scale, scale, wrapper in [
            (16, 64, 1.0, 2, "params"),
            (16, 64, 1.0, 3, "params_ema"),
            (16, 64, 1.0, 4, "params"),
            (32, 256, 0.1, 4, "params_ema"),
        ]:
            ref = archs["edsr"](
                3, 3, num_feat=num_feat, num_block=num_block, upscale=scale, res_scale=res_scale
            )
            rows.append(
                compare(
                    f"BasicSR EDSR b{num_block}f{num_feat} x{scale} [{wrapper}]",
                    ref,
                    scale=scale,
                    input_range=1,
                    wrap=lambda s, w=wrapper: {w: s},
                    workdir=workdir,
                    size=8 if num_feat == 256 else 16,
                )
            )
        for groups, blocks, scale in [(10, 20, 4), (2, 3, 2), (2, 3, 8)]:
            ref = archs["rcan"](
                3,
                3,
                num_feat=64,
                num_group=groups,
                num_block=blocks,
                squeeze_factor=16,
                upscale=scale,
            )
            rows.append(
                compare(
                    f"BasicSR RCAN g{groups}b{blocks} x{scale} [params_ema]",
                    ref,
                    scale=scale,
                    input_range=1,
                    wrap=lambda s: {"params_ema": s, "params": s},
                    workdir=workdir,
                )
            )
    else:
        rows.append({"case": "BasicSR", "skipped": f"no checkout at {basicsr_root}"})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edsr-pytorch", type=Path, help="EDSR-PyTorch checkout (has src/model)")
    parser.add_argument("--rcan", type=Path, help="RCAN checkout (has RCAN_TrainCode/code/model)")
    parser.add_argument("--basicsr", type=Path, help="BasicSR checkout (has basicsr/archs)")
    parser.add_argument("--han", type=Path, help="HAN checkout (has src/model/han.py)")
    parser.add_argument("--dbpn", type=Path, help="alterzero/DBPN-Pytorch checkout (has dbpn.py)")
    parser.add_argument("--srfbn", type=Path, help="Paper99/SRFBN_CVPR19 checkout (has networks/)")
    parser.add_argument("--san", type=Path, help="daitao/SAN checkout (has TestCode/code/model)")
    args = parser.parse_args()
    rows = run(
        args.edsr_pytorch, args.rcan, args.basicsr, args.han, args.dbpn, args.srfbn, args.san
    )
    print(f"torch {torch.__version__}; pass = max |ours - reference| < {TOLERANCE:g} on [0, 1]")
    failures = 0
    for row in rows:
        if "skipped" in row:
            print(f"SKIP  {row['case']}: {row['skipped']}")
            continue
        if row.get("expected_mismatch"):
            # the control passes when the comparison *does* see the difference
            row["ok"] = row["max_abs_diff"] >= TOLERANCE
            status = "CTRL" if row["ok"] else "FAIL"
        else:
            status = "PASS" if row["ok"] else "FAIL"
        failures += not row["ok"]
        print(
            f"{status}  {row['case']:<52} -> {row['detected']:<30} "
            f"max diff {row['max_abs_diff']:.2e}  {row['hyper']}"
        )
    print(
        f"{sum('ok' in r for r in rows)} compared, {failures} failed, "
        f"{sum('skipped' in r for r in rows)} skipped"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
