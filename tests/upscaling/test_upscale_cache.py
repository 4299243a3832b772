"""The on-disk upscale cache: hits skip the computation, keys separate what differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srpipe.upscaling.cache import UpscaleCache, image_digest


def _images(n: int = 3, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (8 + i, 10, 3), dtype=np.uint8) for i in range(n)]


class Counter:
    """A fake upscaler: nearest x2 that counts how many images it really computed."""

    def __init__(self) -> None:
        self.computed = 0

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        self.computed += len(images)
        return [img.repeat(2, axis=0).repeat(2, axis=1) for img in images]


@pytest.mark.parametrize("fmt", ["npy", "png"])
def test_second_pass_is_all_hits(tmp_path: Path, fmt: str) -> None:
    cache = UpscaleCache(tmp_path, fmt=fmt)
    compute = Counter()
    images = _images()
    first, hits1 = cache.upscale_many(images, "edsr", 2, "w" * 64, compute, precision="fp32")
    second, hits2 = cache.upscale_many(images, "edsr", 2, "w" * 64, compute, precision="fp32")
    assert compute.computed == 3
    assert hits1 == [False] * 3 and hits2 == [True] * 3
    for a, b in zip(first, second):
        assert a.dtype == b.dtype == np.uint8 and np.array_equal(a, b)
    assert (cache.hits, cache.misses) == (3, 3)


def test_only_misses_are_computed(tmp_path: Path) -> None:
    cache = UpscaleCache(tmp_path)
    compute = Counter()
    images = _images(4)
    cache.upscale_many(images[:2], "edsr", 2, "w", compute, precision="fp32")
    _, hits = cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    assert hits == [True, True, False, False]
    assert compute.computed == 4


@pytest.mark.parametrize(
    "change",
    [{"method": "rcan"}, {"scale": 3}, {"weights_hash": "other"}, {"precision": "bf16"}],
)
def test_key_separates_method_scale_weights_and_precision(tmp_path: Path, change: dict) -> None:
    cache = UpscaleCache(tmp_path)
    compute = Counter()
    base = {"method": "edsr", "scale": 2, "weights_hash": "w", "precision": "fp32"}
    images = _images(2)
    cache.upscale_many(images, compute=compute, **base)
    _, hits = cache.upscale_many(images, compute=compute, **{**base, **change})
    assert hits == [False, False] and compute.computed == 4


def test_content_not_identity_is_the_key() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    assert image_digest(a) == image_digest(a.copy())
    b = a.copy()
    b[0, 0, 0] = 1
    assert image_digest(a) != image_digest(b)
    assert image_digest(a) != image_digest(a.reshape(8, 2, 3))  # same bytes, other shape


def test_corrupt_entry_is_recomputed(tmp_path: Path) -> None:
    cache = UpscaleCache(tmp_path)
    compute = Counter()
    images = _images(1)
    cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    entry = next(tmp_path.rglob("*.npy"))
    entry.write_bytes(b"truncated")
    out, hits = cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    assert hits == [False] and compute.computed == 2
    assert out[0].shape == (16, 20, 3)


def test_disabled_cache_writes_nothing(tmp_path: Path) -> None:
    cache = UpscaleCache(tmp_path / "c", enabled=False)
    compute = Counter()
    cache.upscale_many(_images(2), "edsr", 2, "w", compute, precision="fp32")
    cache.upscale_many(_images(2), "edsr", 2, "w", compute, precision="fp32")
    assert compute.computed == 4 and not (tmp_path / "c").exists()


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    cache = UpscaleCache(tmp_path)
    cache.upscale_many(_images(3), "path/to/my model.pt", 4, "w", Counter(), precision="fp32")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 3 and all(not p.name.startswith(".") for p in files)
    # a checkpoint path becomes a safe folder name
    assert all(p.relative_to(tmp_path).parts[0] == "my_model" for p in files)


def test_concurrent_writers_and_readers_never_see_a_torn_entry(tmp_path: Path) -> None:
    """Two writers keep replacing one entry while a reader reads it: whole images only."""
    import threading

    big = np.arange(256 * 256 * 3, dtype=np.uint32).reshape(256, 256, 3).astype(np.uint8)
    images = [big, big[::-1].copy()]  # two different contents under one key
    writers = [UpscaleCache(tmp_path) for _ in range(2)]
    reader = UpscaleCache(tmp_path)
    key = reader.key(big, "edsr", 4, None, precision="fp32")
    reader.put(key, "edsr", 4, big)  # from here on the entry always exists
    stop = threading.Event()

    def write(cache: UpscaleCache, image: np.ndarray) -> None:
        while not stop.is_set():
            cache.put(key, "edsr", 4, image)

    threads = [threading.Thread(target=write, args=(c, i)) for c, i in zip(writers, images)]
    for thread in threads:
        thread.start()
    seen = 0
    try:
        for _ in range(300):
            got = reader.get(key, "edsr", 4)
            if got is not None:
                seen += 1
                assert any(np.array_equal(got, image) for image in images)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # the entry exists throughout, so a miss could only be a torn (unreadable) read
    assert seen == 300 and reader.misses == 0


def test_a_good_entry_written_meanwhile_is_not_removed(tmp_path: Path) -> None:
    cache = UpscaleCache(tmp_path)
    image = np.full((4, 4, 3), 7, np.uint8)
    key = cache.key(image, "edsr", 4, None, precision="fp32")
    path = cache.path(key, "edsr", 4)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an array")
    seen = path.stat()
    cache.put(key, "edsr", 4, image)  # another writer replaces the bad entry
    cache._remove_if_unchanged(path, seen)
    assert np.array_equal(cache.get(key, "edsr", 4), image)


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda a: (a / 255.0).astype(np.float64), "holds float64"),  # another dtype and range
        (lambda a: a[:-2], "has shape"),  # another size
        (lambda a: a[:, :, :1], "has shape"),  # another channel count
    ],
)
def test_an_entry_rewritten_by_someone_else_is_recomputed_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper, said: str
) -> None:
    """A shared cache is read back, never trusted as it is (PSNR -52 dB once came of it)."""
    cache = UpscaleCache(tmp_path)
    compute = Counter()
    images = _images(1)
    (first,), _ = cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    entry = next(tmp_path.rglob("*.npy"))
    np.save(entry, tamper(first), allow_pickle=False)
    (again,), hits = cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    assert hits == [False] and compute.computed == 2
    assert again.dtype == np.uint8 and np.array_equal(again, first)
    assert said in capsys.readouterr().err
    # and the recomputed entry replaced the bad one
    (third,), hits = cache.upscale_many(images, "edsr", 2, "w", compute, precision="fp32")
    assert hits == [True] and np.array_equal(third, first)


def test_a_fractional_scale_has_its_own_key() -> None:
    """x3.5 and x3 are different outputs (they once shared int(scale) in the key)."""
    cache, image = UpscaleCache(enabled=False), _images(1)[0]
    assert cache.key(image, "liif", 3.5, None, precision="fp32") != cache.key(
        image, "liif", 3, None, precision="fp32"
    )
    assert cache.path("k" * 64, "liif", 3.5).parent.parent.name == "x3.5"


def test_a_cache_that_cannot_be_written_is_named_once_and_the_work_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    cache = UpscaleCache(tmp_path / "cache")

    def disk_full(path: Path, image: np.ndarray) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "_write", disk_full)
    compute = Counter()
    out, hits = cache.upscale_many(_images(3), "edsr", 2, "w", compute, precision="fp32")
    assert len(out) == 3 and hits == [False] * 3 and compute.computed == 3
    err = capsys.readouterr().err
    assert err.count("cannot write the upscale cache") == 1
    assert str(tmp_path / "cache") in err and "No space left" in err
    assert not list((tmp_path / "cache").rglob("*.npy*"))  # no temporary left behind
