"""Refuse torch pickles that would run code before a third-party loader unpickles them.

ultralytics (and other libraries srpipe hands weight files to) call
``torch.load(weights_only=False)``: a ``.pt`` from the internet can run any code the moment
it is loaded. :func:`check_pickle` reads the file first with ``torch.load(weights_only=True)``,
whose unpickler builds only tensors, plain containers and the globals it is given. The
globals it is given are *classes* from the library's own modules (``ultralytics.*``) and from
``torch.nn``: a model checkpoint is a tree of module objects, and rebuilding a class
instance that way runs no code of the file's choosing. A function (``os.system``,
``torch.hub.load``, ``builtins.exec``) or a class from any other module is refused.

ONNX and safetensors files hold no code and need no check. ``--trust-weights`` skips the
check for a file the user vouches for; srpipe says so on stderr each time.
"""

from __future__ import annotations

import importlib
import pickle
import re
import sys
import types
import warnings
from collections.abc import Sequence
from pathlib import Path

from srpipe.errors import SrpipeError

#: modules whose classes any torch model checkpoint may rebuild
TORCH_MODULE_PREFIXES = ("torch.nn.modules.", "torch.nn.parameter")
#: suffixes of files that are torch pickles (zip or legacy); others are not checked here
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl")


def is_pickle_file(path: str | Path) -> bool:
    """True when ``path`` is a torch pickle by content or name (not ONNX/safetensors/yaml)."""
    path = Path(path)
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(4)
    # zip (torch >= 1.6) or a raw pickle stream (protocol 2+ opens with 0x80)
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" or path.suffix in PICKLE_SUFFIXES


def _allowed_class(name: str, library_prefixes: Sequence[str]) -> type | None:
    """The class ``name`` refers to when it is on the allow-list, else None.

    On the list: ``torch.nn.Module`` subclasses (and ``SimpleNamespace`` ones, which hold
    training arguments) *defined* in the library's or torch.nn's modules. Checking where the
    class is defined matters: ``somelib.utils.Popen`` may be ``subprocess.Popen`` imported
    there, and a class the unpickler may call can run code of the file's choosing.
    """

    from torch import nn

    prefixes = (*library_prefixes, *TORCH_MODULE_PREFIXES)

    def listed(module: str) -> bool:
        return any(module == p.rstrip(".") or module.startswith(p) for p in prefixes)

    module_name, _, attr = name.rpartition(".")
    if not module_name or not listed(module_name):
        return None
    try:
        # importing one of the installed library's own modules runs only that library's code
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return None
    if not isinstance(obj, type) or not listed(getattr(obj, "__module__", "")):
        return None
    return obj if issubclass(obj, (nn.Module, types.SimpleNamespace)) else None


def check_pickle(
    path: str | Path,
    *,
    library: str,
    library_prefixes: Sequence[str],
    trust: bool = False,
    option: str = "--trust-weights",
) -> None:
    """Raise :class:`SrpipeError` unless ``path`` unpickles without code (see module doc).

    ``library`` names the loader in messages; ``library_prefixes`` are the module prefixes
    whose classes the file may rebuild (e.g. ``("ultralytics.",)``). With ``trust`` the file
    is not checked and a line on stderr says so.
    """
    import torch
    from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

    path = Path(path)
    if trust:
        print(
            f"{option}: loading {path} with {library} without the pickle check; a malicious "
            "file can run code now",
            file=sys.stderr,
        )
        return
    refusal = (
        f"refusing {path}: the pickle asks for {{what}}, which can run code on load; "
        f"if you trust where this file came from, add {option}"
    )
    try:
        wanted = get_unsafe_globals_in_checkpoint(str(path))
    except Exception:
        wanted = []  # not a zip checkpoint: the weights_only load below decides alone
    allowed: list[type] = []
    for name in wanted:
        cls = _allowed_class(name, library_prefixes)
        if cls is None:
            raise SrpipeError(refusal.format(what=name))
        allowed.append(cls)
    try:
        with warnings.catch_warnings(), safe_globals(allowed):
            warnings.simplefilter("ignore")
            torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if isinstance(exc, pickle.UnpicklingError) and found:
            raise SrpipeError(refusal.format(what=found.group(1))) from None
        reason = str(exc).strip().splitlines()[0].split(". ")[0][:100] if str(exc).strip() else ""
        raise SrpipeError(
            f"{path} is not a readable torch checkpoint ({reason or type(exc).__name__}); "
            f"give {library} weights (.pt) or an .onnx export"
        ) from None
