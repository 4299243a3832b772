"""FaceTask: the run path (find, identify, draw, records) and the eval path (pairs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from srpipe_faces.datasets import BuildOptions, build_face_dataset
from srpipe_faces.pairs import folder_pairs
from srpipe_faces.synth import FOLDS, PAIRS_PER_FOLD, _pairs
from srpipe_faces.task import FaceTask, ScenePrediction

from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade, imresize


@pytest.fixture(scope="module")
def run_task(people: Path) -> FaceTask:
    task = FaceTask()
    task.configure(device="cpu", embedder="dlib", gallery=str(people), threshold=None)
    return task


def test_run_finds_and_names_faces(run_task: FaceTask, astronaut, grace_hopper) -> None:
    assert run_task.mode == "scene" and len(run_task.gallery) == 2  # "nobody" has no face
    assert run_task.gallery.skipped and "nobody" in run_task.gallery.skipped[0][0]
    preds = run_task.predict([astronaut, grace_hopper])
    assert [[f.identity for f in p.faces] for p in preds] == [["astronaut"], ["grace_hopper"]]
    assert all(f.distance < run_task.threshold for p in preds for f in p.faces)
    rows = run_task.records(preds[0])
    assert rows[0]["identity"] == "astronaut" and rows[0]["x2"] > rows[0]["x1"]
    drawn = run_task.draw(astronaut, preds[0])
    assert drawn.shape == astronaut.shape and not np.array_equal(drawn, astronaut)
    half = run_task.rescale(preds[0], 0.5)
    assert np.allclose(half.faces[0].box, preds[0].faces[0].box / 2)


def test_run_explains_images_without_faces(run_task: FaceTask) -> None:
    preds = run_task.predict([np.full((64, 64, 3), 90, np.uint8), np.zeros((8, 8), np.uint8)])
    assert all(isinstance(p, ScenePrediction) and not p.faces for p in preds)
    assert "smaller than the 20 px" in preds[1].note
    assert run_task.records(preds[0])[0]["face"] is None
    summary = run_task.summarize(preds)
    assert summary["faces"] == 0 and summary["images_without_face"] == 2
    assert "try a larger --scale" in summary["note"]


def test_run_task_end_to_end(tmp_path: Path, people: Path, astronaut) -> None:
    from srpipe.image.io import write_image
    from srpipe.running.runner import run_task

    inputs = tmp_path / "in"
    write_image(inputs / "astro_small.png", degrade(astronaut, 2))  # face about 21 px
    result = run_task(
        task_cls=FaceTask,
        task_options={"embedder": "dlib", "gallery": str(people)},
        input=inputs,
        sr="bicubic",
        scale=2,
        out=tmp_path / "out",
        device="cpu",
        quiet=True,
    )
    assert result.frames == 1 and result.summary["faces"] == 1
    records = json.loads((tmp_path / "out" / "records.json").read_text())
    assert records[0]["identity"] == "astronaut"
    # boxes are in input pixels, with the upscaled-image values beside them
    assert records[0]["x2_sr"] == pytest.approx(2 * records[0]["x2"], abs=0.2)


def test_eval_scores_pairs_and_counts_unscorable_ones(
    people: Path, detector, dlib_embedder
) -> None:
    task = FaceTask()
    task.configure(device="cpu", embedder="dlib", face_width=None)
    assert task.mode == "pairs"
    dataset = build_face_dataset(
        folder_pairs(people),
        name="people",
        description="",
        options=BuildOptions(scales=(4,)),
        detector=detector,
        embedder=dlib_embedder,
    )
    hr = task.predict([it.hr_image() for it in dataset.items])
    assert all(p.shape == (128,) for p in hr)
    metrics = task.evaluate(hr, dataset.items)
    assert set(task.metrics) <= set(metrics)
    unscorable = sum(not it.target.scorable for it in dataset.items)
    assert unscorable > 0 and metrics["unscored_pairs"] == unscorable
    assert metrics["pairs"] == len(dataset.items)
    # bootstrap resamples repeat items; evaluate stays a pure function of its arguments
    twice = task.evaluate(hr + hr, dataset.items + dataset.items)
    assert twice["unscored_pairs"] == 2 * unscorable
    np.testing.assert_equal(task.evaluate(hr, dataset.items), metrics)  # NaN == NaN here
    x4 = task.predict([imresize(degrade(it.hr_image(), 4), 4) for it in dataset.items])
    scores = [task.item_scores(p, it) for p, it in zip(x4, dataset.items)]
    genuine = [s for s, it in zip(scores, dataset.items) if it.target.same and it.target.scorable]
    assert genuine and all(0 < s["distance"] < 0.6 for s in genuine)
    assert all(
        np.isnan(s["distance"]) for s, it in zip(scores, dataset.items) if not it.target.scorable
    )


def test_synth_pairs_follow_lfw_layout() -> None:
    people = {"a": [None] * 12, "b": [None], "c": [None], "d": [None]}
    lines = _pairs(people)
    assert len(lines) == FOLDS * 2 * PAIRS_PER_FOLD
    for fold in range(FOLDS):
        block = lines[fold * 2 * PAIRS_PER_FOLD : (fold + 1) * 2 * PAIRS_PER_FOLD]
        assert all(len(x.split("\t")) == 3 for x in block[:PAIRS_PER_FOLD])
        assert all(len(x.split("\t")) == 4 for x in block[PAIRS_PER_FOLD:])
    impostors = {
        frozenset((x.split("\t")[0], x.split("\t")[2])) for x in lines if x.count("\t") == 3
    }
    assert impostors == {frozenset(p) for p in ("ab", "ac", "ad", "bc", "bd", "cd")}
    assert lines == _pairs(people)
    with pytest.raises(SrpipeError, match="impostor pairs available"):
        _pairs({"a": [None] * 12, "b": [None]})


def test_eval_through_the_harness(people: Path, tmp_path: Path) -> None:
    """`srpipe eval faces --data DIR` path: registered reader, pairs mode, ROC beside the report."""
    from srpipe.api import compare

    result = compare(
        "faces",
        people,
        sr=[],
        compare=["bicubic"],
        scales=[2],
        out=tmp_path / "report",
        device="cpu",
        bootstrap=20,
        task_options={"embedder": "dlib", "face_width": None},
        progress=False,
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["dataset"]["name"] == f"folders:{people.name}"
    assert "unscorable" in report["dataset"]["description"]
    unscored = [r for r in report["results"] if r["metric"] == "unscored_pairs"]
    assert {r["variant"] for r in unscored} == {"hr", "bicubic"}
    assert all(r["value"]["value"] >= 1 for r in unscored)  # the faceless pairs are counted
    assert (tmp_path / "report" / "faces_roc_x2.png").is_file()
    # drawn through srpipe_report_figures: listed in report.json and embedded in the pages
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["files"]["plot_faces_roc_x2"] == "faces_roc_x2.png"
    assert "faces_roc_x2.png" in (tmp_path / "report" / "report.md").read_text()
    assert "faces_roc_x2" in (tmp_path / "report" / "report.html").read_text()
    assert result.scales == [2]


def test_repeated_probe_chips_are_embedded_once(astronaut, monkeypatch) -> None:
    task = FaceTask()
    task.configure(device="cpu", embedder="dlib", face_width=None)
    calls = []
    original = task.embedder.embed
    monkeypatch.setattr(
        task.embedder, "embed", lambda chips: calls.append(len(chips)) or original(chips)
    )
    chip = np.ascontiguousarray(astronaut[40:120, 80:160])
    first, again, other = task.predict([chip, chip.copy(), chip[:, ::-1]])
    assert calls == [2] and np.array_equal(first, again) and not np.array_equal(first, other)
    task.predict([chip])
    assert calls == [2]


def test_default_set_gives_no_sr_verdict_and_no_tar_at_unmeasurable_far(tmp_path: Path) -> None:
    """`srpipe eval faces` on the offline set: its genuine pairs are one person, so the set
    cannot tell HR from bicubic; it must say so instead of judging SR, and it has 60
    impostor pairs, so TAR at FAR 1e-3 is not measurable (not 0)."""
    from click.testing import CliRunner

    from srpipe.cli import cli

    out = tmp_path / "report"
    run = CliRunner().invoke(
        cli, ["eval", "faces", "--device", "cpu", "-o", str(out)], catch_exceptions=False
    )
    assert run.exit_code == 0, run.output
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["intervals"]["method"] == "jackknife-t"
    k = report["settings"]["intervals"]["k"]
    assert k == report["dataset"]["groups"] and f"k = {k} independent clusters" in run.output
    rows = {(r["variant"], r["metric"]): r for r in report["results"]}
    # the precondition of "no verdict": HR vs bicubic on the headline is not significant
    hr = rows[("hr", "accuracy")]["delta"]
    assert hr["method"] == "jackknife-t" and hr["k"] == k and hr["low"] <= 0.0 <= hr["high"]
    assert report["power"]["x4"]["answerable"] is False
    assert "one identity" in report["power"]["x4"]["more_data"]
    (line,) = report["verdicts"]
    assert line.startswith("no verdict on edsr x4: HR vs bicubic on accuracy is ")
    assert "no power to say whether SR helps" in line and "What would give it power: " in line
    # TAR at FAR 1e-3 (and 1e-2) needs more impostor pairs than the set has
    for variant in ("hr", "bicubic", "edsr"):
        tar = rows[(variant, "tar_far_1e-3")]
        assert tar["value"]["value"] is None and "1000 impostor pairs" in tar["not_measurable"]
    tar_block = run.output.split("x4 · tar_far_1e-3")[1].split("x4 · auc")[0]
    assert tar_block.count("n/m") >= 5 and "0.0000" not in tar_block
    assert "not measurable on this set: TAR at FAR 0.001 needs at least 1000" in tar_block
    # metrics resting on the one person with genuine pairs get no interval, and say why
    auc = rows[("edsr", "auc")]["delta"]
    assert auc["low"] is None and "carphone" in auc["note"]
    for page in ("report.md", "report.html"):
        text = (out / page).read_text()
        assert "no verdict on edsr x4" in text and "n/m" in text
    assert line in run.output
