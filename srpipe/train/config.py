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
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from srpipe.errors import SrpipeError
from srpipe.plugins import get_plugin_manager
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
            if value is not None and not isinstance(value, dict):
                raise SrpipeError(f"config {dotted}={value!r}: expected {_expects(FIELDS[dotted])}")
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
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SrpipeError(f"{path} is not valid YAML: {exc}".replace("\n", " ")) from None
        except UnicodeDecodeError:
            raise SrpipeError(
                f"{path} is not UTF-8 text (a binary file?); give a YAML config file"
            ) from None
        except OSError as exc:
            raise SrpipeError(f"cannot read config file {path}: {exc.strerror or exc}") from None
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


@dataclass(frozen=True)
class Field:
    """What one config key accepts: ``kind`` (whole, number, flag, text, optional_text,
    device, choice, mapping, numbers, wholes) and its bounds or choices."""

    kind: str
    low: float | None = None
    high: float | None = None  # exclusive
    choices: tuple[Any, ...] = ()
    length: int | None = None  # for lists (numbers, wholes)


_WHOLE_1 = Field("whole", low=1)
_WHOLE_0 = Field("whole", low=0)
_POSITIVE = Field("number", low=0.0)  # >= 0

#: Every key of DEFAULTS and TASK_DEFAULTS with the type it takes: ``train scale=3.9`` must
#: not train x3 while its config says 3.9, and ``augment=0`` must not mean "on".
FIELDS: dict[str, Field] = {
    "name": Field("text"),
    "out_dir": Field("text"),
    "seed": Field("whole"),
    "scale": Field("choice", choices=(2, 3, 4, 8)),
    "device": Field("device"),
    "threads": _WHOLE_0,
    "model.arch": Field("text"),
    "model.hyper": Field("mapping"),
    "model.init_from": Field("optional_text"),
    "data.train": Field("text"),
    "data.train_lr": Field("optional_text"),
    "data.val": Field("optional_text"),
    "data.val_lr": Field("optional_text"),
    "data.patch_size": _WHOLE_1,
    "data.augment": Field("flag"),
    "data.batch_size": _WHOLE_1,
    "data.num_workers": _WHOLE_0,
    "data.epoch_batches": _WHOLE_1,
    "data.val_limit": _WHOLE_0,
    "loss": Field("choice", choices=tuple(ALIASES)),
    "optim.name": Field("choice", choices=("adam", "adamw")),
    "optim.lr": Field("number", low=0.0),
    "optim.betas": Field("numbers", low=0.0, high=1.0, length=2),
    "optim.eps": _POSITIVE,
    "optim.weight_decay": _POSITIVE,
    "optim.grad_clip": _POSITIVE,
    "schedule.name": Field("choice", choices=("step", "multistep", "cosine", "constant")),
    "schedule.step_size": _WHOLE_1,
    "schedule.gamma": _POSITIVE,
    "schedule.milestones": Field("wholes", low=1),
    "schedule.min_lr": _POSITIVE,
    "schedule.warmup": _WHOLE_0,
    "train.iterations": _WHOLE_1,
    "train.max_minutes": _POSITIVE,
    "train.ema": Field("number", low=0.0, high=1.0),
    "train.precision": Field("choice", choices=("fp32", "bf16", "fp16")),
    "train.channels_last": Field("flag"),
    "train.val_every": _WHOLE_1,
    "train.checkpoint_every": _WHOLE_1,
    "train.log_every": _WHOLE_1,
    "train.tensorboard": Field("flag"),
    "train.progress": Field("flag"),
    "task.name": Field("text"),
    "task.recipe": Field("choice", choices=RECIPES),
    "task.data": Field("optional_text"),
    "task.options": Field("mapping"),
    **{f"task.weights.{key}": _POSITIVE for key in TASK_DEFAULTS["weights"]},
    "task.warmup": _WHOLE_0,
    "task.cqmix_patch": _WHOLE_1,
    "task.optim.name": Field("choice", choices=("adam", "adamw", "sgd")),
    "task.optim.lr": _POSITIVE,
    "task.optim.momentum": _POSITIVE,
    "task.optim.weight_decay": _POSITIVE,
    "task.optim.grad_clip": _POSITIVE,
}


def _number(value: Any) -> float | None:
    """``value`` as a number, or None. YAML 1.1 reads ``1e-4`` (no dot) as a string, which
    users mean as a number; a bool is never a number (``lr: yes`` is a mistake)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _whole(value: Any) -> int | None:
    """``value`` as a whole number (``1e5`` and ``4.0`` are; ``3.9`` and ``true`` are not)."""
    number = _number(value)
    if number is None or not math.isfinite(number) or not number.is_integer():
        return None
    return int(number)


def _expects(field: Field) -> str:
    """What a field takes, as the error says it."""
    bounds = ""
    if field.low is not None:
        bounds = f" >= {field.low:g}"
    if field.high is not None:
        bounds = f" in [{field.low:g}, {field.high:g})"
    return {
        "whole": f"a whole number{bounds}",
        "number": f"a number{bounds}",
        "flag": "true or false",
        "text": "text",
        "optional_text": "text or null",
        "device": "auto, cpu, mps, cuda or cuda:N",
        "choice": "one of " + ", ".join(str(c) for c in field.choices),
        "mapping": "a mapping (key: value, ...)",
        "numbers": f"a list of {field.length} numbers{bounds}",
        "wholes": f"a list of whole numbers{bounds}",
    }[field.kind]


def _in_bounds(number: float, field: Field) -> bool:
    return (field.low is None or number >= field.low) and (
        field.high is None or number < field.high
    )


def _checked(key: str, value: Any, field: Field) -> Any:
    """``value`` in the form the trainer uses, or a one-line error naming key, value and what
    the key expects."""
    out: Any = _UNFIT
    if field.kind == "whole":
        whole = _whole(value)
        out = whole if whole is not None and _in_bounds(whole, field) else _UNFIT
    elif field.kind == "number":
        number = _number(value)
        ok = number is not None and math.isfinite(number) and _in_bounds(number, field)
        out = number if ok else _UNFIT
    elif field.kind == "flag":
        out = value if isinstance(value, bool) else _UNFIT
    elif field.kind in ("text", "optional_text"):
        if field.kind == "optional_text" and (value is None or isinstance(value, str)):
            out = value  # "" or null: none (data.val="" validates on nothing)
        elif isinstance(value, str) and value:
            out = value
        elif isinstance(value, int) and not isinstance(value, bool):
            out = str(value)  # name=2024: YAML reads a number, the user means the text
    elif field.kind == "choice":
        if field.choices and all(isinstance(c, int) for c in field.choices):
            whole = _whole(value)
            out = whole if whole in field.choices else _UNFIT
        else:
            text = str(value).lower() if isinstance(value, str) else None
            out = text if text in field.choices else _UNFIT
    elif field.kind == "device":
        text = value if isinstance(value, str) else ""
        out = text if re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text) else _UNFIT
    elif field.kind == "mapping":
        out = dict(value or {}) if isinstance(value, dict) or value is None else _UNFIT
    elif field.kind in ("numbers", "wholes"):
        convert = _number if field.kind == "numbers" else _whole
        if isinstance(value, (list, tuple)) and (field.length in (None, len(value))):
            items = [convert(item) for item in value]
            if all(item is not None and _in_bounds(item, field) for item in items):
                out = items
    if out is _UNFIT:
        raise SrpipeError(f"config {key}={value!r}: expected {_expects(field)}")
    return out


_UNFIT = object()


def _check_fields(config: dict[str, Any], prefix: str = "") -> None:
    """Check (and normalise in place) every key that has a field, recursing into sections."""
    for key, value in list(config.items()):
        dotted = f"{prefix}{key}"
        field = FIELDS.get(dotted)
        if field is not None:
            config[key] = _checked(dotted, value, field)
        elif isinstance(value, dict):
            _check_fields(value, dotted + ".")


def validate(config: dict[str, Any]) -> None:
    """Check every value's type, range and choice; raise a one-line SrpipeError on the first
    problem. Values are normalised in place (``4.0`` -> 4, ``"1e-4"`` -> 0.0001), so the
    config a run saves is the one it trains with."""
    if "task" in config and not config["task"].get("name"):
        raise SrpipeError("a task-driven run needs a task: --task NAME (e.g. --task detect)")
    _check_fields(config)
    arch = (config.get("model") or {}).get("arch")
    if arch is not None and arch not in get_plugin_manager().models():
        known = ", ".join(sorted(get_plugin_manager().models()))
        raise SrpipeError(
            f"config model.arch={arch!r}: not a registered SR model; one of: {known} "
            "(`srpipe models` lists them)"
        )


def run_dir(config: dict[str, Any]) -> Path:
    """The run's output folder (``out_dir`` with ``{name}`` filled in)."""
    return Path(str(config["out_dir"]).replace("{name}", str(config["name"])))


def dump_config(config: dict[str, Any]) -> str:
    """The resolved config as YAML (written beside the checkpoints)."""

    return yaml.safe_dump(config, sort_keys=False)
