"""The bundled-weights index: discovery by file name, sha256, index.json round trip."""

from __future__ import annotations

import hashlib
import json

import torch

from srpipe.hashing import sha256_file
from srpipe.models.checkpoint import save_checkpoint
from srpipe.plugins import get_plugin_manager
from srpipe.weights import bundled_weights, read_index, update_index, weights_path

TINY = {"n_resblocks": 1, "n_feats": 4, "res_scale": 1.0, "rgb_range": 255.0}


def _save(directory, scale, val_psnr):
    model = get_plugin_manager().model("edsr").build(scale=scale, **TINY)
    return save_checkpoint(
        model,
        weights_path("edsr", scale, directory),
        arch="edsr",
        scale=scale,
        hyper=TINY,
        meta={"val_psnr": val_psnr, "training_data": "synthetic"},
    )


def test_bundled_weights_lists_only_existing_files(tmp_path):
    _save(tmp_path, 2, 30.0)
    found = bundled_weights("edsr", (2, 3, 4), tmp_path)
    assert found == {2: tmp_path / "edsr_x2.safetensors"}


def test_any_scale_model_maps_every_scale_to_its_one_file(tmp_path):
    assert bundled_weights("liif", (2, 3), tmp_path, any_scale=True) == {}
    path = weights_path("liif", None, tmp_path)
    assert path.name == "liif.safetensors"
    path.write_bytes(b"")  # discovery looks at the name only
    assert bundled_weights("liif", (2, 3), tmp_path, any_scale=True) == {2: path, 3: path}


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_index_round_trip_and_verification(tmp_path):
    index_path = tmp_path / "index.json"
    _save(tmp_path, 2, 30.5)
    _save(tmp_path, 4, 26.25)
    index = update_index(index_path=index_path)
    assert set(index) == {"edsr_x2.safetensors", "edsr_x4.safetensors"}
    entry = index["edsr_x4.safetensors"]
    assert entry["arch"] == "edsr" and entry["scale"] == 4 and entry["val_psnr"] == 26.25
    assert entry["sha256"] == sha256_file(tmp_path / "edsr_x4.safetensors")
    assert json.loads(index_path.read_text()) == read_index(index_path)
    entry_x2_before = index["edsr_x2.safetensors"]["sha256"]
    # a retrained file gets its new hash on the next update
    model = get_plugin_manager().model("edsr").build(scale=2, **TINY)
    with torch.no_grad():
        model.head[0].bias.add_(1.0)
    save_checkpoint(model, tmp_path / "edsr_x2.safetensors", arch="edsr", scale=2, hyper=TINY)
    updated = update_index(index_path=index_path)
    assert updated["edsr_x2.safetensors"]["sha256"] == sha256_file(tmp_path / "edsr_x2.safetensors")
    assert updated["edsr_x2.safetensors"]["sha256"] != entry_x2_before
    # removed files leave the index on the next update
    (tmp_path / "edsr_x4.safetensors").unlink()
    assert set(update_index(index_path=index_path)) == {"edsr_x2.safetensors"}


def test_missing_index_reads_as_empty(tmp_path):
    assert read_index(tmp_path / "index.json") == {}
