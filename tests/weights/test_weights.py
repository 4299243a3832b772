"""Finding bundled weights by file name and reading their index, without model code."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from srpipe.hashing import sha256_file
from srpipe.weights import bundled_weights, read_index, weights_path


def test_bundled_weights_lists_only_existing_files(tmp_path):
    weights_path("edsr", 2, tmp_path).write_bytes(b"")  # discovery looks at the name only
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


def test_missing_index_reads_as_empty(tmp_path):
    assert read_index(tmp_path / "index.json") == {}


def test_index_reads_back_what_was_written(tmp_path):
    entry = {"edsr_x2.safetensors": {"sha256": "ab" * 32, "arch": "edsr", "scale": 2}}
    (tmp_path / "index.json").write_text(json.dumps(entry))
    assert read_index(tmp_path / "index.json") == entry


def test_finding_weights_loads_no_model_code():
    # the model table calls bundled_weights while plugins register: it must stay below the
    # models (the index writer, which reads checkpoint headers, is srpipe.models.weights_index)
    code = (
        "import sys, srpipe.weights as w; w.bundled_weights('edsr', (2, 3)); w.read_index(); "
        "print(sorted(m for m in sys.modules if m.startswith(('srpipe.models', 'torch'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
