"""Recording into VOD assets: push a stream, get a playable asset.

One server (`rec`) is shared by most checks, and its publishers all start at
once when the module starts (they run side by side, in real time):
- `rec/long`: 30 s H.264 + AAC over RTMP, then the publisher stops;
- `rec/srthevc`: 6 s HEVC + Opus over SRT;
- `rec/ehevc`: 2 s HEVC + AAC over Enhanced RTMP (the test RTMP client);
- `rec/resume`: 4 s, a 1.5 s pause, 4 s again (within resume_s: one asset);
- `rec/later`: 3 s, then 3 s again after resume_s (two assets).
Apps: `rec` records everything (no reconnect grace, resume_s 3); `blk` records
into a path whose parent is a regular file (the recording fails, viewers go
on); `rett` keeps 1 byte (retention deletes every finished asset, never one
being recorded); `live` records only when the admin API asks.

Separate servers: kill -9 in the middle of a recording (recovered at the next
start), and a disk that fills up (RLIMIT_FSIZE) while a viewer plays."""

import hashlib
import hmac
import json
import os
import signal
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from weirtest import httpc, media
from weirtest import srt as S
from weirtest.flv import AUDIO, SCRIPT, VIDEO
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

REC = {"reconnect_grace_ms": 0, "record": {"enabled": True, "segment_s": 10, "fragment_ms": 500, "resume_s": 3}}
CONF = {
    "workers": 2,
    "apps": {
        "live": {},
        "rec": REC,
        "blk": {"record": {"enabled": True, "path": "blocker/{asset}"}},
        "rett": {"reconnect_grace_ms": 0, "record": {"enabled": True, "resume_s": 0, "retention_bytes": 1}},
    },
}


# ---------------------------------------------------------------- helpers
def api(s, method, path, body=None, headers=None, raw=None):
    h = dict(headers or {})
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if raw is not None:
        data = raw
    r = httpc.request(s.api_addr, method, path, headers=h, body=data, timeout=20)
    try:
        j = json.loads(r.body) if r.body else None
    except ValueError:
        j = None
    return r.status, j


def assets(s, **filters):
    q = "&".join(f"{k}={v}" for k, v in filters.items())
    st, j = api(s, "GET", "/api/v1/assets" + (f"?{q}" if q else ""))
    assert st == 200, j
    return j["items"]


def wait_assets(s, n, timeout=90, **filters):
    got = []

    def ok():
        nonlocal got
        got = assets(s, **filters)
        return len(got) >= n

    wait_until(ok, timeout, f"{n} assets matching {filters} (have {got})", interval=0.25)
    return got


def fetch(s, path, headers=None):
    return httpc.get(s.http_addr, path, headers=headers or {}, timeout=60)


def top_level_boxes(data):
    out, off = [], 0
    while off + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
        out.append(typ.decode("latin-1"))
        if size < 8:
            break
        off += size
    return out


def probe(path):
    info = media.ffprobe_json(path, "-show_format", "-show_streams")
    streams = {s["codec_type"]: s for s in info["streams"]}
    return float(info["format"]["duration"]), streams


def rtmp_push(s, app, stream, logdir, name, duration, **kw):
    return media.Proc(media.publisher_args(s.rtmp_url(app, stream), duration=duration, **kw), logdir, name)


def srt_hevc_opus_args(url, duration):
    return [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(duration),
            "-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
            "-x265-params", "keyint=25:min-keyint=25:scenecut=0:log-level=error", "-b:v", "500k",
            "-pix_fmt", "yuv420p", "-c:a", "libopus", "-ar", "48000", "-ac", "2", "-b:a", "64k",
            "-f", "mpegts", "-mpegts_flags", "+resend_headers", url]


SECRET = "whsec-test-0123456789"


class Hooks:
    """Receives Weir's events; answers 500 to the first POST (Weir retries)."""

    def __init__(self):
        self.events = []  # (headers dict, raw body, parsed)
        self.lock = threading.Lock()
        self.posts = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.posts += 1
                    first = outer.posts == 1
                    if not first:
                        outer.events.append((dict(self.headers), body, json.loads(body)))
                self.send_response(500 if first else 204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of(self, type_, **data):
        with self.lock:
            return [e for e in self.events
                    if e[2]["type"] == type_ and all(e[2]["data"].get(k) == v for k, v in data.items())]


class Module:
    def __init__(self, s, logdir):
        self.s, self.logdir = s, logdir
        self.procs = []
        self.threads = []


def _resume_publisher(m):
    s = m.s
    p = rtmp_push(s, "rec", "resume", m.logdir, "resume-1", 4)
    p.wait(30)
    time.sleep(1.5)
    p = rtmp_push(s, "rec", "resume", m.logdir, "resume-2", 4)
    p.wait(30)


def _later_publisher(m):
    s = m.s
    p = rtmp_push(s, "rec", "later", m.logdir, "later-1", 3)
    p.wait(30)
    wait_until(lambda: assets(s, app="rec", stream="later", state="ready"), 60, "first 'later' asset ready")
    p = rtmp_push(s, "rec", "later", m.logdir, "later-2", 3)
    p.wait(30)


def _ehevc_publisher(m, source):
    c = RtmpClient.open(m.s.rtmp_addr)
    c.start_publish("rec", "ehevc", chunk_size=65536, extra_connect={"fourCcList": ["hvc1"]})
    for t, ts, body in source.tags():
        if t == SCRIPT:
            c.send_metadata(body)
        elif t == VIDEO:
            c.send_video(ts, body)
        else:
            c.send_audio(ts, body)
    c.call("FCUnpublish", "ehevc")
    c.send_command("deleteStream", 0.0, None, 1.0)
    time.sleep(0.5)
    c.close()


@pytest.fixture(scope="module")
def hevc_src(tmp_path_factory):
    from test_eRTMP import hevc_source as make  # the E-RTMP module's clip, split into tags
    return make.__wrapped__(tmp_path_factory) if hasattr(make, "__wrapped__") else None


@pytest.fixture(scope="module")
def rec(weir_module, tmp_path_factory, hevc_src):
    hooks = Hooks()
    s = weir_module(dict(CONF, events={"url": hooks.url, "secret": SECRET}), name="rec")
    logdir = tmp_path_factory.mktemp("recpubs")
    (s.workdir / "weir-data" / "blocker").parent.mkdir(parents=True, exist_ok=True)
    (s.workdir / "weir-data" / "blocker").write_text("a file where a directory should be\n")
    m = Module(s, logdir)
    m.hooks = hooks
    m.procs.append(rtmp_push(s, "rec", "long", logdir, "long", 30))
    m.procs.append(media.Proc(srt_hevc_opus_args(S.srt_url(s, S.streamid("rec", "srthevc")), 6), logdir, "srthevc"))
    for target in (_resume_publisher, _later_publisher):
        t = threading.Thread(target=target, args=(m,), daemon=True)
        t.start()
        m.threads.append(t)
    if hevc_src is not None:
        t = threading.Thread(target=_ehevc_publisher, args=(m, hevc_src), daemon=True)
        t.start()
        m.threads.append(t)
    yield m
    for p in m.procs:
        p.stop()
    hooks.httpd.shutdown()


# ---------------------------------------------------------------- checks
def test_thirty_seconds_become_a_ready_asset(rec, tmp_path):
    s = rec.s
    [a] = wait_assets(s, 1, timeout=90, app="rec", stream="long", state="ready")
    assert a["video"]["codec"] == "h264" and a["audio"]["codec"] == "aac", a
    assert a["video"]["width"] == 320 and a["video"]["height"] == 240
    assert abs(a["duration_s"] - 30) <= 0.6, a
    assert a["segments"] >= 3, a  # segment_s 10
    assert a["urls"]["mp4"] == f"/vod/{a['id']}.mp4"

    r = fetch(s, a["urls"]["mp4"])
    assert r.status == 200 and r.headers.get("content-type") == "video/mp4", (r.status, r.headers)
    assert r.headers.get("accept-ranges") == "bytes"
    body = r.body
    assert len(body) == int(r.headers["content-length"])
    mp4 = tmp_path / "a.mp4"
    mp4.write_bytes(body)
    boxes = top_level_boxes(body)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # fast start
    dur, streams = probe(mp4)
    assert abs(dur - 30) <= 0.5, dur
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]

    # HLS VOD, decoded end to end from the server.
    url = f"http://{s.http_addr[0]}:{s.http_addr[1]}{a['urls']['hls']}"
    pl = fetch(s, a["urls"]["hls"])
    assert pl.status == 200 and b"#EXT-X-ENDLIST" in pl.body and b"#EXT-X-BYTERANGE" in pl.body, pl.body[:500]
    rc, err = media.decode_errors(url)
    assert rc == 0 and not err.strip(), err[-2000:]
    hls_dur = sum(float(l.split(":")[1].rstrip(",")) for l in pl.body.decode().splitlines()
                  if l.startswith("#EXTINF:"))
    assert abs(hls_dur - 30) <= 0.6, hls_dur

    # Ranges (RFC 9110): exact bytes, suffix, open end, unsatisfiable, malformed.
    n = len(body)
    r = fetch(s, a["urls"]["mp4"], {"Range": "bytes=1000-1999"})
    assert r.status == 206 and r.body == body[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{n}"
    r = fetch(s, a["urls"]["mp4"], {"Range": "bytes=-100"})
    assert r.status == 206 and r.body == body[-100:]
    r = fetch(s, a["urls"]["mp4"], {"Range": f"bytes={n - 300000}-"})
    assert r.status == 206 and r.body == body[n - 300000:]  # streamed (over the one-read size)
    r = fetch(s, a["urls"]["mp4"], {"Range": f"bytes={n}-"})
    assert r.status == 416 and r.headers["content-range"] == f"bytes */{n}"
    r = fetch(s, a["urls"]["mp4"], {"Range": "bytes=abc"})
    assert r.status == 200 and r.body == body
    r = httpc.request(s.http_addr, "HEAD", a["urls"]["mp4"])
    assert r.status == 200 and int(r.headers["content-length"]) == n and not r.body

    # Cover: a JPEG that decodes.
    r = fetch(s, a["urls"]["cover"])
    assert r.status == 200 and r.headers["content-type"] == "image/jpeg"
    jpg = tmp_path / "cover.jpg"
    jpg.write_bytes(r.body)
    _, cs = probe(jpg)
    assert cs["video"]["codec_name"] == "mjpeg" and int(cs["video"]["width"]) == 320

    # Catalogue: get, edit, filter.
    st, one = api(s, "GET", f"/api/v1/assets/{a['id']}")
    assert st == 200 and one["id"] == a["id"]
    st, ed = api(s, "PATCH", f"/api/v1/assets/{a['id']}",
                 {"title": "Launch Day", "description": "first", "tags": ["launch", "keep"]})
    assert st == 200 and ed["title"] == "Launch Day" and ed["tags"] == ["launch", "keep"], ed
    assert [x["id"] for x in assets(s, tag="launch")] == [a["id"]]
    assert [x["id"] for x in assets(s, title="launch")] == [a["id"]]  # case-insensitive substring
    assert assets(s, tag="nope") == []
    since = a["started_at"]
    assert a["id"] in [x["id"] for x in assets(s, **{"from": since})]
    assert a["id"] not in [x["id"] for x in assets(s, to=since)]
    st, e = api(s, "PATCH", f"/api/v1/assets/{a['id']}", {"titel": "x"})
    assert st == 400 and e["error"]["field"] == "titel"
    st, e = api(s, "PATCH", f"/api/v1/assets/{a['id']}", raw=b"title=x", headers={"Content-Type": "text/plain"})
    assert st == 415
    st, e = api(s, "GET", "/api/v1/assets?state=bogus")
    assert st == 400 and e["error"]["field"] == "state"
    st, e = api(s, "GET", "/api/v1/assets?colour=red")
    assert st == 400

    # Paging: limit 1 walks every asset once.
    seen, cursor = [], None
    for _ in range(50):
        st, page = api(s, "GET", "/api/v1/assets?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert st == 200 and len(page["items"]) <= 1
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and a["id"] in seen

    # Delete: files and record gone.
    d = [p for p in (s.workdir / "weir-data").rglob("*" + a["id"]) if p.is_dir()]
    assert d and (d[0] / "asset.mp4").is_file()
    st, _ = api(s, "DELETE", f"/api/v1/assets/{a['id']}")
    assert st == 204
    assert not d[0].exists()
    assert api(s, "GET", f"/api/v1/assets/{a['id']}")[0] == 404
    assert fetch(s, a["urls"]["mp4"]).status == 404
    m = s.metrics()
    assert m["weir_record_bytes_total"] > 1_000_000 and m["weir_record_merges_total"] >= 1


def test_bad_asset_ids_touch_no_file(rec):
    s = rec.s
    for path, want in [("/vod/..%2f..%2fcatalogue.sqlite3.mp4", 400), ("/vod/%2e%2e.mp4", 400),
                       ("/vod/ABC.mp4", 400), ("/vod/a%00b.mp4", 400), ("/vod/0000000000000000000000a.mp4", 404),
                       ("/vod/0000000000000000000000a/index.m3u8", 404),
                       ("/vod/0000000000000000000000a/..%2f..%2fcatalogue.sqlite3", 400),
                       ("/vod/0000000000000000000000a/seg-1.mp4", 404)]:
        r = fetch(s, path)
        assert r.status == want, (path, r.status, r.body[:200])
    for path in ["/api/v1/assets/..%2fx", "/api/v1/assets/ABC", "/api/v1/assets/a%21b"]:
        st, e = api(s, "GET", path)
        assert st == 400, (path, st, e)


def test_hevc_and_opus_over_srt(rec, tmp_path):
    s = rec.s
    [a] = wait_assets(s, 1, timeout=60, app="rec", stream="srthevc", state="ready")
    assert a["video"]["codec"] == "hevc" and a["audio"]["codec"] == "opus", a
    mp4 = tmp_path / "h.mp4"
    mp4.write_bytes(fetch(s, a["urls"]["mp4"]).body)
    dur, streams = probe(mp4)
    assert abs(dur - 6) <= 0.8, dur
    assert streams["video"]["codec_name"] == "hevc" and streams["audio"]["codec_name"] == "opus"
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]


def test_hevc_over_enhanced_rtmp(rec, tmp_path, hevc_src):
    if hevc_src is None:
        pytest.skip("the E-RTMP clip fixture could not be reused")
    s = rec.s
    [a] = wait_assets(s, 1, timeout=60, app="rec", stream="ehevc", state="ready")
    mp4 = tmp_path / "e.mp4"
    mp4.write_bytes(fetch(s, a["urls"]["mp4"]).body)
    dur, streams = probe(mp4)
    assert streams["video"]["codec_name"] == "hevc" and streams["audio"]["codec_name"] == "aac"
    assert abs(dur - 2) <= 0.2, dur
    assert media.count_frames(mp4)["video"] >= 49


def test_publisher_back_within_resume_s_continues_the_asset(rec, tmp_path):
    s = rec.s
    [a] = wait_assets(s, 1, timeout=60, app="rec", stream="resume", state="ready")
    time.sleep(1)
    assert len(assets(s, app="rec", stream="resume")) == 1
    # 4 s + the pause (1.5 s plus the publisher's start-up) + 4 s, the pause kept as time.
    assert 9.3 <= a["duration_s"] <= 12, a
    mp4 = tmp_path / "r.mp4"
    mp4.write_bytes(fetch(s, a["urls"]["mp4"]).body)
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]
    # Timestamps never run backwards, and the pause is one jump of >= 1.5 s.
    dts = [p["dts"] for p in media.packets(mp4) if p["type"] == "video"]
    assert all(b > a_ for a_, b in zip(dts, dts[1:]))
    assert max(b - a_ for a_, b in zip(dts, dts[1:])) >= 1.4


def test_publisher_back_after_resume_s_starts_a_new_asset(rec):
    s = rec.s
    got = wait_assets(s, 2, timeout=90, app="rec", stream="later", state="ready")
    assert all(2.5 <= x["duration_s"] <= 3.6 for x in got), got


def test_unwritable_storage_fails_the_recording_not_the_stream(rec):
    s = rec.s
    v = FlvViewer(s.http_addr, "/blk/x.flv")
    pub = rtmp_push(s, "blk", "x", rec.logdir, "blk", None)
    try:
        s.wait_stream("blk", "x")
        v.start()
        [a] = wait_assets(s, 1, timeout=20, app="blk", state="failed")
        assert "blocker" in a.get("error", ""), a
        assert s.metric('weir_record_failures_total{reason="open_error"}') >= 1
        info = s.stream_info("blk", "x")
        assert info["live"] and info["recording"] is None
        time.sleep(3)
        tags = [t for t in list(v.tags) if t.type in (VIDEO, AUDIO)]
        assert len(tags) > 100, len(tags)
        arrivals = [t.arrival for t in tags]
        assert max(b - a_ for a_, b in zip(arrivals, arrivals[1:])) < 1.0  # no stall
    finally:
        pub.stop()
        v.stop()


def test_admin_api_starts_and_stops_a_recording(rec, tmp_path):
    s = rec.s
    pub = rtmp_push(s, "live", "api", rec.logdir, "api", 20)
    try:
        s.wait_stream("live", "api")
        assert s.stream_info("live", "api")["recording"] is None
        st, r = api(s, "POST", "/api/v1/recordings", {"app": "live", "stream": "api"})
        assert st == 201 and r["state"] == "recording" and r["started_by"] == "api", r
        st, e = api(s, "POST", "/api/v1/recordings", {"app": "live", "stream": "api"})
        assert st == 409, e
        assert api(s, "POST", "/api/v1/recordings", {"app": "live", "stream": "nope"})[0] == 404
        assert api(s, "POST", "/api/v1/recordings", {"app": "live"})[0] == 400
        assert api(s, "POST", "/api/v1/recordings", {"app": "live", "stream": "api", "x": 1})[0] == 400
        wait_until(lambda: (s.stream_info("live", "api")["recording"] or {}).get("fragments", 0) > 2, 10,
                   "recording fragments")
        st, items = api(s, "GET", "/api/v1/recordings")
        assert r["asset"] in [x["asset"] for x in items["items"]]
        time.sleep(3)
        st, a = api(s, "DELETE", f"/api/v1/recordings/{r['asset']}")
        assert st == 202 and a["id"] == r["asset"], a
        assert api(s, "DELETE", f"/api/v1/recordings/{r['asset']}")[0] == 404
        [a] = wait_assets(s, 1, timeout=30, app="live", stream="api", state="ready")
        assert 2.5 <= a["duration_s"] <= 8, a
        assert s.stream_info("live", "api")["live"]  # the stream goes on
    finally:
        pub.stop()


def test_retention_never_deletes_a_recording_in_progress(rec):
    s = rec.s
    long_pub = rtmp_push(s, "rett", "long", rec.logdir, "rett-long", 15)
    try:
        s.wait_stream("rett", "long")
        p = rtmp_push(s, "rett", "short", rec.logdir, "rett-short", 2)
        p.wait(30)
        # The short asset becomes ready, and retention (1 byte) deletes it...
        wait_until(lambda: s.metric("weir_record_retention_deleted_total") >= 1, 30, "retention deleted an asset")
        assert assets(s, app="rett", stream="short") == []
        # ... but not the asset still being recorded.
        [a] = assets(s, app="rett", stream="long")
        assert a["state"] == "recording"
    finally:
        long_pub.stop()


def test_events_are_signed_retried_and_carry_the_asset(rec):
    s = rec.s
    [a] = wait_assets(s, 1, timeout=90, app="rec", stream="srthevc", state="ready")
    wait_until(lambda: rec.hooks.of("asset.ready", id=a["id"]), 30, "asset.ready event")
    headers, body, ev = rec.hooks.of("asset.ready", id=a["id"])[0]
    assert ev["data"]["stream"] == "srthevc" and ev["data"]["state"] == "ready"
    assert ev["id"].startswith("evt_") and ev["time"].endswith("Z")
    t, v1 = (x.split("=", 1)[1] for x in headers["Weir-Signature"].split(","))
    want = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, want), headers["Weir-Signature"]
    assert abs(int(t) - time.time()) < 120
    # The first POST was answered 500: it was retried, not lost.
    m = s.metrics()
    assert m["weir_events_retries_total"] >= 1 and m["weir_events_delivered_total"] >= 1
    # A failed recording is an event too.
    p = rtmp_push(s, "blk", "evfail", rec.logdir, "evfail", 2)
    try:
        wait_until(lambda: rec.hooks.of("asset.failed", stream="evfail"), 30, "asset.failed event")
    finally:
        p.stop()


def test_stream_events_published_and_unpublished(rec):
    s = rec.s
    p = rtmp_push(s, "live", "evstream", rec.logdir, "evstream", 2)
    p.wait(30)
    # The stream ends once its reconnect grace (5 s) passes.
    wait_until(lambda: rec.hooks.of("stream.unpublished", stream="evstream"), 30, "stream.unpublished event")
    [pub] = [e for _, _, e in rec.hooks.of("stream.published", stream="evstream")]
    [unpub] = [e for _, _, e in rec.hooks.of("stream.unpublished", stream="evstream")]
    assert pub["data"]["app"] == "live" and pub["data"]["protocol"] == "rtmp", pub
    assert pub["data"]["peer"].startswith("127.0.0.1:"), pub
    with rec.hooks.lock:
        order = [e[2]["id"] for e in rec.hooks.events]
    assert order.index(pub["id"]) < order.index(unpub["id"])
    d = unpub["data"]
    assert d["app"] == "live" and d["reason"], d
    assert 1500 <= d["duration_ms"] <= 20000 and d["bytes"] > 10000 and d["video_frames"] >= 40, d


# ---------------------------------------------------------------- crash
def test_kill9_loses_at_most_a_fragment(weir, tmp_path):
    store = tmp_path / "store"
    conf = {"storage": {"root": str(store)},
            "apps": {"rec": {"reconnect_grace_ms": 0,
                             "record": {"enabled": True, "segment_s": 8, "fragment_ms": 500, "fsync": "fragment"}}}}
    s = weir(conf, name="crash1")
    pub = rtmp_push(s, "rec", "k", tmp_path, "k", None)
    try:
        s.wait_stream("rec", "k")
        t0 = time.monotonic()
        wait_until(lambda: s.metric("weir_record_fragments_total") > 0, 10, "first fragment")
        time.sleep(max(0, 20 - (time.monotonic() - t0)))
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(10)
        s.returncode = s.proc.returncode
    finally:
        pub.stop()
    s2 = weir(conf, name="crash2")
    [a] = wait_assets(s2, 1, timeout=60, app="rec", stream="k", state="ready")
    assert a["duration_s"] >= 19, a
    assert s2.metric("weir_record_recovered_total") == 1
    mp4 = tmp_path / "k.mp4"
    mp4.write_bytes(fetch(s2, a["urls"]["mp4"]).body)
    dur, streams = probe(mp4)
    assert dur >= 19 and "video" in streams and "audio" in streams
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]


# ---------------------------------------------------------------- full disk
def test_full_disk_fails_the_recording_while_a_viewer_plays(weir, weir_bin, tmp_path):
    # RLIMIT_FSIZE makes every write past 2 MB fail with EFBIG, as a full disk
    # fails with ENOSPC: the recording fails, the viewer does not notice.
    wrapper = tmp_path / "weir-fsize"
    wrapper.write_text(f"#!/bin/sh\nexec prlimit --fsize=2000000 {weir_bin} \"$@\"\n")
    wrapper.chmod(0o755)
    from weirtest.server import WeirServer
    s = WeirServer(wrapper, tmp_path / "full", {"apps": {"rec": {"record": {"enabled": True}}}}, name="full")
    weir.servers.append(s)
    s.start()
    pub = rtmp_push(s, "rec", "f", tmp_path, "f", None, bitrate="4000k", cbr=True)
    v = FlvViewer(s.http_addr, "/rec/f.flv")
    try:
        s.wait_stream("rec", "f")
        v.start()
        [a] = wait_assets(s, 1, timeout=30, app="rec", state="failed")
        assert "too large" in a["error"].lower() or "no space" in a["error"].lower(), a
        assert s.metric('weir_record_failures_total{reason="write_error"}') >= 1
        time.sleep(2)
        tags = [t for t in list(v.tags) if t.type in (VIDEO, AUDIO)]
        arrivals = [t.arrival for t in tags]
        assert len(tags) > 150 and max(b - a_ for a_, b in zip(arrivals, arrivals[1:])) < 1.0
        assert s.stream_info("rec", "f")["live"]
    finally:
        pub.stop()
        v.stop()
