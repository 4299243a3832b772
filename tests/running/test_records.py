"""What a run leaves behind: paths, records with their upscaled columns, CSV."""

from __future__ import annotations

from pathlib import Path

from srpipe.running.records import RunOutputs, merge_rows, to_csv


def test_moved_fields_are_decided_over_the_whole_run() -> None:
    pairs = [({"x": 0, "c": 1}, {"x": 0, "c": 1}), ({"x": 3, "c": 1}, {"x": 12, "c": 1})]
    merged = merge_rows(pairs)
    assert merged[0] == {"x": 0, "c": 1, "x_sr": 0}
    assert merged[1] == {"x": 3, "c": 1, "x_sr": 12}


def test_csv_has_every_column_in_order_of_appearance() -> None:
    text = to_csv([{"a": 1}, {"a": 2, "b": 3}])
    assert text.splitlines() == ["a,b", "1,", "2,3"]


def test_a_video_output_names_its_records_after_itself() -> None:
    outputs = RunOutputs.plan(Path("runs/a.mp4"), Path("in/clip.avi"), "detect", frames=True)
    assert outputs.folder == Path("runs") and outputs.video == Path("runs/a.mp4")
    assert [p.name for p in outputs.record_files] == [
        "a.records.json", "a.records.csv", "a.summary.json",
    ]  # fmt: skip


def test_a_folder_output_holds_the_video_and_plain_records() -> None:
    outputs = RunOutputs.plan(Path("runs/x"), Path("in/clip.avi"), "detect", frames=True)
    assert outputs.folder == Path("runs/x") and outputs.video == Path("runs/x/clip_detect.mp4")
    assert outputs.summary == Path("runs/x/summary.json")
    # images never write a video into -o: a suffix is part of the folder name
    images = RunOutputs.plan(Path("runs/y.mp4"), Path("in/a.png"), "detect", frames=False)
    assert images.folder == Path("runs/y.mp4")
