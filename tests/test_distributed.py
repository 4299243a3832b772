"""Sharding over torchrun: two gloo CPU ranks give what one process gives.

One torchrun launch (a module fixture; spawning ranks costs seconds) runs every distributed
case in turn, the last of which fails on purpose; the tests compare its outputs with
single-process runs made here, in the test process. Videos are written with FFV1 on both
sides (a lossless codec): a video split into frame ranges is stitched from each rank's
encode, so only a lossless codec makes its decoded frames comparable to one process's.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from srpipe.comparison.harness import Comparison
from srpipe.comparison.sharding import shares
from srpipe.distributed import FrameRange, Workers, assign, describe_items, frame_ranges
from srpipe.task import Dataset, Item, Task
from tests.golden.make_inputs import detect_folder, sr_folder
from tests.plugins.video.video_clips import write_cv2_video

ROOT = Path(__file__).resolve().parents[1]

#: what both sides run: (name, task, data folder, compare() keywords)
EVALS = {
    "sr": ("sr", "sr", {"sr": ["edsr"], "compare": ["bicubic", "lr"], "bootstrap": 40}),
    "detect": ("detect", "det", {"sr": ["edsr"], "compare": ["bicubic"], "bootstrap": 30}),
}
COMMON = {"scales": [4], "seed": 3, "chunk_size": 1, "device": "cpu", "n_crops": 1}
#: commands both sides run through the CLI, by output name (OUT, DATA: filled in)
COMMANDS = {
    "run-folder": ["run", "detect", "DATA/det/images/val", "--sr", "bicubic", "--scale", "2",
                   "--batch-size", "1", "--device", "cpu", "-o", "OUT"],
    "run-video": ["run", "detect", "DATA/clip.avi", "--sr", "bicubic", "--scale", "2",
                  "--device", "cpu", "-o", "OUT"],
    # frames 1, 3, ..., 23 in batches of 2: rank 1 records 13..23 after predicting 9, 11
    # (the warping error of frame 13 needs frame 11)
    "run-long-video": ["run", "video", "DATA/long.avi", "--sr", "bicubic", "--scale", "2",
                       "--start", "1", "--stride", "2", "--batch-size", "2", "--device", "cpu",
                       "-o", "OUT/long_x2.mp4"],
    "upscale": ["upscale", "DATA/sr", "OUT", "--sr", "edsr", "--scale", "4", "--batch-size", "1",
                "--device", "cpu"],
}  # fmt: skip


def cli(args: list[str], data: Path, out: Path) -> None:
    """One srpipe command in this process (``srpipe.cli.main`` exits; success goes on)."""
    from srpipe.cli import main

    filled = [a.replace("DATA", str(data)).replace("OUT", str(out)) for a in args]
    try:
        main(filled)
    except SystemExit as exc:
        if exc.code:
            raise


DRIVER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    import srpipe
    import srpipe_video.writer
    from srpipe.cli import main
    from srpipe import hookimpl
    from srpipe.plugins import get_plugin_manager
    from tests.test_distributed import (
        COMMANDS, EVALS, COMMON, LAZY, DecodeLogged, FailingFrames, FailingTask,
        lossless_encoder, cli,
    )

    root = Path(sys.argv[1])
    rank = int(os.environ["RANK"])
    srpipe_video.writer.h264_encoder = lossless_encoder
    for name, (task, folder, options) in EVALS.items():
        srpipe.compare(task, root / "data" / folder, out=root / "dist" / name,
                       **COMMON, **options)
    os.environ["DECODE_LOG"] = str(root / "dist" / f"decoded.rank{rank}")
    os.environ["INDEX_LOG"] = str(root / "dist" / f"index.rank{rank}")
    srpipe.compare(DecodeLogged, None, **LAZY)
    for name, args in COMMANDS.items():
        cli(args, root / "data", root / "dist" / name)

    class Plugin:
        @hookimpl
        def srpipe_register_tasks(self):
            return [FailingTask, FailingFrames]

    get_plugin_manager().register(Plugin(), name="failing-task")
    try:
        main(["run", "failing-frames", str(root / "data" / "long.avi"), "--sr", "none",
              "--device", "cpu", "-o", str(root / "dist" / "failing-run")])
    except SystemExit as exc:
        (root / "dist" / f"failing-run.rank{rank}.code").write_text(str(exc.code))
    main(["eval", "failing", "--sr", "none", "--compare", "bicubic", "--scale", "2",
          "--bootstrap", "0", "--device", "cpu", "-o", str(root / "dist" / "failing")])
    """
)


class FailingTask(Task):
    """Mean brightness; ``predict`` raises on item ``img13`` (on rank 1 under 2 ranks)."""

    name = "failing"
    metrics = ("brightness",)
    evaluate_is_item_mean = True

    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        rng = np.random.default_rng(0)
        items = [
            Item(f"img{i:02d}", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for i in range(16)
        ]
        return Dataset("noise", items)

    def predict(self, images: Any) -> list[Any]:
        poison = self.load_dataset(None).items[13].image
        if any(np.array_equal(image, poison) for image in images):
            raise RuntimeError("the detector fell over")
        return [float(image.mean()) for image in images]

    def item_scores(self, prediction: Any, item: Item) -> dict[str, float]:
        return {"brightness": prediction}


def decode_logged(index: int) -> np.ndarray:
    """An item's image, decoded on demand; which rank decoded which item goes to a log."""
    with open(os.environ["DECODE_LOG"], "a") as log:
        log.write(f"img{index:02d}\n")
    return np.full((8, 8, 3), 10 * index, np.uint8)


class DecodeLogged(Task):
    """A lazy reader's items (``Item.load``): the log says who decoded what, and when."""

    name = "decode-logged"
    metrics = ("brightness",)
    evaluate_is_item_mean = True

    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        if "INDEX_LOG" in os.environ:  # which rank read the index
            with open(os.environ["INDEX_LOG"], "a") as log:
                log.write("read\n")
        load = functools.partial
        items = [Item(f"img{i:02d}", load=load(decode_logged, i), size=(8, 8)) for i in range(16)]
        return Dataset("lazy", items)

    def predict(self, images: Any) -> list[Any]:
        return [float(image.mean()) for image in images]

    def item_scores(self, prediction: Any, item: Item) -> dict[str, float]:
        return {"brightness": prediction}


#: the lazy eval both ranks run: two variants, no crops (they would decode a few again)
LAZY = {"sr": [], "compare": ["bicubic"], "scales": [2], "bootstrap": 0, "n_crops": 0,
        "chunk_size": 2, "device": "cpu"}  # fmt: skip


def lossless_encoder() -> str:
    """Stands in for ``srpipe_video.writer.h264_encoder``: FFV1 instead of H.264."""
    return "ffv1"


class FailingFrames(Task):
    """Frame brightness; ``predict`` raises on frame 17 (rank 1's range under 2 ranks)."""

    name = "failing-frames"

    def predict(self, images: Any) -> list[Any]:
        # synthetic_frame(i) is 20 + 10 i bright away from its square (MJPG keeps it near)
        if any(abs(int(image[-1, -1].mean()) - 190) < 5 for image in images):
            raise RuntimeError("the tracker fell over")
        return [float(image.mean()) for image in images]

    def records(self, prediction: Any) -> list[dict[str, Any]]:
        return [{"brightness": round(prediction, 3)}]


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.Popen[str]]:
    """Start the torchrun job; the single-process runs go on meanwhile (two cores)."""
    root = tmp_path_factory.mktemp("dist")
    sr_folder(root / "data" / "sr")
    detect_folder(root / "data" / "det")
    write_cv2_video(root / "data" / "clip.avi", count=6, fourcc="MJPG")
    write_cv2_video(root / "data" / "long.avi", count=24, fourcc="MJPG")
    driver = root / "driver.py"
    driver.write_text(DRIVER)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "SRPIPE_CACHE": str(root / "dist" / "cache"),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    job = subprocess.Popen(
        [*cmd, str(driver), str(root)], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return root, job


@pytest.fixture(scope="module")
def single(launched: tuple[Path, Any]) -> Path:
    """The same evaluations in this process, while the job runs."""
    import srpipe

    root = launched[0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SRPIPE_CACHE", str(root / "single" / "cache"))
        patch.setattr("srpipe_video.writer.h264_encoder", lossless_encoder)
        for name, (task, folder, options) in EVALS.items():
            out = root / "single" / name
            srpipe.compare(task, root / "data" / folder, out=out, **COMMON, **options)
        for name, args in COMMANDS.items():
            cli(args, root / "data", root / "single" / name)
    return root


@pytest.fixture(scope="module")
def finished(launched: tuple[Path, subprocess.Popen[str]], single: Path) -> tuple[Path, int, str]:
    root, job = launched
    output, _ = job.communicate(timeout=900)
    return root, job.returncode, output


def _normalise(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _normalise(v, root)
            for k, v in value.items()
            if k != "environment" and not k.startswith("seconds_")
        }
    if isinstance(value, list):
        return [_normalise(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(f"{root}/dist", "<side>").replace(f"{root}/single", "<side>")
    return value


@pytest.mark.parametrize("name", list(EVALS))
def test_two_ranks_report_equals_one_process(name: str, finished: Any) -> None:
    root, _, output = finished
    dist_file = root / "dist" / name / "report.json"
    assert dist_file.is_file(), output
    single = _normalise(json.loads((root / "single" / name / "report.json").read_text()), str(root))
    dist = _normalise(json.loads(dist_file.read_text()), str(root))
    assert dist["dataset"]["items"] >= 3  # two ranks really shared the items
    assert dist == single
    # the other rank wrote nothing besides rank 0's reports
    assert sorted(p.name for p in (root / "dist" / name).iterdir()) == sorted(
        p.name for p in (root / "single" / name).iterdir()
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _decoded(path: Path) -> list[tuple[int, np.ndarray]]:
    """(pts, RGB frame) of every frame of a video."""
    import av

    with av.open(str(path)) as container:
        return [(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_two_ranks_outputs_equal_one_process(name: str, finished: Any) -> None:
    root, _, output = finished
    dist, single = _files(root / "dist" / name), _files(root / "single" / name)
    assert sorted(dist) == sorted(single), output
    assert len(dist) >= 3
    for path, content in single.items():
        if path.endswith("summary.json"):  # timings differ; every other field must not
            got, want = (_normalise(json.loads(c), str(root)) for c in (dist[path], content))
            got.pop("seconds"), want.pop("seconds")
            assert got == want, path
        elif path.endswith(".mp4"):  # stitched from two encodes: the frames must match
            got, want = (
                _decoded(root / "dist" / name / path),
                _decoded(root / "single" / name / path),
            )
            assert len(got) == len(want) >= 2, path
            for (got_pts, got_image), (want_pts, want_image) in zip(got, want):
                assert got_pts == want_pts, path
                np.testing.assert_array_equal(got_image, want_image, err_msg=path)
        else:
            assert dist[path] == content, path


def test_two_ranks_each_decode_only_their_items(finished: Any) -> None:
    root, _, _ = finished
    decoded = [(root / "dist" / f"decoded.rank{r}").read_text().split() for r in (0, 1)]
    # each item decoded once per variant (hr, bicubic), by the one rank that scores it
    assert sorted(decoded[0] + decoded[1]) == sorted([f"img{i:02d}" for i in range(16)] * 2)
    assert not set(decoded[0]) & set(decoded[1]) and all(decoded)
    items = DecodeLogged().load_dataset(None).items
    for rank, share in enumerate(shares(items, 2, 2, sequential_groups=False)):
        assert set(decoded[rank]) == {f"img{i:02d}" for a, b in share for i in range(a, b)}


def test_only_rank_0_reads_the_index(finished: Any) -> None:
    root, _, _ = finished
    assert (root / "dist" / "index.rank0").read_text().split() == ["read"]
    # rank 1 got the items from rank 0 and still decoded its share (the test above)
    assert not (root / "dist" / "index.rank1").exists()


def test_long_video_was_split_with_context(finished: Any) -> None:
    root, _, output = finished
    rows = json.loads((root / "dist" / "run-long-video" / "long_x2.records.json").read_text())
    assert [r["frame"] for r in rows] == list(range(1, 24, 2)), output
    # the first frame of rank 1's range (13) has its warping error against frame 11
    assert rows[0]["warp_error"] is None and rows[6]["warp_error"] is not None


def test_failing_rank_stops_the_job_naming_rank_and_item(finished: Any) -> None:
    root, code, output = finished
    assert code != 0
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: rank 1 failed: frames 12..23 of long.avi: RuntimeError: the tracker fell over",
        "Error: rank 1 failed: item 'img13' (x2, variant 'hr'): RuntimeError: the detector "
        "fell over",
    ], output
    # the failed run left no video, no records and no parts, on either rank
    assert [(root / "dist" / f"failing-run.rank{r}.code").read_text() for r in (0, 1)] == ["1"] * 2
    assert list((root / "dist" / "failing-run").rglob("*")) == []
    # no report that looks complete
    assert not (root / "dist" / "failing" / "report.json").exists()


# -- the plan, without launching anything ---------------------------------------------------
def test_assign_balances_and_keeps_order() -> None:
    shares = assign([4, 4, 4, 4, 1], 2)
    assert shares == [[0, 2, 4], [1, 3]]
    assert assign([1, 1], 3) == [[0], [1], []]


def test_frame_ranges_are_whole_batches_in_order_with_context() -> None:
    # 10 frames in batches of 3 (3, 3, 3, 1) over 2 ranks; one frame of context = one batch
    assert frame_ranges(10, 3, 2, 1) == [FrameRange(0, 0, 6), FrameRange(3, 6, 10)]
    assert frame_ranges(10, 3, 2, 0) == [FrameRange(0, 0, 6), FrameRange(6, 6, 10)]
    # five frames of context reach two batches back, never before the first frame
    assert frame_ranges(12, 3, 3, 5) == [
        FrameRange(0, 0, 6), FrameRange(0, 6, 9), FrameRange(3, 9, 12)
    ]  # fmt: skip
    # fewer batches than ranks: rank 0 (which stitches) has frames, the last rank none
    assert frame_ranges(3, 4, 2, 1) == [FrameRange(0, 0, 3), FrameRange(3, 3, 3)]


def test_describe_items() -> None:
    assert describe_items(["a"]) == "item 'a'"
    assert describe_items(["a", "b", "c"]) == "items 'a'..'c'"


def test_a_world_of_one_agrees_with_itself() -> None:
    one = Workers()
    assert one.any_rank(True) and not one.any_rank(False)
    assert one.mean(2.5) == 2.5


def test_cpu_tensors_travel_through_the_gloo_group() -> None:
    # a GPU machine's default group is NCCL, which moves CUDA tensors only
    gloo = object()
    ranks = Workers(0, 2, 0, gloo)
    assert ranks.tensor_group("cpu") is gloo
    assert ranks.tensor_group("cuda:1") is None


class _Frames(Task):
    name = "frames"
    metrics = ("m",)
    evaluate_is_item_mean = True
    sequential_groups = True


def _items(groups: list[str | None]) -> Dataset:
    image = np.zeros((4, 4, 3), np.uint8)
    return Dataset("d", [Item(str(i), image, group=g) for i, g in enumerate(groups)])


def test_shares_are_single_process_chunks() -> None:
    data = _items([None] * 7)
    comparison = Comparison(FailingTask(), data, chunk_size=3, ranks=Workers(0, 2))
    assert comparison.shares() == [[(0, 3), (6, 7)], [(3, 6)]]
    one = Comparison(FailingTask(), data, chunk_size=3, ranks=Workers())
    assert one.shares() == [[(0, 3), (3, 6), (6, 7)]]


def test_sequential_groups_stay_on_one_rank_and_chunks_never_mix_groups() -> None:
    data = _items(["a", "a", "a", "b", "b", "c", "c", "c", "c"])
    comparison = Comparison(_Frames(), data, chunk_size=2, ranks=Workers(0, 2))
    shares = comparison.shares()
    assert shares == [[(0, 2), (2, 3)], [(3, 5), (5, 7), (7, 9)]]
    single = Comparison(_Frames(), data, chunk_size=2, ranks=Workers()).shares()
    assert single == [[(0, 2), (2, 3), (3, 5), (5, 7), (7, 9)]]
