"""Weight files that try to run code: never unpickled unless the user says they trust them."""

from __future__ import annotations

from subprocess import Popen  # noqa: F401 - the test below asks for it through this module

import numpy as np
import pytest

from srpipe.image.io import write_image
from srpipe.pickle_check import _allowed_class

from .conftest import assert_one_line_error, write_malicious_pickle


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    write_image(path, np.full((40, 40, 3), 90, np.uint8))
    return path


@pytest.mark.parametrize("name", ["evil.pt", "evil.pth", "evil.onnx"])
def test_malicious_detector_never_runs(tmp_path, image, marker, srpipe_cli, name):
    evil = write_malicious_pickle(tmp_path / name, marker)
    outcome = srpipe_cli("run", "detect", image, "--detector", evil, "-o", tmp_path / "out")
    assert_one_line_error(outcome, "refusing", name, "posix.system", "--trust-weights")
    assert not marker.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_malicious_sr_checkpoint_never_runs(tmp_path, image, marker, srpipe_cli):
    evil = write_malicious_pickle(tmp_path / "sr.pth", marker)
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", evil, "--scale", 2)
    assert outcome.code != 0 and "Traceback" not in outcome.err
    assert len(outcome.error_lines) == 1, outcome.err
    assert not marker.exists()
    assert not (tmp_path / "o.png").exists()


def test_library_class_from_foreign_module_is_refused(tmp_path):
    """A class the library merely imports (subprocess.Popen) is not the library's own."""
    import subprocess

    import torch

    from srpipe import check_pickle
    from srpipe.errors import SrpipeError

    class Spawn:
        def __reduce__(self):
            return (subprocess.Popen, (["true"],))

    path = tmp_path / "spawn.pt"
    torch.save({"x": Spawn()}, path)
    with pytest.raises(SrpipeError, match=r"refusing .*Popen"):
        check_pickle(path, library="test", library_prefixes=("subprocess",))
    assert _allowed_class(f"{__name__}.Popen", ("tests.",)) is None
    assert _allowed_class("torch.nn.modules.conv.Conv2d", ()) is torch.nn.Conv2d


def test_bundled_detector_passes_the_check():
    from srpipe_detect.detector import BUNDLED_WEIGHTS

    from srpipe import check_pickle

    check_pickle(BUNDLED_WEIGHTS, library="ultralytics", library_prefixes=("ultralytics.",))


def test_trust_weights_is_printed(tmp_path, image, srpipe_cli):
    import torch

    plain = tmp_path / "plain.pt"
    torch.save({"a": torch.zeros(2)}, plain)  # not a detector: ultralytics then refuses it
    outcome = srpipe_cli("run", "detect", image, "--detector", plain, "--trust-weights")
    assert "--trust-weights: loading" in outcome.err and "without the pickle check" in outcome.err
    assert_one_line_error(outcome, "cannot load detector")
