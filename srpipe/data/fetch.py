"""Download and unpack datasets: resumable HTTP, sha256 check, extraction that stays inside.

* Resume: bytes go to ``<file>.part``; a second attempt asks the server for the rest with an
  HTTP ``Range`` header (and starts over if the server ignores it).
* Integrity: a known sha256 is checked; an unknown one is printed so it can be pinned.
* Safe extraction: an archive member with an absolute path, a ``..`` component, or a link
  pointing outside the destination is refused before anything is written (the tarfile /
  zipfile "path traversal" attacks); device files and FIFOs are refused too.
* Offline: the first network error becomes one line saying the host cannot be reached and
  how to use a local copy instead.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from tqdm import tqdm

from srpipe.data.registry import datasets_root, get_dataset
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file

CHUNK = 1 << 20


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    local_hint: str = "",
) -> Path:
    """Download ``url`` to ``dest`` (resuming a ``.part`` file), verify, return ``dest``."""

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and (sha256 is None or sha256_file(dest) == sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "srpipe"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    host = urlparse(url).netloc
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part is already complete
            response = None
        else:
            raise SrpipeError(f"{url}: HTTP {exc.code} {exc.reason}{local_hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SrpipeError(f"cannot reach {host} ({reason}){local_hint}") from None
    if response is not None:
        with response:
            if have and response.status != 206:  # server ignored Range: start over
                have = 0
            total = response.headers.get("Content-Length")
            total = int(total) + have if total else None

            with (
                part.open("ab" if have else "wb") as handle,
                tqdm(
                    total=total,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                try:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        handle.write(block)
                        bar.update(len(block))
                except OSError as exc:
                    raise SrpipeError(
                        f"download of {dest.name} interrupted ({exc}); run the same command "
                        "again to resume"
                    ) from None
    actual = sha256_file(part)
    if sha256 is not None and actual != sha256:
        part.unlink()
        raise SrpipeError(
            f"{dest.name}: sha256 {actual} does not match the expected {sha256}; the partial "
            "file was removed, run again"
        )
    os.replace(part, dest)
    if sha256 is None and progress:
        tqdm.write(f"{dest.name}: sha256 {actual} (no known sum to check against; pin this one)")
    return dest


def _check_member_path(name: str, root: Path) -> Path:
    """Resolve an archive member name under ``root``, refusing anything that escapes it."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (posix.parts and posix.parts[0].endswith(":")):
        raise SrpipeError(f"unsafe archive member {name!r}: absolute path; archive refused")
    if ".." in posix.parts:
        raise SrpipeError(f"unsafe archive member {name!r}: '..' in path; archive refused")
    target = (root / Path(*posix.parts)).resolve() if posix.parts else root
    if target != root and root not in target.parents:
        raise SrpipeError(f"unsafe archive member {name!r}: outside the destination; refused")
    return target


def safe_extract(archive: Path, dest: Path) -> list[Path]:
    """Extract a .zip or .tar(.gz/.bz2/.xz) into ``dest``; refuse unsafe members first."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written: list[Path] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                _check_member_path(info.filename, root)
                mode = (info.external_attr >> 16) & 0o170000
                if mode == 0o120000:  # a symlink stored in a zip
                    raise SrpipeError(f"unsafe archive member {info.filename!r}: symlink; refused")
            for info in members:
                target = _check_member_path(info.filename, root)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                written.append(target)
        return written
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                target = _check_member_path(member.name, root)
                if member.issym() or member.islnk():
                    link = member.linkname
                    base = target.parent if member.issym() else root
                    if PurePosixPath(link).is_absolute():
                        raise SrpipeError(
                            f"unsafe archive member {member.name!r}: absolute link; refused"
                        )
                    resolved = (base / link).resolve()
                    if resolved != root and root not in resolved.parents:
                        raise SrpipeError(
                            f"unsafe archive member {member.name!r}: link leaves the "
                            "destination; refused"
                        )
                elif not (member.isfile() or member.isdir()):
                    raise SrpipeError(
                        f"unsafe archive member {member.name!r}: device or FIFO; refused"
                    )
            for member in members:
                target = _check_member_path(member.name, root)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(member)
                    assert src is not None
                    with src, target.open("wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                    written.append(target)
                else:  # links, checked above; recreate without following anything
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if member.issym():
                        target.symlink_to(member.linkname)
                    else:
                        shutil.copyfile(root / member.linkname, target)
                    written.append(target)
        return written
    raise SrpipeError(f"{archive.name} is neither a zip nor a tar archive")


def fetch_dataset(
    name: str,
    *,
    dest: Path | None = None,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> Path:
    """Download and extract a registered dataset; return its HR folder."""

    info = get_dataset(name)
    root = Path(dest) if dest is not None else datasets_root()
    if (root / info.hr_dir).is_dir():
        say(f"{info.name}: already at {root / info.hr_dir}")
        return root / info.hr_dir
    if not info.archives:
        raise SrpipeError(
            f"{info.name} has no public download ({info.note}); get it from {info.homepage}, "
            f"extract it so its HR images are in {root / info.hr_dir}, or pass --data FOLDER"
        )
    folder = "/".join(Path(info.hr_dir).parts[-2:])
    hint = (
        f"; download it on a machine with network access ({info.homepage}) and pass "
        f"--data /path/to/{folder} (a folder of HR images), or extract it under {root}"
    )
    downloads = root / "downloads"
    for archive in info.archives:
        filename = Path(urlparse(archive.url).path).name
        path = download(
            archive.url,
            downloads / filename,
            sha256=archive.sha256,
            progress=progress,
            local_hint=hint,
        )
        say(f"extracting {filename} -> {root}")
        safe_extract(path, root)
    hr = root / info.hr_dir
    if not hr.is_dir():
        raise SrpipeError(f"{info.name}: extracted, but {hr} is missing; the archive changed?")
    return hr
