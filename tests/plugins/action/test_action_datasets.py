"""The action data layouts, their clusters, and their frames as harness items."""

from __future__ import annotations

from pathlib import Path

import pytest
from action_clips import moving_frames, write_clip


def test_ucf_clips_of_one_class_and_group_form_one_cluster() -> None:
    from srpipe_action.datasets import cluster_of

    assert cluster_of("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01") == "ApplyEyeMakeup_g08"
    assert cluster_of("v_ApplyEyeMakeup_g08_c04") == "ApplyEyeMakeup_g08"
    # group numbers repeat across classes without relation
    assert cluster_of("v_Archery_g08_c01") != cluster_of("v_ApplyEyeMakeup_g08_c01")
    assert cluster_of("April_09_brush_hair_u_nm_np1_ba_goo_0") == (
        "April_09_brush_hair_u_nm_np1_ba_goo_0"
    )


def test_class_folder_reads_every_clip_without_split_files(ucf_dir: Path) -> None:
    from srpipe_action.datasets import class_folder_entries

    entries, what = class_folder_entries(ucf_dir)
    assert len(entries) == 8 and "no official split" in what
    assert {e.label for e in entries} == {"Left", "Right"}
    assert len({e.cluster for e in entries}) == 4  # 2 classes x 2 groups


def test_class_folder_keeps_the_ucf101_test_list(ucf_dir: Path, tmp_path: Path) -> None:
    import shutil

    from srpipe_action.datasets import class_folder_entries

    root = Path(shutil.copytree(ucf_dir, tmp_path / "UCF"))
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "testlist01.txt").write_text("Left/v_Left_g01_c01.avi\nRight/v_Right_g02_c02.avi\n")
    (lists / "testlist02.txt").write_text("Left/v_Left_g02_c01.avi\n")
    entries, what = class_folder_entries(root, split=1)
    assert sorted(e.video for e in entries) == ["Left/v_Left_g01_c01", "Right/v_Right_g02_c02"]
    assert "testlist01.txt" in what
    assert [e.video for e in class_folder_entries(root, split=2)[0]] == ["Left/v_Left_g02_c01"]


def test_class_folder_keeps_the_hmdb51_test_clips(tmp_path: Path) -> None:
    from srpipe_action.datasets import class_folder_entries

    for name in ("a.avi", "b.avi", "c.avi"):
        write_clip(tmp_path / "brush_hair" / name, moving_frames(4, 1))
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("a.avi 1\nb.avi 2\nc.avi 0\n")
    entries, _ = class_folder_entries(tmp_path, split=1)
    assert [e.video for e in entries] == ["brush_hair/b"]
    assert entries[0].cluster == "brush_hair/b"  # no UCF group: the video is its own cluster


def test_kinetics_csv_finds_local_clips_and_counts_the_rest(tmp_path: Path) -> None:
    from srpipe_action.datasets import kinetics_csv_entries

    write_clip(tmp_path / "test" / "abseiling" / "abc_000010_000020.mp4", moving_frames(4, 1))
    csv = tmp_path / "test.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,abc,10,20,test\n"
        "air drumming,missing,0,10,test\n"
    )
    entries, what = kinetics_csv_entries(csv)
    assert [(e.label, e.cluster, e.video) for e in entries] == [
        ("abseiling", "abc", "abc_000010_000020")
    ]
    assert "1 not present locally" in what


def test_kinetics_csv_with_paths_and_an_empty_one(tmp_path: Path) -> None:
    from srpipe_action.datasets import kinetics_csv_entries

    from srpipe.errors import SrpipeError

    write_clip(tmp_path / "clips" / "one.mp4", moving_frames(4, 1))
    csv = tmp_path / "list.csv"
    csv.write_text("label,path\nwaving,clips/one.mp4\n")
    assert [e.path.name for e in kinetics_csv_entries(csv)[0]] == ["one.mp4"]
    csv.write_text("label,path\nwaving,clips/none.mp4\n")
    with pytest.raises(SrpipeError, match="present locally"):
        kinetics_csv_entries(csv)


def test_unlabeled_folder_and_frame_items(tmp_path: Path) -> None:
    from srpipe_action.datasets import frame_items, unlabeled_entries

    write_clip(tmp_path / "x.mp4", moving_frames(12, 1))
    write_clip(tmp_path / "y.mp4", moving_frames(12, -1))
    entries, _ = unlabeled_entries(tmp_path)
    assert [e.label for e in entries] == [None, None]
    # 10 fps source, a 5 fps classifier: every 2nd frame; 2 windows of 3 frames per video
    items = frame_items(entries, clip_length=3, frame_rate=5.0, clips_per_video=2)
    assert len(items) == 12
    first = items[:3]
    assert [i.meta["source_frame"] for i in first] == [0, 2, 4]
    assert [i.meta["previous_id"] for i in first] == [None, first[0].id, first[1].id]
    assert [i.meta["source_frame"] for i in items[3:6]] == [7, 9, 11]
    assert {i.group for i in items[:6]} == {"x"} and items[0].image.shape == (48, 64, 3)


def test_limit_entries_takes_classes_in_turn(ucf_dir: Path) -> None:
    from srpipe_action.datasets import class_folder_entries, limit_entries

    entries, _ = class_folder_entries(ucf_dir)
    chosen = limit_entries(entries, 3)
    assert [e.label for e in chosen] == ["Left", "Left", "Right"]
