"""HTTP-FLV and WebSocket-FLV play, GOP cache, CORS, status codes, API."""

import struct
import time

import pytest

from weirtest import checks, media
from weirtest.flv import parse_flv
from weirtest.httpc import FlvViewer, request
from weirtest.ws import BINARY, CLOSE, PONG, WsClient, accept_for

GOP_FRAMES = 50  # 2 s at 25 fps
GOP_MS = 2000


def wait_mid_gop(s, stream="s"):
    """Waits until the live edge is in the middle of a GOP (at least one full
    GOP in); returns the edge (last_dts_ms) seen just before returning."""
    info = s.wait_stream(name=stream, timeout=20, what="live edge in the middle of its 2nd+ GOP",
                         pred=lambda i: i["last_dts_ms"] > GOP_MS and 700 <= i["last_dts_ms"] % GOP_MS <= 1300)
    return info["last_dts_ms"]


def start_sequence(tags):
    return [t.kind() for t in tags[:4]]


def test_gop_cache_gives_new_viewer_the_current_gop(weir, tmp_path):
    s = weir({"apps": {"live": {"gop_cache": True}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=8.0, gop=GOP_FRAMES)
    edge = wait_mid_gop(s)
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    tags = v.wait(lambda t: sum(x.is_video_frame for x in t) >= 30, 10, "30 video frames")
    pub.stop()
    v.stop()
    assert v.status == 200
    assert v.parser.header[:4] == b"FLV\x01"
    assert start_sequence(tags) == ["script:onMetaData", "video-config", "aac-config", "video-key"], \
        start_sequence(tags)
    frames = [t for t in tags if t.is_video_frame]
    first = frames[0]
    assert first.is_keyframe, f"first video frame is not a keyframe: {first}"
    assert first.timestamp < edge, \
        f"first frame ts {first.timestamp} is not before the live edge at join ({edge}): not from the cache"
    assert first.timestamp % GOP_MS <= 40, f"first keyframe ts {first.timestamp} is not a GOP start"
    # A full GOP's worth of frames (from the keyframe to the edge at join) came at once.
    cached = [t for t in frames if t.timestamp <= edge]
    want = (edge - first.timestamp) // 40 + 1
    assert len(cached) >= want - 3, f"{len(cached)} cached frames, expected about {want}"
    # Nothing before the keyframe: no audio older than the keyframe either.
    media_tags = [t for t in tags if t.is_video_frame or t.is_audio_frame]
    assert media_tags[0].timestamp >= first.timestamp - 50, media_tags[0]
    checks.assert_per_track_monotonic(tags)
    assert not checks.video_gaps(tags, 100), checks.video_gaps(tags, 100)


def test_without_gop_cache_viewer_starts_at_next_keyframe(weir, tmp_path):
    s = weir({"apps": {"live": {"gop_cache": False}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=8.0, gop=GOP_FRAMES)
    edge = wait_mid_gop(s)
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    tags = v.wait(lambda t: sum(x.is_video_frame for x in t) >= 5, 10, "5 video frames")
    pub.stop()
    v.stop()
    assert v.status == 200
    assert start_sequence(tags)[:3] == ["script:onMetaData", "video-config", "aac-config"], start_sequence(tags)
    first = next(t for t in tags if t.is_video_frame)
    assert first.is_keyframe, first
    assert first.timestamp > edge, f"first frame ts {first.timestamp} not after the join time ({edge})"
    media_tags = [t for t in tags if t.is_video_frame or t.is_audio_frame]
    assert media_tags[0].timestamp >= first.timestamp - 50, \
        f"media older than the first keyframe was sent: {media_tags[0]}"


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_single_track_streams(weir, tmp_path, kind):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0, audio=kind == "audio", video=kind == "video")
    field = "audio_frames" if kind == "audio" else "video_frames"
    s.wait_stream(pred=lambda i: i[field] > 10)
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    assert pub.wait(20) == 0, pub.log()
    assert v.wait_end(10) == "eof"
    path = tmp_path / f"{kind}.flv"
    path.write_bytes(v.raw)
    assert v.parser.flags == (0x04 if kind == "audio" else 0x01), f"FLV header flags {v.parser.flags:#x}"
    st = media.streams(path)
    assert list(st) == [kind], st
    assert st[kind]["codec_name"] == ("aac" if kind == "audio" else "h264")
    tags = v.snapshot()
    assert all(t.is_audio for t in tags if not t.is_script) if kind == "audio" else \
        all(t.is_video for t in tags if not t.is_script)
    checks.assert_decodes_cleanly(path)


def test_websocket_flv(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0)
    s.wait_stream(pred=lambda i: i["video_frames"] > 5)
    ws = WsClient(s.http_addr, "/live/s.flv")
    assert ws.status == 101, ws.status
    assert ws.headers.get("upgrade", "").lower() == "websocket"
    assert "upgrade" in ws.headers.get("connection", "").lower()
    assert ws.headers.get("sec-websocket-accept") == accept_for(ws.key)
    frames = []
    pongs = []
    ping_sent = False
    end = None
    while True:
        try:
            fin, op, payload = ws.recv_frame(timeout=10)
        except ConnectionError as e:
            end = str(e)
            break
        if op == PONG:
            pongs.append(payload)
            continue
        if op == CLOSE:
            end = f"close frame {struct.unpack('>H', payload[:2])[0] if len(payload) >= 2 else None}"
            break
        assert fin and op == BINARY, f"frame fin={fin} opcode={op}"
        frames.append(payload)
        if len(frames) == 20 and not ping_sent:
            ws.ping(b"are-you-there")
            ping_sent = True
    assert pub.wait(20) == 0, pub.log()
    assert pongs == [b"are-you-there"], f"pongs: {pongs}"
    close_end = end
    assert frames[0][:4] == b"FLV\x01" and len(frames[0]) == 13, frames[0][:16]
    assert frames[0][9:13] == b"\x00\x00\x00\x00"
    for i, f in enumerate(frames[1:], 1):
        size = int.from_bytes(f[1:4], "big")
        assert len(f) == 11 + size + 4, f"frame {i} is not exactly one FLV tag ({len(f)} bytes, tag size {size})"
        assert struct.unpack(">I", f[-4:])[0] == 11 + size
    data = b"".join(frames)
    header, tags = parse_flv(data)
    assert [t.kind() for t in tags[:3]] == ["script:onMetaData", "video-config", "aac-config"]
    path = tmp_path / "ws.flv"
    path.write_bytes(data)
    checks.assert_av_basics(path)
    checks.assert_decodes_cleanly(path)
    ws.shutdown()
    # RFC 6455 7.1.2: an endpoint that closes the connection starts the
    # closing handshake with a Close frame (1000 normal, 1001 going away);
    # a bare TCP close is reported to browser players as 1006 (abnormal).
    assert close_end in ("close frame 1000", "close frame 1001"), \
        f"stream end on WebSocket-FLV: {close_end}, no Close frame before the TCP close"


def test_cors_and_preflight(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0)
    s.wait_stream(pred=lambda i: i["video_frames"] > 2)
    v = FlvViewer(s.http_addr, "/live/s.flv", headers={"Origin": "http://player.example"})
    v.start()
    v.wait(lambda t: len(t) > 3, 10, "tags")
    v.stop()
    assert v.headers.get("access-control-allow-origin") == "*", v.headers
    assert v.headers.get("content-type") == "video/x-flv"
    r = request(s.http_addr, "OPTIONS", "/live/s.flv",
                headers={"Origin": "http://player.example", "Access-Control-Request-Method": "GET",
                         "Access-Control-Request-Headers": "range"})
    assert r.status in (200, 204), r
    assert r.header("access-control-allow-origin") == "*", r.headers
    assert "GET" in r.header("access-control-allow-methods", ""), r.headers
    assert "range" in r.header("access-control-allow-headers", "").lower(), r.headers
    # 404s for media paths carry the header too (players read the status cross-origin).
    r = request(s.http_addr, "GET", "/live/none.flv", headers={"Origin": "http://player.example"})
    assert r.status == 404 and r.header("access-control-allow-origin") == "*"
    # A WebSocket upgrade without Sec-WebSocket-Key is refused, not switched.
    r = request(s.http_addr, "GET", "/live/s.flv",
                headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"})
    assert r.status == 400, r
    pub.stop()


def test_cors_origin_configurable(weir, tmp_path):
    s = weir({"http": {"cors_origin": "https://site.example"}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0)
    s.wait_stream(pred=lambda i: i["video_frames"] > 2)
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    v.wait(lambda t: len(t) > 3, 10, "tags")
    v.stop()
    assert v.headers.get("access-control-allow-origin") == "https://site.example", v.headers
    pub.stop()
    s2 = weir({"http": {"cors_origin": ""}}, name="nocors")
    r = request(s2.http_addr, "GET", "/live/none.flv")
    assert "access-control-allow-origin" not in r.headers, r.headers


STATUS_CASES = [
    ("GET", "/live/none.flv", 404),
    ("GET", "/nosuchapp/s.flv", 404),
    ("GET", "/live/.hidden.flv", 400),
    ("GET", "/live/bad$name.flv", 400),
    ("GET", "/live/" + "a" * 129 + ".flv", 400),
    ("GET", "/live/" + "a" * 128 + ".flv", 404),  # longest legal name: valid, just not published
    ("GET", "/live/a.b-c_D9.flv", 404),
    ("GET", "/.app/s.flv", 400),
    ("GET", "/live/a/b.flv", 404),
    ("GET", "/nothing-here", 404),
    ("GET", "/api/streams/live/none", 404),
    ("POST", "/live/s.flv", 405),
]


def test_status_codes(weir):
    s = weir({})
    got = {}
    for method, path, want in STATUS_CASES:
        r = request(s.http_addr, method, path, body=b"x" if method == "POST" else b"")
        got[(method, path[:40])] = (r.status, want)
    bad = {k: v for k, v in got.items() if v[0] != v[1]}
    assert not bad, f"(status, expected): {bad}"
    r = s.get("/healthz")
    assert r.status == 200 and r.body == b"ok\n"
    assert s.api() == []


def test_play_wait_http(weir, tmp_path):
    s = weir({"apps": {"live": {"play_wait_ms": 3000, "reconnect_grace_ms": 0}}})
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    time.sleep(0.5)
    assert v.status is None, f"answered {v.status} before the stream was published"
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=2.0)
    tags = v.wait(lambda t: sum(x.is_video_frame for x in t) >= 10, 10, "video after the publisher arrived")
    assert v.status == 200
    assert [t.kind() for t in tags[:3]] == ["script:onMetaData", "video-config", "aac-config"], \
        [t.kind() for t in tags[:4]]
    assert pub.wait(20) == 0
    assert v.wait_end(10) == "eof"
    # Nothing published: 404 once the wait has passed, not before.
    t0 = time.monotonic()
    r = request(s.http_addr, "GET", "/live/never.flv", timeout=10)
    waited = time.monotonic() - t0
    assert r.status == 404
    assert waited >= 2.7, f"404 after {waited:.2f} s, before play_wait_ms (3000)"


def test_api_and_metrics(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 60000}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0, gop=25)
    info = s.wait_stream(pred=lambda i: i["video_frames"] > 5)
    assert info["live"] is True
    m = s.metrics()
    assert m["weir_publishers"] == 1 and m["weir_streams"] == 1
    assert m["weir_connections"] >= 1
    v = FlvViewer(s.http_addr, "/live/s.flv")
    v.start()
    v.wait(lambda t: len(t) > 3, 10, "tags")
    assert s.metric("weir_viewers") == 1
    assert s.stream_info()["loops_attached"] == 1
    assert pub.wait(20) == 0
    # In the reconnect grace: listed, not live, viewer still attached.
    info = s.wait_stream(pred=lambda i: not i["live"], what="not live after the publisher left")
    for key in ("app", "name", "live", "publishes", "packets", "video_frames", "keyframes", "audio_frames",
                "loops_attached", "ring"):
        assert key in info, f"/api/streams entry lacks {key}: {info}"
    for key in ("packets", "bytes", "duration_ms"):
        assert key in info["ring"], info["ring"]
    assert (info["app"], info["name"], info["publishes"]) == ("live", "s", 1)
    checks.within(info["audio_frames"], 3 * 44100 / 1024, 0.04, "audio_frames")
    assert info["packets"] >= info["video_frames"] + info["audio_frames"]
    assert info["ring"]["packets"] > 0 and info["ring"]["bytes"] > 0
    assert 2800 <= info["ring"]["duration_ms"] <= 3200, info["ring"]
    assert len(s.api()) == 1
    text = s.get("/metrics")
    assert text.header("content-type", "").startswith("text/plain")
    body = text.body.decode()
    for name, typ in [("weir_viewer_skips_total", "counter"), ("weir_viewers_slow_closed_total", "counter"),
                      ("weir_sessions_rejected_total", "counter"), ("weir_publish_refused_total", "counter"),
                      ("weir_republish_total", "counter"), ("weir_takeovers_total", "counter"),
                      ("weir_viewers", "gauge"), ("weir_publishers", "gauge"), ("weir_streams", "gauge"),
                      ("weir_connections", "gauge")]:
        assert f"# TYPE {name} {typ}\n" in body, f"/metrics lacks {name} ({typ})"
    m = s.metrics()
    assert m["weir_publishers"] == 0 and m["weir_viewers"] == 1 and m["weir_streams"] == 1
    eos = [t for t in v.snapshot() if t.is_video and t.packet_type == 2]
    v.stop()
    s.wait_metric("weir_viewers", lambda x: x == 0)
    # Last: the counters of what was published (75 pictures, 3 GOPs).
    assert info["video_frames"] == 75, (
        f"video_frames is {info['video_frames']} for 75 pictures published; ffmpeg also sent "
        f"{len(eos)} AVC end-of-sequence tag(s), which are not frames: {info}")
    assert info["keyframes"] == 3, info
