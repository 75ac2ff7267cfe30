"""Live snapshots (apps.<app>.snapshot): GET /{app}/{stream}/snapshot.jpg|png
decoded on demand from the GOP cache, and periodic pictures on disk with an
event per file.

Real publishers only: ffmpeg pushes testsrc2 (a pattern that moves every
frame) and a solid colour over RTMP (H.264), and testsrc2 in HEVC over SRT
(MPEG-TS; ffmpeg 5.1 cannot send HEVC over RTMP). Every picture Weir returns
is decoded by ffmpeg (to raw RGB) and checked: its size, that it changes over
time, that a red source gives red pixels. The burst test fires 200 requests
at once at a stream nobody asked for before, with cache_ms longer than the
burst, and checks that exactly one decode and one encode were made (the
counters in /metrics) and that all 200 got the same bytes."""

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import pytest

from weirtest import media
from weirtest import srt as S
from weirtest.receiver import Receiver
from weirtest.server import wait_until

PLAY_KEY = "snap-play-key-0001"
SIZE = (640, 360)


def decode_rgb(data):
    """ffprobe's size of an image and its pixels as RGB24 (ffmpeg decodes it)."""
    info = json.loads(media.run([media.FFPROBE, "-v", "error", "-show_streams", "-of", "json", "-i", "pipe:0"],
                                input=data).stdout)
    st = info["streams"][0]
    w, h = int(st["width"]), int(st["height"])
    raw = media.run([media.FFMPEG, "-v", "error", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                    input=data).stdout
    assert len(raw) == w * h * 3, f"{len(raw)} bytes of RGB for {w}x{h}"
    return st["codec_name"], w, h, raw


def mean_rgb(raw):
    n = len(raw) // 3
    return tuple(sum(raw[c::3]) / n for c in range(3))


def mean_abs_diff(a, b):
    assert len(a) == len(b)
    step = 7  # every 7th byte: plenty for a mean, fast in Python
    idx = range(0, len(a), step)
    return sum(abs(a[i] - b[i]) for i in idx) / len(idx)


def snap(srv, path, timeout=30.0):
    """GET a snapshot until it is 200 (the first keyframe may not be there yet)."""
    deadline = time.monotonic() + timeout
    while True:
        r = srv.get(path, timeout=20)
        if r.status == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def color_args(url, color="red", size="320x240"):
    return [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            f"color=c={color}:size={size}:rate=25", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-b:v", "300k", "-f", "flv",
            url]


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def srv(weir_module, receiver, tmp_path_factory):
    cfg = {
        "workers": 2,
        "storage": {"root": str(tmp_path_factory.mktemp("snapstore"))},
        "apps": {
            "live": {"reconnect_grace_ms": 0},
            "signed": {"reconnect_grace_ms": 0, "sign": {"play_keys": PLAY_KEY}},
            "off": {"reconnect_grace_ms": 0, "snapshot": {"on_demand": False}},
            "every": {"reconnect_grace_ms": 0, "events": {"url": receiver.url},
                      "snapshot": {"interval_s": 1, "width": 160, "keep": 3, "dir": "pics/{app}-{stream}"}},
        },
    }
    return weir_module(cfg)


@pytest.fixture(scope="module")
def pubs(srv, tmp_path_factory):
    logdir = tmp_path_factory.mktemp("snappubs")
    w, h = SIZE
    procs = [
        media.start_publisher(srv.rtmp_url("live", "pattern"), logdir, "pattern", duration=None, size=f"{w}x{h}"),
        media.Proc(color_args(srv.rtmp_url("live", "red")), logdir, "red"),
        media.start_publisher(srv.rtmp_url("live", "sound"), logdir, "sound", duration=None, video=False),
        S.start_ts_publisher(S.srt_url(srv, S.streamid("live", "hevc")), logdir, "hevc", duration=None,
                             vcodec="hevc", size=f"{w}x{h}"),
        media.start_publisher(srv.rtmp_url("signed", "s"), logdir, "signed", duration=None),
        media.start_publisher(srv.rtmp_url("off", "s"), logdir, "off", duration=None),
    ]
    for app, name in (("live", "pattern"), ("live", "red"), ("live", "hevc"), ("signed", "s"), ("off", "s")):
        srv.wait_stream(app, name, pred=lambda i: i["video_frames"] >= 30, timeout=30)
    srv.wait_stream("live", "sound", pred=lambda i: i["audio_frames"] >= 20, timeout=30)
    yield procs
    for p in procs:
        p.stop()


def test_jpeg_has_the_stream_size_and_w_scales_it(srv, pubs):
    r = snap(srv, "/live/pattern/snapshot.jpg")
    assert r.status == 200, r
    assert r.header("content-type") == "image/jpeg"
    assert r.header("cache-control") == "public, max-age=1"
    codec, w, h, _ = decode_rgb(r.body)
    assert (codec, w, h) == ("mjpeg", *SIZE)
    r = snap(srv, "/live/pattern/snapshot.jpg?w=320")
    assert r.status == 200
    assert decode_rgb(r.body)[1:3] == (320, 180)
    # Odd widths give even dimensions; a width above the source is not upscaled.
    assert decode_rgb(snap(srv, "/live/pattern/snapshot.jpg?w=161").body)[1:3] == (160, 90)
    assert decode_rgb(snap(srv, "/live/pattern/snapshot.jpg?w=4000").body)[1:3] == SIZE


def test_png(srv, pubs):
    r = snap(srv, "/live/pattern/snapshot.png?w=320")
    assert r.status == 200
    assert r.header("content-type") == "image/png"
    assert r.body[:8] == b"\x89PNG\r\n\x1a\n"
    codec, w, h, _ = decode_rgb(r.body)
    assert (codec, w, h) == ("png", 320, 180)


def test_the_picture_changes_over_time(srv, pubs):
    _, _, _, first = decode_rgb(snap(srv, "/live/pattern/snapshot.jpg").body)
    time.sleep(2.5)  # past cache_ms (1 s): a new decode of a later GOP
    _, _, _, later = decode_rgb(snap(srv, "/live/pattern/snapshot.jpg").body)
    # testsrc2 moves every frame; JPEG noise alone is well under 1 per byte.
    assert mean_abs_diff(first, later) > 2.0


def test_a_red_source_gives_red_pixels(srv, pubs):
    codec, w, h, raw = decode_rgb(snap(srv, "/live/red/snapshot.png").body)
    assert (w, h) == (320, 240)
    r, g, b = mean_rgb(raw)
    assert r > 235 and g < 20 and b < 20, (r, g, b)
    r, g, b = mean_rgb(decode_rgb(snap(srv, "/live/red/snapshot.jpg?w=64").body)[3])
    assert r > 230 and g < 25 and b < 25, (r, g, b)


def test_hevc_source(srv, pubs):
    r = snap(srv, "/live/hevc/snapshot.jpg")
    assert r.status == 200, r
    assert decode_rgb(r.body)[1:3] == SIZE


def test_errors_audio_only_unknown_bad_w_and_app_off(srv, pubs):
    r = srv.get("/live/sound/snapshot.jpg")
    assert r.status == 404 and b"no video" in r.body and b"audio-only" in r.body, r
    assert r.header("cache-control") == "no-store"
    r = srv.get("/live/nobody/snapshot.jpg")
    assert r.status == 404, r
    r = srv.get("/nosuchapp/s/snapshot.jpg")
    assert r.status == 404, r
    for bad in ("0", "1", "-5", "abc", "16385", "99999999", ""):
        r = srv.get(f"/live/pattern/snapshot.jpg?w={bad}")
        assert r.status == 400 and r.body.startswith(b"w: "), (bad, r, r.body)
    r = srv.get("/off/s/snapshot.jpg")
    assert r.status == 404 and b"on_demand" in r.body, r
    # The stream and its viewers were never disturbed: the pattern still plays.
    assert snap(srv, "/live/pattern/snapshot.jpg?w=64").status == 200
    assert srv.stream_info("live", "pattern") is not None


def test_signed_app_refuses_an_unsigned_snapshot(srv, pubs):
    r = srv.get("/signed/s/snapshot.jpg")
    assert r.status == 403, r
    expires = int(time.time()) + 300
    tok = hmac.new(PLAY_KEY.encode(), f"play\nsigned\ns\n{expires}".encode(), hashlib.sha256).hexdigest()
    r = snap(srv, f"/signed/s/snapshot.jpg?expires={expires}&token={tok}&w=160")
    assert r.status == 200, r
    assert r.header("cache-control").startswith("private"), r.header("cache-control")
    assert decode_rgb(r.body)[1] == 160
    r = srv.get(f"/signed/s/snapshot.jpg?expires={expires}&token={'0' * 64}")
    assert r.status == 403, r
    assert srv.metric('weir_auth_denied_total{protocol="snapshot",reason="missing"}') >= 1


def test_periodic_snapshots_events_and_retention(srv, pubs, receiver):
    root = Path(srv.config["storage"]["root"])
    p = media.start_publisher(srv.rtmp_url("every", "cam"), root.parent / "everylog", "every", duration=None)
    try:
        wait_until(lambda: len(receiver.events("snapshot.created", app="every", stream="cam")) >= 5, 40,
                   "five snapshot.created events")
    finally:
        p.stop()
    # The stream ends with its publisher (reconnect_grace_ms 0), and its ticker
    # with it; then every file written has had its event.
    wait_until(lambda: srv.stream_info("every", "cam") is None, 15, "every/cam to end")
    written = srv.metric("weir_snapshot_files_written_total")
    wait_until(lambda: len(receiver.events("snapshot.created", app="every", stream="cam")) == written, 15,
               "an event for every file written")
    events = receiver.events("snapshot.created", app="every", stream="cam")
    d = root / "pics" / "every-cam"
    # keep: 3 -> exactly the three newest files are left, nothing else.
    files = sorted(x.name for x in d.iterdir())
    assert files == sorted(e["data"]["file"] for e in events)[-3:], files
    assert srv.metric("weir_snapshot_files_deleted_total") == len(events) - 3
    for e in events:
        data = e["data"]
        assert data["format"] == "jpg" and data["width"] == 160 and data["height"] == 120, data
        assert data["path"].endswith("/pics/every-cam/" + data["file"])
        assert data["bytes"] > 500
        assert e["time"] and data["time"].endswith("Z")
    for name in files:
        codec, w, h, _ = decode_rgb((d / name).read_bytes())
        assert (codec, w, h) == ("mjpeg", 160, 120)
    # One a second (a repeating timer): consecutive files 1 s apart; a tick
    # skipped on a loaded machine (counted as busy) leaves at most a 2 s gap.
    times = sorted(time.mktime(time.strptime(e["data"]["time"][:19], "%Y-%m-%dT%H:%M:%S")) +
                   float("0." + e["data"]["time"][20:23]) for e in events)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.5 <= g <= 2.1 for g in gaps), gaps
    assert srv.metric("weir_snapshot_files_failed_total") == 0
    assert not list(d.glob("*.tmp"))


def test_burst_of_200_costs_one_decode(weir, tmp_path):
    s = weir({"workers": 2, "apps": {"live": {"snapshot": {"cache_ms": 60000}}}})
    p = media.start_publisher(s.rtmp_url("live", "burst"), tmp_path / "pub", "burst", duration=None, size="640x360")
    try:
        s.wait_stream("live", "burst", pred=lambda i: i["video_frames"] >= 30, timeout=30)
        before = s.metrics()
        start = threading.Barrier(200)
        results = [None] * 200

        def one(i):
            start.wait()
            results[i] = s.get("/live/burst/snapshot.jpg?w=320", timeout=60)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        after = s.metrics()
    finally:
        p.stop()
    statuses = [r.status for r in results]
    assert statuses == [200] * 200, statuses
    assert len({r.body for r in results}) == 1, "every request got the same picture"
    assert decode_rgb(results[0].body)[1:3] == (320, 180)
    assert after["weir_snapshot_requests_total"] - before.get("weir_snapshot_requests_total", 0) == 200
    assert after["weir_snapshot_decodes_total"] - before.get("weir_snapshot_decodes_total", 0) == 1
    assert after["weir_snapshot_encodes_total"] - before.get("weir_snapshot_encodes_total", 0) == 1
    joined_or_hit = (after["weir_snapshot_joined_total"] + after["weir_snapshot_cache_hits_total"] -
                     before.get("weir_snapshot_joined_total", 0) - before.get("weir_snapshot_cache_hits_total", 0))
    assert joined_or_hit == 199
