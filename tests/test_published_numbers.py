"""Published numbers are generated from report.json files, so they cannot drift from them."""

from __future__ import annotations

from tests.conftest import load_script


def _publisher():
    return load_script("scripts/publish_results.py")


def test_readme_and_experiments_tables_equal_their_reports():
    publisher = _publisher()
    assert publisher.main(["--check"]) == 0, "run python scripts/publish_results.py"
    for path in publisher.TARGETS[:2]:  # README and experiments/README hold the summary
        assert "<!-- results:summary:begin -->" in path.read_text(), path
    for path in publisher.TARGETS[2:]:  # the experiment READMEs hold report tables
        assert "<!-- results:" in path.read_text(), path


def test_every_table_value_is_a_report_value(tmp_path):
    publisher = _publisher()
    reports = publisher.load_reports()
    table = publisher.summary_table(reports)
    detect = reports["detect"]
    headline = detect["task"]["headline"]
    bicubic = next(
        r for r in detect["results"] if r["variant"] == "bicubic" and r["metric"] == headline
    )
    assert f"| bicubic | {bicubic['value']['value']:.3f}" in table
    # a changed report changes the table: nothing is typed by hand
    bicubic["value"]["value"] += 0.25
    assert publisher.summary_table(reports) != table


def test_sr_training_tables_equal_their_files():
    module = load_script("experiments/sr-training/make_table.py")
    assert module.main(["--check"]) == 0, "run python experiments/sr-training/make_table.py"


def _structures_tables():
    return load_script("experiments/structures/make_table.py", "structures_make_table")


def test_structures_tables_equal_their_report():
    # regenerates the README blocks from experiments/structures/report.json (no training)
    module = _structures_tables()
    assert module.main(["--check"]) == 0, "run python experiments/structures/make_table.py"
    text = module.README.read_text()
    for name in ("results", "budget", "reading"):
        assert f"<!-- table:{name}:begin -->" in text, name


def test_structures_table_values_are_report_values():
    import json

    module = _structures_tables()
    report = json.loads(module.REPORT.read_text())
    first = report["structures"][0]
    table = module.results_table(report)
    assert f"| {first['name']} | " in table
    assert f"{first['map50']['value']:.3f}" in table
    # a changed report changes the table and the reading: nothing is typed by hand
    first["map50"]["value"] += 0.25
    assert module.results_table(report) != table


def test_sharding_table_rates_the_video_against_the_video():
    publisher = _publisher()
    record = {
        "images": 8, "size": 64, "bootstrap": 10, "cpu_count": 2, "video_frames": 24,
        "load_average_before": [0.5], "reports_equal": True, "video_records_equal": False,
        "best": {"1 rank": 10.0, "2 ranks": 5.0, "video, 1 rank": 30.0, "video, 2 ranks": 20.0},
    }  # fmt: skip
    rows = publisher.sharding_table(record, "x.json").splitlines()
    assert "| 2 ranks | 5.0 s | 2.00x | yes |" in rows
    assert "| video, 2 ranks (24-frame video, records.json) | 20.0 s | 1.50x | NO |" in rows


def test_perceptual_table_equals_its_reports():
    module = load_script("experiments/perceptual/make_table.py")
    assert module.main(["--check"]) == 0, "run python experiments/perceptual/make_table.py"


def test_perceptual_block_is_generated_from_the_experiments_reports():
    module = load_script("experiments/perceptual/make_table.py")
    reports = module.load()
    block = _publisher().generate("perceptual", {})
    assert block is not None and block.endswith(
        module.perceptual_table(reports, "x").split("\n", 1)[1]
    )
    detect = reports["detect"]
    row = next(r for r in detect["results"] if r["variant"] == "realesrgan"
               and r["metric"] == detect["task"]["headline"])  # fmt: skip
    assert f"| realesrgan | {row['value']['value']:.3f}" in block
