"""Rebuilding the bundled weights' index.json: hashes and header metadata per checkpoint."""

from __future__ import annotations

import json

import torch

from srpipe.hashing import sha256_file
from srpipe.models.checkpoint import save_checkpoint
from srpipe.models.weights_index import index_entry, update_index
from srpipe.plugins import get_plugin_manager
from srpipe.weights import read_index, weights_path

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


def test_an_entry_holds_hash_size_and_header(tmp_path):
    path = _save(tmp_path, 2, 30.5)
    entry = index_entry(path)
    assert entry["sha256"] == sha256_file(path) and entry["bytes"] == path.stat().st_size
    assert entry["arch"] == "edsr" and entry["scale"] == 2 and entry["hyper"] == TINY
    assert entry["val_psnr"] == 30.5 and entry["training_data"] == "synthetic"


def test_a_file_without_srpipe_header_gets_hash_and_size_only(tmp_path):
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(b"not a checkpoint")
    assert index_entry(path) == {"sha256": sha256_file(path), "bytes": 16}


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


def test_updating_named_files_keeps_the_other_entries(tmp_path):
    index_path = tmp_path / "index.json"
    first, second = _save(tmp_path, 2, 30.0), _save(tmp_path, 3, 28.0)
    update_index([first], index_path=index_path)
    assert set(read_index(index_path)) == {"edsr_x2.safetensors"}
    update_index([second], index_path=index_path)
    assert set(read_index(index_path)) == {"edsr_x2.safetensors", "edsr_x3.safetensors"}
