"""srpipe_detect.options: the click options per command and the values read from the context."""

from __future__ import annotations

import pytest
from srpipe_detect.options import EVAL_CONF, RUN_CONF, DetectOptions, click_options

from srpipe.errors import SrpipeError
from srpipe.task import TaskContext


def test_options_differ_for_run_and_eval() -> None:
    run = {p.name: p for p in click_options("run")}
    ev = {p.name: p for p in click_options("eval")}
    assert "slice_size" in run and "variant_slice" in ev
    assert run["conf"].default == RUN_CONF and ev["conf"].default == EVAL_CONF


def test_values_come_from_the_context() -> None:
    ctx = TaskContext("run", options={"detector": "", "classes": "dot, 2,", "slice_size": 64})
    options = DetectOptions.from_context(ctx)
    assert options.detector is None  # an empty --detector means the default
    assert options.classes == ["dot", "2"] and options.slice_size == 64
    # absent options (a Python caller's task_options) keep the task's long-standing defaults
    assert (options.conf, options.iou, options.variant_slice) == (RUN_CONF, 0.7, 256)
    listed = DetectOptions.from_context(TaskContext("eval", options={"classes": ["person"]}))
    assert listed.classes == ["person"]


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("conf", 1.5, "--conf"),
        ("iou", 0.0, "--iou"),
        ("imgsz", 16, "--imgsz"),
        ("slice_size", 8, "--slice"),
        ("variant_slice", 8, "--slice"),
        ("overlap", 1.0, "--overlap"),
    ],
)
def test_out_of_range_values_are_one_line_errors(name: str, value: float, flag: str) -> None:
    with pytest.raises(SrpipeError, match=flag) as info:
        DetectOptions.from_context(TaskContext("eval", options={name: value}))
    assert "\n" not in str(info.value)
