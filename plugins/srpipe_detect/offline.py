"""ultralytics, offline: settings that must be in place before it is imported.

ultralytics reads its offline switches from the environment at import time and would
otherwise try to sync settings, auto-install packages and download fonts. We only
*default* the variables, so a user who exports their own values keeps them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from srpipe.atomic import atomic_path
from srpipe.environment import cache_dir


def configure_offline_defaults() -> None:
    """Make ultralytics offline and quiet; cheap, touches no files and no network."""
    os.environ.setdefault("YOLO_OFFLINE", "true")  # ultralytics checks for exactly "true"
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir() / "ultralytics"))


def import_ultralytics():
    """Import ultralytics with settings sync off and a local font, so nothing is fetched.

    Every module that needs ultralytics goes through here instead of importing it.
    """
    configure_offline_defaults()
    config_dir = Path(os.environ["YOLO_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    _provide_font(config_dir)
    # ultralytics' import sets OMP_NUM_THREADS=1 when it is unset. torch goes first, so its
    # OpenMP pool is sized before that (a torch loaded after it would compute on one
    # thread), and the variable is put back, so the processes srpipe starts (torchrun
    # ranks, a benchmark's commands) do not inherit one thread either.
    import torch  # noqa: F401

    preset = os.environ.get("OMP_NUM_THREADS")
    try:
        import ultralytics
        from ultralytics.utils import SETTINGS
    finally:  # a failed import may have set it already
        if preset is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = preset

    if SETTINGS.get("sync", False):
        SETTINGS.update({"sync": False})
    return ultralytics


def _provide_font(config_dir: Path) -> None:
    """ultralytics downloads Arial.ttf for plotting unless one is there; use matplotlib's."""
    target = config_dir / "Arial.ttf"
    if target.exists():
        return
    try:
        import matplotlib

        source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        if source.exists():
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
    except Exception:  # a missing font only degrades plot labels
        pass
