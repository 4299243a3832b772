"""The training configuration: a YAML file over documented defaults, plus ``key=value`` overrides.

Every key has a default here (the EDSR paper's recipe), so a config file only states what
differs. Overrides use dotted keys and YAML values, e.g. ``optim.lr=2e-4``,
``model.hyper.n_resblocks=8``, ``data.train=/data/DIV2K/HR``. Unknown keys are errors (a
misspelt key silently ignored is the classic way to train the wrong model), except under
``model.hyper``, which is passed to the architecture's builder as it is.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import yaml

from srpipe.errors import SrpipeError
from srpipe.train.losses import ALIASES

#: Defaults = EDSR paper recipe (L1, Adam 0.9/0.999/1e-8, lr 1e-4 halved every 200k,
#: batch 16 of 48x48 LR patches, flips + rotations, 300k iterations).
DEFAULTS: dict[str, Any] = {
    "name": "run",
    "out_dir": "runs/{name}",  # {name} is replaced by the name above
    "seed": 0,
    "scale": 4,
    "device": "auto",  # auto | cpu | cuda | cuda:N
    "threads": 0,  # torch intra-op threads on CPU; 0 = torch's default
    "model": {
        "arch": "edsr",  # a registered model name (srpipe models)
        "hyper": {},  # passed to the builder; stored in checkpoint metadata
        "init_from": None,  # checkpoint to start from (e.g. the x2 model for x3/x4)
    },
    "data": {
        # "samples:train" (offline corpus), a folder of HR images, or a fetched dataset name
        "train": "samples:train",
        "train_lr": None,  # folder of matching LR images; None = bicubic-degrade the HR
        "val": "samples:val",
        "val_lr": None,
        "patch_size": 48,  # LR patch side; HR patch = patch_size * scale
        "augment": True,  # random h/v flips and 90-degree rotations
        "batch_size": 16,  # per process
        "num_workers": 0,
        "epoch_batches": 1000,  # batches per (virtual) epoch: the sampler's reshuffle period
        "val_limit": 0,  # validate on the first N images only; 0 = all
    },
    "loss": "l1",  # l1 (MAE) | l2 (MSE) | charbonnier (srpipe.train.losses)
    "optim": {
        "name": "adam",
        "lr": 1e-4,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
        "grad_clip": 0.0,  # max gradient norm; 0 = off
    },
    "schedule": {
        "name": "step",  # step | multistep | cosine | constant
        "step_size": 200000,  # step: multiply by gamma every step_size iterations
        "gamma": 0.5,
        "milestones": [],  # multistep
        "min_lr": 0.0,  # cosine floor
        "warmup": 0,  # linear warm-up iterations
    },
    "train": {
        "iterations": 300000,
        # wall-clock budget; training stops cleanly (validation + checkpoint) when spent, and
        # the cosine schedule then follows max(iteration, time) progress. 0 = no budget.
        "max_minutes": 0.0,
        "ema": 0.0,  # EMA decay of the weights (e.g. 0.999); 0 = off. Validated and saved if on.
        "precision": "fp32",  # fp32 | bf16 (autocast) | fp16 (autocast, CUDA only)
        "channels_last": False,
        "val_every": 1000,
        "checkpoint_every": 1000,
        "log_every": 20,
        "tensorboard": True,
        "progress": True,
    },
}

#: The ``task`` section, present only in task-driven runs (``srpipe train --task NAME``, or a
#: config file with a ``task:`` section). Recipe defaults follow SR4IR (CVPR 2024): L1 plus
#: the task-driven perceptual loss at weight 1, and the task net's alternating phase on SR,
#: HR and CQMix images at 1/3 each.
TASK_DEFAULTS: dict[str, Any] = {
    "name": None,  # a registered task with a differentiable view (detect, faces, ...)
    "recipe": "sr4ir",  # s2t | t2s | tdp | sr4ir (srpipe train --help)
    "data": None,  # the task's training data (train + val splits); None = the task's default
    "options": {},  # the task's own options by parameter name, e.g. {detector: my.pt}
    "weights": {
        "pixel": 1.0,  # L1/L2 between SR and HR (t2s, tdp, sr4ir)
        "task": 1.0,  # the task loss on SR (t2s)
        "tdp": 1.0,  # the task-driven perceptual loss (tdp, sr4ir)
        "sr": 1.0 / 3.0,  # the task net's loss on SR / HR / CQMix images (s2t uses sr only)
        "hr": 1.0 / 3.0,
        "mix": 1.0 / 3.0,
    },
    # iterations before the task-driven term (t2s: task loss; tdp/sr4ir: TDP) switches on;
    # before, the SR net trains on the pixel loss alone (SR4IR's warm-up)
    "warmup": 0,
    "cqmix_patch": 8,  # side (HR px) of the square patches CQMix takes from SR or HR
    "optim": {  # the task net's optimizer (s2t, sr4ir); its lr follows the SR schedule's factor
        "name": "adamw",  # adam | adamw | sgd
        "lr": 1e-5,
        "momentum": 0.9,  # sgd only
        "weight_decay": 0.0,
        "grad_clip": 10.0,  # max gradient norm of the task net; 0 = off
    },
}
RECIPES = ("s2t", "t2s", "tdp", "sr4ir")

#: dotted prefixes under which any key is accepted
FREE_FORM = ("model.hyper", "task.options")


def _merge(base: dict[str, Any], update: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        dotted = f"{prefix}{key}"
        if key not in out and not any(dotted.startswith(f + ".") for f in FREE_FORM):
            raise SrpipeError(f"unknown config key {dotted!r}; known here: {_known(out, prefix)}")
        if isinstance(out.get(key), dict) and dotted not in FREE_FORM:
            if not isinstance(value, dict):
                raise SrpipeError(f"config key {dotted!r} must be a mapping, got {value!r}")
            out[key] = _merge(out[key], value, dotted + ".")
        elif isinstance(out.get(key), dict):
            out[key] = {**out[key], **(value or {})}
        else:
            out[key] = value
    return out


def _known(section: dict[str, Any], prefix: str) -> str:
    return ", ".join(f"{prefix}{k}" for k in section)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr=2e-4"`` -> (["optim", "lr"], 0.0002); values are parsed as YAML."""

    if "=" not in text:
        raise SrpipeError(f"override {text!r} is not key=value (e.g. optim.lr=2e-4)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise SrpipeError(f"override {text!r} has an empty key")
    value = yaml.safe_load(raw) if raw.strip() else None
    # YAML reads 1e-4 (no dot) as a string; users mean a number
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value) if any(c in value for c in "eE.") else value
    return key.split("."), value


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        out = {key: out}
    return out


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    task: str | None = None,
    recipe: str | None = None,
):
    """Defaults <- YAML file <- overrides, validated. Returns a plain nested dict.

    ``task`` (``--task``) / ``recipe`` (``--recipe``) make it a task-driven run; so does a
    ``task:`` section in the file or a ``task.*`` override.
    """

    config = copy.deepcopy(DEFAULTS)
    if task or recipe or any(str(o).startswith("task.") for o in overrides):
        config["task"] = copy.deepcopy(TASK_DEFAULTS)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SrpipeError(f"config file {path} not found; see configs/ for examples")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SrpipeError(f"{path} is not valid YAML: {exc}".replace("\n", " ")) from None
        if not isinstance(data, dict):
            raise SrpipeError(f"{path} must hold a mapping of config keys")
        if "task" in data and "task" not in config:
            config["task"] = copy.deepcopy(TASK_DEFAULTS)
        config = _merge(config, data)
    for text in overrides:
        keys, value = parse_override(text)
        config = _merge(config, _nest(keys, value))
    if task:
        config["task"]["name"] = task
    if recipe:
        config["task"]["recipe"] = recipe
    validate(config)
    return config


def _numbers(config: dict[str, Any]) -> None:
    """YAML 1.1 reads ``1e-4`` as a string: coerce the float keys."""
    for section, key in (
        ("optim", "lr"),
        ("optim", "eps"),
        ("optim", "weight_decay"),
        ("optim", "grad_clip"),
        ("schedule", "gamma"),
        ("schedule", "min_lr"),
        ("train", "max_minutes"),
        ("train", "ema"),
    ):
        try:
            config[section][key] = float(config[section][key])
        except (TypeError, ValueError):
            raise SrpipeError(
                f"config {section}.{key} must be a number, got {config[section][key]!r}"
            ) from None


def validate(config: dict[str, Any]) -> None:
    """Check value ranges and choices; raise a one-line SrpipeError on the first problem."""
    _numbers(config)
    if int(config["scale"]) not in (2, 3, 4, 8):
        raise SrpipeError(f"scale must be 2, 3, 4 or 8, got {config['scale']}")
    if str(config["loss"]).lower() not in ALIASES:
        raise SrpipeError(f"loss must be one of {', '.join(ALIASES)}, got {config['loss']!r}")
    if config["optim"]["name"] not in ("adam", "adamw"):
        raise SrpipeError(f"optim.name must be adam or adamw, got {config['optim']['name']!r}")
    if config["schedule"]["name"] not in ("step", "multistep", "cosine", "constant"):
        raise SrpipeError(
            "schedule.name must be step, multistep, cosine or constant, "
            f"got {config['schedule']['name']!r}"
        )
    if config["train"]["precision"] not in ("fp32", "bf16", "fp16"):
        raise SrpipeError(
            f"train.precision must be fp32, bf16 or fp16, got {config['train']['precision']!r}"
        )
    for section, key in (
        ("data", "patch_size"),
        ("data", "batch_size"),
        ("data", "epoch_batches"),
        ("train", "iterations"),
        ("train", "val_every"),
        ("train", "checkpoint_every"),
        ("train", "log_every"),
    ):
        if int(config[section][key]) < 1:
            raise SrpipeError(f"config {section}.{key} must be >= 1, got {config[section][key]}")
    if not 0.0 <= config["train"]["ema"] < 1.0:
        raise SrpipeError(f"train.ema must be in [0, 1), got {config['train']['ema']}")
    if "task" in config:
        _validate_task(config["task"])


def _validate_task(task: dict[str, Any]) -> None:
    if not task["name"]:
        raise SrpipeError("a task-driven run needs a task: --task NAME (e.g. --task detect)")
    if task["recipe"] not in RECIPES:
        raise SrpipeError(
            f"task.recipe must be one of {', '.join(RECIPES)}, got {task['recipe']!r}"
        )
    for key, value in list(task["weights"].items()):
        try:
            task["weights"][key] = float(value)
        except (TypeError, ValueError):
            raise SrpipeError(
                f"config task.weights.{key} must be a number, got {value!r}"
            ) from None
        if task["weights"][key] < 0:
            raise SrpipeError(f"config task.weights.{key} must be >= 0, got {value}")
    for key in ("lr", "momentum", "weight_decay", "grad_clip"):
        try:
            task["optim"][key] = float(task["optim"][key])
        except (TypeError, ValueError):
            raise SrpipeError(
                f"config task.optim.{key} must be a number, got {task['optim'][key]!r}"
            ) from None
    if task["optim"]["name"] not in ("adam", "adamw", "sgd"):
        raise SrpipeError(
            f"task.optim.name must be adam, adamw or sgd, got {task['optim']['name']!r}"
        )
    if int(task["warmup"]) < 0:
        raise SrpipeError(f"config task.warmup must be >= 0, got {task['warmup']}")
    if int(task["cqmix_patch"]) < 1:
        raise SrpipeError(f"config task.cqmix_patch must be >= 1, got {task['cqmix_patch']}")
    if task["options"] is not None and not isinstance(task["options"], dict):
        raise SrpipeError("config task.options must be a mapping of the task's options")


def run_dir(config: dict[str, Any]) -> Path:
    """The run's output folder (``out_dir`` with ``{name}`` filled in)."""
    return Path(str(config["out_dir"]).replace("{name}", str(config["name"])))


def dump_config(config: dict[str, Any]) -> str:
    """The resolved config as YAML (written beside the checkpoints)."""

    return yaml.safe_dump(config, sort_keys=False)
