"""Dataset fetching: safe extraction, offline errors, resumable download."""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from srpipe.data.fetch import download, fetch_dataset, safe_extract
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path, members, links=()):
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tf.addfile(info)
    return path


def test_good_archives_extract(tmp_path):
    z = _zip(tmp_path / "ok.zip", {"Set5/HR/a.png": b"x", "Set5/HR/b.png": b"y"})
    t = _tar(
        tmp_path / "ok.tar", {"B100/HR/c.png": b"z"}, [("B100/HR/d.png", "c.png", tarfile.SYMTYPE)]
    )
    dest = tmp_path / "out"
    assert len(safe_extract(z, dest)) == 2
    assert len(safe_extract(t, dest)) == 2
    assert (dest / "Set5/HR/b.png").read_bytes() == b"y"
    assert (dest / "B100/HR/d.png").read_bytes() == b"z"


@pytest.mark.parametrize(
    "name", ["../evil.png", "a/../../evil.png", "/tmp/evil.png", "..\\evil.png"]
)
def test_zip_path_traversal_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "bad.zip", {"fine.png": b"ok", name: b"pwned"})
    dest = tmp_path / "out"
    with pytest.raises(SrpipeError, match="unsafe archive member"):
        safe_extract(archive, dest)
    assert not (tmp_path / "evil.png").exists()
    assert not (dest / "fine.png").exists()  # nothing written before the check


@pytest.mark.parametrize(
    "links",
    [
        [("link", "../../etc/passwd", tarfile.SYMTYPE)],
        [("link", "/etc/passwd", tarfile.SYMTYPE)],
        [("hard", "../outside", tarfile.LNKTYPE)],
    ],
)
def test_tar_links_outside_are_refused(tmp_path, links):
    archive = _tar(tmp_path / "bad.tar", {"fine.png": b"ok"}, links)
    with pytest.raises(SrpipeError, match="unsafe archive member"):
        safe_extract(archive, tmp_path / "out")


def test_tar_traversal_is_refused(tmp_path):
    archive = _tar(tmp_path / "bad.tar", {"../../evil.png": b"pwned"})
    with pytest.raises(SrpipeError, match=r"'\.\.' in path"):
        safe_extract(archive, tmp_path / "out")


def test_offline_fetch_is_one_line(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(SrpipeError) as info:
        fetch_dataset("set5", dest=tmp_path, progress=False, say=lambda m: None)
    message = str(info.value)
    assert "\n" not in message
    assert "cannot reach cv.snu.ac.kr" in message
    assert "--data /path/to/Set5/HR" in message


def test_manga109_explains_how_to_get_it(tmp_path):
    with pytest.raises(SrpipeError, match=r"manga109\.org"):
        fetch_dataset("manga109", dest=tmp_path, progress=False, say=lambda m: None)


class _RangeHandler(SimpleHTTPRequestHandler):
    """A static server that honours ``Range: bytes=N-`` (enough to test resuming)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = (self.directory_path / self.path.lstrip("/")).read_bytes()
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


def test_download_resumes_a_partial_file(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = bytes(range(256)) * 1000
    (served / "data.bin").write_bytes(payload)
    handler = partial(_RangeHandler, directory=str(served))
    _RangeHandler.directory_path = served
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dest = tmp_path / "dl" / "data.bin"
        dest.parent.mkdir()
        (dest.parent / "data.bin.part").write_bytes(payload[:1000])  # an interrupted download
        url = f"http://127.0.0.1:{server.server_address[1]}/data.bin"
        expected = sha256_file(served / "data.bin")
        download(url, dest, sha256=expected, progress=False)
        assert dest.read_bytes() == payload
        with pytest.raises(SrpipeError, match="does not match"):
            download(url, tmp_path / "dl" / "other.bin", sha256="0" * 64, progress=False)
    finally:
        server.shutdown()
