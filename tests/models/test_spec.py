"""ModelSpec's scale rules: fixed-scale models vs models that take any scale >= 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from srpipe.errors import SrpipeError
from srpipe.models.spec import ModelSpec, scale_error, supports_scale

FIXED = ModelSpec("fixed", "x:y", (2, 4), "a fixed-scale model", weights={2: Path("f_x2")})
ANY = ModelSpec(
    "free",
    "x:y",
    (2, 4),
    "an any-scale model",
    weights={2: Path("f"), 4: Path("f")},
    any_scale=True,
)


@pytest.mark.parametrize(
    ("spec", "scale", "ok"),
    [
        (FIXED, 2, True),
        (FIXED, 2.0, True),
        (FIXED, 3, False),
        (FIXED, 2.5, False),
        (ANY, 3.5, True),
        (ANY, 1, True),
        (ANY, 0.5, False),
    ],
)
def test_supports_scale(spec, scale, ok):
    assert supports_scale(spec, scale) is ok


def test_scale_errors_say_what_works():
    assert isinstance(scale_error(FIXED, 3), SrpipeError)
    assert str(scale_error(FIXED, 2.5)) == "fixed supports scales x2, x4, not x2.5"
    assert str(scale_error(ANY, 0.5)) == "free upscales by any factor >= 1, not x0.5"


def test_weights_for():
    assert FIXED.weights_for(2) == Path("f_x2")
    assert FIXED.weights_for(4) is None and FIXED.weights_for(2.5) is None
    assert ANY.weights_for(3.5) == Path("f") and ANY.weights_for(8) == Path("f")
    assert ANY.weights_for(0.5) is None
