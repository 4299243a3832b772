"""The combined demo page over several comparison reports."""

from __future__ import annotations

import json
from pathlib import Path

from srpipe.report.combined import Section, write_combined
from tests.comparison.test_compare import write_pngs


def test_combined_page_summarises_each_report(tmp_path: Path) -> None:
    import torch

    import srpipe
    from srpipe.upscaling.upscaler import Upscaler

    data = write_pngs(tmp_path / "hr")
    blocky = Upscaler.from_module(torch.nn.Upsample(scale_factor=2), 2, name="blocky")
    srpipe.compare(
        "sr",
        str(data),
        sr=[blocky],
        compare=["bicubic"],
        scales=[2],
        bootstrap=50,
        out=tmp_path / "sr",
    )
    sections = [
        Section("image quality", "srpipe eval sr ...", report_dir=tmp_path / "sr"),
        Section("broken stage", "srpipe eval nothing", error="exit code 2"),
        Section("a run", "srpipe run ...", summary={"frames": 3}),
    ]
    index = write_combined(sections, tmp_path / "demo")
    page = index.read_text()
    assert "image quality" in page and "failed: exit code 2" in page
    assert "data:image/png;base64," in page  # a plot is embedded, the page is self-contained
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    rows = summary["summary"]
    assert [(r["task"], r["variant"], r["scale"]) for r in rows] == [("sr", "blocky", "x2")]
    # nearest-neighbour upscaling is worse than bicubic in PSNR: the delta must be negative
    assert rows[0]["delta_vs_baseline"].startswith("-")
    assert summary["sections"][1]["error"] == "exit code 2"
