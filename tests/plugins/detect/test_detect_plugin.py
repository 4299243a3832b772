"""The plugin's hooks, called directly and through srpipe's plugin manager."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from srpipe_detect import plugin
from srpipe_detect.datasets import CocoReader, YoloReader
from srpipe_detect.task import DetectTask


def test_hooks_return_what_they_provide() -> None:
    assert plugin.srpipe_register_tasks() == [DetectTask]
    kinds = {type(r) for r in plugin.srpipe_register_datasets()}
    assert kinds == {YoloReader, CocoReader}
    assert plugin.srpipe_register_commands(parent="data") == []
    (command,) = plugin.srpipe_register_commands(parent="data synth")
    assert command.name == "detect"
    from srpipe_detect.slicing import sahi_available

    variants = plugin.srpipe_add_variants(task=DetectTask(), scale=4)
    # the sliced variant is sahi's: without the optional package there is none
    assert [v.name for v in variants] == (["sliced"] if sahi_available() else [])

    class Other:
        name = "faces"

    assert plugin.srpipe_add_variants(task=Other(), scale=4) == []


def test_registered_through_entry_point() -> None:
    from srpipe.plugins import get_plugin_manager

    assert "detect" in get_plugin_manager().tasks()
    from srpipe.plugins import get_plugin_manager

    assert {r.format for r in get_plugin_manager().readers("detect")} >= {"yolo", "coco"}


def test_cli_data_synth_detect(tmp_path: Path) -> None:
    from srpipe.cli import cli

    out = tmp_path / "synth"
    result = CliRunner().invoke(
        cli,
        [
            "data",
            "synth",
            "detect",
            "--out",
            str(out),
            "--train",
            "1",
            "--val",
            "1",
            "--size",
            "64",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "data.yaml").is_file()


def test_cli_run_detect_image_and_offline_error(tiny_synth: Path, tmp_path: Path) -> None:
    import json

    from srpipe.cli import cli

    image = sorted((tiny_synth / "images" / "val").glob("*.png"))[0]
    out = tmp_path / "run"
    args = ["run", "detect", str(image), "--sr", "nearest", "--scale", "2", "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--detector", "yolov8n.yaml", "--conf", "0.0"])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "records.json").read_text())
    assert (out / "annotated" / f"{image.stem}.png").is_file()
    if rows:  # an untrained net finds random boxes: check the two coordinate systems
        assert rows[0]["x2_sr"] == pytest.approx(2 * rows[0]["x2"], abs=0.02)
    result = CliRunner().invoke(cli, [*args, "--detector", "yolo11n.pt"])
    assert result.exit_code == 1
    # (main() prints SrpipeError as one line; the bare click group hands it back)
    assert "yolo11n.pt is not a local file and srpipe is offline" in str(result.exception)
