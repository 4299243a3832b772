"""RunSettings: run's defaults, written once, are those of the command and the Python API."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from srpipe.errors import SrpipeError
from srpipe.running.settings import DEFAULTS, RunSettings, default_out, field_names


def test_the_command_shows_the_settings_defaults() -> None:
    from srpipe.commands.run import _common_params

    declared = {p.name: p.default for p in _common_params() if p.name in field_names()}
    assert declared == {name: getattr(DEFAULTS, name) for name in declared}
    assert set(declared) == set(field_names())  # every setting is an option


def test_the_python_api_writes_no_defaults_of_its_own() -> None:
    from srpipe.running.runner import run, run_task

    for function in (run, run_task):
        names = set(inspect.signature(function).parameters)
        assert not names & set(field_names()), function.__name__


def test_sr_none_upscales_by_one() -> None:
    assert RunSettings(sr="none", scale=4).effective_scale == 1
    assert RunSettings(sr="None", scale=4).effective_scale == 1
    assert RunSettings(sr="bicubic", scale=3).effective_scale == 3


@pytest.mark.parametrize(
    "changes", [{"start": -1}, {"stride": 0}, {"start": 5, "end": 5}, {"batch_size": 0}]
)
def test_settings_that_cannot_run_are_refused(changes: dict[str, int]) -> None:
    with pytest.raises(SrpipeError):
        DEFAULTS.replace(**changes)


def test_replace_names_the_known_settings() -> None:
    with pytest.raises(TypeError, match=r"unknown run setting.*known: sr, scale"):
        DEFAULTS.replace(scales=[2])
    assert DEFAULTS.replace(stride=2).stride == 2 and DEFAULTS.stride == 1


def test_default_out_is_named_after_task_and_input() -> None:
    assert default_out("detect", Path("clips/a.mp4")) == Path("runs/detect-a")
