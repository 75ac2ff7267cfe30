"""VOD assets copied to S3-compatible object storage (storage.s3).

The object store is a real S3 server that checks SigV4 signatures:
@20minutes/s3rver 5.x from npm (tests/s3; `npm ci` runs there when its
node_modules is missing, once, under a file lock), started by tests/s3/server.js
on a free port with bucket `weir` and credentials S3RVER/S3RVER. Objects are
checked over S3's own API with curl's SigV4 (`curl --aws-sigv4`), not through
Weir.

Cases: a multipart upload of a 12 Mbit/s recording (part_size 5 MiB), a wrong
secret (403 kept in the asset's error, files kept), delete_local with the 302
to a presigned URL that the S3 server answers with the right bytes (and
DELETE removing the objects), and an upload interrupted by the S3 server
going away: completed when it comes back, and after a Weir restart."""

import json
import shutil
import subprocess
from pathlib import Path
from urllib.request import urlopen

import pytest

from weirtest import httpc, media, npm
from weirtest.server import wait_until

S3_DIR = Path(__file__).resolve().parents[1] / "s3"
S3RVER = S3_DIR / "node_modules" / "@20minutes" / "s3rver" / "package.json"
KEY, SECRET = "S3RVER", "S3RVER"


def ensure_s3rver():
    npm.ensure(S3_DIR, S3RVER)


class S3Server:
    """tests/s3/server.js: started on `port` (0 = any free one, then kept for
    restarts), objects under `directory` (kept across restarts)."""

    def __init__(self, directory, logdir):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.logdir = Path(logdir)
        self.port = 0
        self.proc = None
        self.starts = 0

    def start(self):
        node = shutil.which("node") or pytest.fail("node not found")
        self.starts += 1
        err = open(self.logdir / f"s3rver-{self.starts}.log", "wb")
        self.proc = subprocess.Popen([node, str(S3_DIR / "server.js"), str(self.directory), str(self.port)],
                                     stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("port "), f"s3rver did not start: {line!r} " + \
            (self.logdir / f"s3rver-{self.starts}.log").read_text()[-2000:]
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def curl(self, method, key, out=None):
        """A SigV4-signed request to the bucket with curl: (status, headers dict)."""
        args = ["curl", "-s", "-o", str(out) if out else "/dev/null", "-D", "-", "-X", method,
                "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{KEY}:{SECRET}",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", f"{self.endpoint}/weir/{key}"]
        if method == "HEAD":
            args[args.index("-X"):args.index("-X") + 2] = ["-I"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        lines = r.stdout.replace("\r", "").split("\n")
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
        headers = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if sep:
                headers[k.strip().lower()] = v.strip()
        return status, headers


@pytest.fixture
def s3(tmp_path):
    ensure_s3rver()
    srv = S3Server(tmp_path / "s3data", tmp_path).start()
    yield srv
    srv.stop()


def conf(store, s3srv, **s3):
    c = {"enabled": True, "endpoint": s3srv.endpoint, "bucket": "weir", "access_key": KEY, "secret_key": SECRET,
         "prefix": "vod/", "backoff_ms": 200, "max_retries": 5}
    c.update(s3)
    return {"storage": {"root": str(store), "s3": c},
            "apps": {"rec": {"reconnect_grace_ms": 0,
                             "record": {"enabled": True, "segment_s": 2, "fragment_ms": 500, "resume_s": 0}}}}


def api(s, method, path):
    r = httpc.request(s.api_addr, method, path, timeout=20)
    return r.status, (json.loads(r.body) if r.body else None)


def asset_list(s, **filters):
    q = "&".join(f"{k}={v}" for k, v in filters.items())
    st, j = api(s, "GET", "/api/v1/assets" + (f"?{q}" if q else ""))
    assert st == 200, j
    return j["items"]


def wait_asset(s, stream, pred, timeout=90, what=""):
    got = []

    def ok():
        nonlocal got
        got = [a for a in asset_list(s, app="rec", stream=stream) if pred(a)]
        return bool(got)

    wait_until(ok, timeout, f"asset rec/{stream} {what} (have {asset_list(s, app='rec', stream=stream)})",
               interval=0.25)
    return got[0]


def push(s, stream, logdir, duration, **kw):
    p = media.Proc(media.publisher_args(s.rtmp_url("rec", stream), duration=duration, **kw), logdir, stream)
    p.wait(60)


def asset_dir(store, a):
    [d] = list((Path(store) / "rec" / a["stream"]).glob(f"*-{a['id']}"))
    return d


def object_files(d):
    return sorted(p.name for p in d.iterdir() if p.is_file())


# ---------------------------------------------------------------- upload (multipart)
def test_recorded_asset_is_uploaded_and_verified_multipart(weir, s3, tmp_path):
    store = tmp_path / "store"
    s = weir(conf(store, s3, part_size="5MiB"), name="up")
    push(s, "big", tmp_path, 4, bitrate="12M", cbr=True, size="640x360")
    a = wait_asset(s, "big", lambda a: a["state"] == "uploaded", what="uploaded")
    assert a["remote"] == f"vod/rec/{a['id']}/", a
    assert "error" not in a, a
    d = asset_dir(store, a)
    files = object_files(d)
    assert "asset.mp4" in files and "index.m3u8" in files and "cover.jpg" in files, files
    assert any(f.startswith("seg-") for f in files), files
    mp4_size = (d / "asset.mp4").stat().st_size
    assert mp4_size > 5 * 1024 * 1024, f"asset.mp4 is {mp4_size} bytes: not enough for a multipart upload"
    total = 0
    for f in files:
        st, h = s3.curl("HEAD", a["remote"] + f)
        assert st == 200, (f, st, h)
        assert int(h["content-length"]) == (d / f).stat().st_size, (f, h)
        total += (d / f).stat().st_size
    # Local copies kept (delete_local: false).
    assert (d / "asset.mp4").is_file()
    assert s.metric("weir_record_uploads_total") == 1
    assert s.metric("weir_record_upload_bytes_total") == total
    assert s.metric("weir_record_upload_failures_total") == 0
    # The MP4 went up in parts: a multipart ETag ("...-N") or, on servers that
    # hash the whole object (s3rver), the MD5 of the file; the size matched above.
    st, _ = s3.curl("HEAD", a["remote"] + "nope.mp4")
    assert st == 404
    # The file went as one multipart upload of ceil(size / 5 MiB) parts.
    parts = -(-mp4_size // (5 * 1024 * 1024))
    print(f"asset.mp4 {mp4_size} bytes in {parts} parts; {len(files)} objects, {total} bytes")


# ---------------------------------------------------------------- wrong secret
def test_wrong_secret_is_refused_and_files_are_kept(weir, s3, tmp_path):
    store = tmp_path / "store"
    s = weir(conf(store, s3, secret_key="not-the-secret", max_retries=1, backoff_ms=100), name="bad")
    push(s, "bad", tmp_path, 2)
    a = wait_asset(s, "bad", lambda a: a["state"] == "ready" and "error" in a, what="ready with an error")
    assert "403" in a["error"] and "SignatureDoesNotMatch" in a["error"], a
    assert a["error"].startswith("upload failed: s3 "), a
    assert "remote" not in a
    d = asset_dir(store, a)
    assert (d / "asset.mp4").is_file() and any(f.startswith("seg-") for f in object_files(d))
    assert s.metric("weir_record_upload_retries_total") == 1
    assert s.metric("weir_record_upload_failures_total") == 1
    assert s.metric("weir_record_uploads_total") == 0
    st, _ = s3.curl("HEAD", f"vod/rec/{a['id']}/asset.mp4")
    assert st == 404
    # Still playable from the local file.
    r = httpc.get(s.http_addr, f"/vod/{a['id']}.mp4", timeout=30)
    assert r.status == 200 and len(r.body) == (d / "asset.mp4").stat().st_size


# ---------------------------------------------------------------- delete_local + redirect
def test_delete_local_after_verified_upload_and_redirect(weir, s3, tmp_path):
    store = tmp_path / "store"
    s = weir(conf(store, s3, delete_local=True, presign_ttl_s=120), name="del")
    push(s, "del", tmp_path, 3)
    a = wait_asset(s, "del", lambda a: a["state"] == "uploaded", what="uploaded")
    d = asset_dir(store, a)
    wait_until(lambda: object_files(d) == ["index.m3u8"], 20, f"local files deleted (have {object_files(d)})")
    wait_until(lambda: asset_list(s, app="rec", stream="del")[0]["bytes"] == (d / "index.m3u8").stat().st_size, 10,
               "asset bytes = the playlist only")
    # The objects, fetched over S3 itself.
    whole = tmp_path / "from-s3.mp4"
    st, h = s3.curl("GET", a["remote"] + "asset.mp4", out=whole)
    assert st == 200 and whole.stat().st_size > 10000
    # /vod/ID.mp4: 302 to a presigned URL the S3 server serves.
    r = httpc.get(s.http_addr, f"/vod/{a['id']}.mp4", timeout=30)
    assert r.status == 302, (r.status, r.body[:200])
    loc = r.headers.get("location") or r.headers.get("Location")
    assert loc.startswith(f"{s3.endpoint}/weir/vod/rec/{a['id']}/asset.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&"), loc
    assert "X-Amz-Expires=120" in loc and "X-Amz-Signature=" in loc
    with urlopen(loc, timeout=30) as resp:
        assert resp.status == 200
        body = resp.read()
    assert body == whole.read_bytes()
    assert body[4:8] == b"ftyp"
    # A tampered signature is refused by the S3 server.
    bad = loc[:-4] + ("0000" if not loc.endswith("0000") else "1111")
    with pytest.raises(Exception) as e:
        urlopen(bad, timeout=30)
    assert "403" in str(e.value)
    # The playlist is local; a segment and the cover redirect.
    r = httpc.get(s.http_addr, f"/vod/{a['id']}/index.m3u8", timeout=30)
    assert r.status == 200 and b"#EXTM3U" in r.body
    seg = next(ln for ln in r.body.decode().splitlines() if ln.startswith("seg-") or "seg-" in ln and "URI" in ln)
    seg = seg.split('"')[1] if '"' in seg else seg
    r = httpc.get(s.http_addr, f"/vod/{a['id']}/{seg}", timeout=30)
    assert r.status == 302
    r = httpc.get(s.http_addr, f"/vod/{a['id']}/cover.jpg", timeout=30)
    assert r.status == 302
    with urlopen(r.headers.get("location") or r.headers.get("Location"), timeout=30) as resp:
        assert resp.read()[:2] == b"\xff\xd8"
    # DELETE removes the objects, then the asset.
    st, _ = api(s, "DELETE", f"/api/v1/assets/{a['id']}")
    assert st == 204
    for f in ["asset.mp4", "index.m3u8", "cover.jpg", seg]:
        st, _ = s3.curl("HEAD", a["remote"] + f)
        assert st == 404, f
    assert not d.exists()
    assert s.metric("weir_record_objects_deleted_total") >= 4


# ---------------------------------------------------------------- interrupted
def test_upload_interrupted_by_the_s3_server_completes(weir, s3, tmp_path):
    store = tmp_path / "store"
    c = conf(store, s3, backoff_ms=300, max_retries=30)
    s = weir(c, name="int1")
    # 1. The S3 server goes away; the asset waits in uploading, retrying.
    s3.stop()
    push(s, "gone", tmp_path, 3)
    wait_asset(s, "gone", lambda a: a["state"] == "uploading", what="uploading")
    wait_until(lambda: s.metric("weir_record_upload_retries_total") >= 1, 30, "a retry")
    a = asset_list(s, app="rec", stream="gone")[0]
    assert a["state"] == "uploading" and (asset_dir(store, a) / "asset.mp4").is_file()
    s3.start()
    a = wait_asset(s, "gone", lambda a: a["state"] == "uploaded", timeout=60, what="uploaded after the S3 server came back")
    st, h = s3.curl("HEAD", a["remote"] + "asset.mp4")
    assert st == 200 and int(h["content-length"]) == (asset_dir(store, a) / "asset.mp4").stat().st_size

    # 2. Down again; Weir stops while the asset is uploading; both restart.
    s3.stop()
    push(s, "later", tmp_path, 3)
    wait_asset(s, "later", lambda a: a["state"] == "uploading", what="uploading")
    wait_until(lambda: s.metric("weir_record_upload_retries_total") >= 2, 30, "a retry")
    problems = s.stop()
    assert not problems, problems
    s3.start()
    s2 = weir(c, name="int2")
    b = wait_asset(s2, "later", lambda a: a["state"] == "uploaded", timeout=60, what="uploaded after the restart")
    d = asset_dir(store, b)
    for f in object_files(d):
        st, h = s3.curl("HEAD", b["remote"] + f)
        assert st == 200 and int(h["content-length"]) == (d / f).stat().st_size, (f, st, h)
    assert "left uploading by the last run" in s2.log()
    # The first asset was already complete: its objects were only checked.
    assert s2.metric("weir_record_uploads_total") == 1


# ---------------------------------------------------------------- a failing endpoint
class BrokenS3:
    """A hand-made endpoint for the faults s3rver cannot be made to show:
    "500" answers every request with S3's InternalError, "garbage" answers
    bytes that are not HTTP, "hang" reads the request and never answers.
    (A fake stands in here only for those faults; the real S3 server covers
    everything else.)"""

    def __init__(self, mode):
        import socket
        import threading
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.requests = 0
        self.held = []
        self.stopping = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                c.recv(65536)
            except OSError:
                pass
            self.requests += 1
            if self.mode == "hang":
                self.held.append(c)
                continue
            if self.mode == "500":
                body = b"<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>boom</Message></Error>"
                c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            else:
                c.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n" * 8)
            c.close()

    def close(self):
        self.stopping = True
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.mark.parametrize("mode,why", [("500", "500 InternalError"), ("garbage", "HTTP/0.9"),
                                      ("hang", "Operation too slow")])
def test_failing_endpoint_fails_visibly_and_keeps_files(weir, tmp_path, mode, why):
    """The upload retries, then fails with the reason in the asset; the local
    files stay and play; with one storage worker, a hanging object store does
    not hold up the next recording's merge (uploads have their own pool)."""
    broken = BrokenS3(mode)
    try:
        store = tmp_path / "store"
        c = conf(store, broken, max_retries=1, backoff_ms=100, low_speed_timeout_s=1, connect_timeout_ms=500,
                 uploads=1)
        c["storage"]["workers"] = 1
        s = weir(c, name=f"broken-{mode}")
        push(s, "one", tmp_path, 2)
        push(s, "two", tmp_path, 2)
        b = wait_asset(s, "two", lambda a: a["state"] in ("ready", "uploading"), timeout=30, what="merged")
        a = wait_asset(s, "one", lambda a: a["state"] == "ready" and "error" in a, timeout=60,
                       what="ready with the upload's error")
        assert a["error"].startswith("upload failed: ") and why in a["error"], a
        assert "remote" not in a
        d = asset_dir(store, a)
        assert (d / "asset.mp4").is_file() and any(f.startswith("seg-") for f in object_files(d))
        r = httpc.get(s.http_addr, f"/vod/{a['id']}.mp4", timeout=30)
        assert r.status == 200 and len(r.body) == (d / "asset.mp4").stat().st_size
        assert broken.requests >= 2
        assert s.metric("weir_record_upload_retries_total") >= 1
        assert s.metric("weir_record_upload_failures_total") >= 1
        assert b["state"] in ("ready", "uploading"), b
        problems = s.stop()
        assert not problems, problems
    finally:
        broken.close()


# ---------------------------------------------------------------- retention deletes objects
def test_retention_deletes_the_oldest_uploaded_asset_and_its_objects(weir, s3, tmp_path):
    store = tmp_path / "store"
    c = conf(store, s3)
    c["apps"]["rec"]["record"]["retention_bytes"] = "1MiB"
    s = weir(c, name="ret")
    push(s, "old", tmp_path, 3, bitrate="2M", size="640x360")
    old = wait_asset(s, "old", lambda a: a["state"] == "uploaded", what="uploaded")
    st, _ = s3.curl("HEAD", old["remote"] + "asset.mp4")
    assert st == 200
    push(s, "new", tmp_path, 3, bitrate="2M", size="640x360")
    wait_asset(s, "new", lambda a: a["state"] == "uploaded", what="uploaded")
    wait_until(lambda: not asset_list(s, app="rec", stream="old"), 30, "the old asset deleted by retention")
    for f in ["asset.mp4", "index.m3u8", "cover.jpg"]:
        st, _ = s3.curl("HEAD", old["remote"] + f)
        assert st == 404, f
    assert asset_list(s, app="rec", stream="new"), "the newest asset is kept"
    assert s.metric("weir_record_retention_deleted_total") == 1
