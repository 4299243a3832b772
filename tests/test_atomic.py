"""srpipe.atomic: a result appears whole under its name or not at all, whatever the name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from srpipe.atomic import atomic_path, write_text


def test_a_name_near_the_file_system_limit_still_gets_a_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / ("r" * 246 + ".json")  # 251 bytes: legal, but no room for a prefix
    write_text(target, "{}")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_name_with_non_utf8_bytes_is_written(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9-\xff.txt")  # Latin-1 bytes: not UTF-8
    write_text(tmp_path / name, "ok")
    assert (tmp_path / name).read_text() == "ok"


def test_a_failed_block_leaves_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
