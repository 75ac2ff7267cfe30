"""RTMP publish and play with real peers (ffmpeg), refusals, takeover."""

import subprocess
import time

import pytest

from weirtest import checks, media
from weirtest.flv import parse_flv
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient

DURATION = 4.0
FPS = 25


def test_push_then_play_over_rtmp_and_http_flv(weir, tmp_path):
    """Viewers wait for the stream (play_wait_ms), so each sees all of it."""
    s = weir({"apps": {"live": {"play_wait_ms": 8000, "reconnect_grace_ms": 0}}})
    rtmp_file = tmp_path / "rtmp.flv"
    http_file = tmp_path / "http.flv"
    rec = media.start_recorder(s.rtmp_url("live", "s"), rtmp_file, tmp_path, "rtmp-player")
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    time.sleep(0.5)  # both are waiting inside the server now
    assert viewer.status is None, "HTTP viewer answered before the stream existed"
    pub = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, duration=DURATION, gop=FPS)
    assert pub.wait(30) == 0, f"publisher failed: {pub.log()}"
    assert rec.wait(20) == 0, f"RTMP player (ffmpeg) failed: {rec.log()}"
    assert viewer.wait_end(10) == "eof", f"HTTP-FLV response did not end with the stream: {viewer.end}"
    assert viewer.status == 200
    assert viewer.headers.get("content-type") == "video/x-flv"
    http_file.write_bytes(viewer.raw)

    expected_video = DURATION * FPS
    expected_audio = DURATION * 44100 / 1024
    for path in (rtmp_file, http_file):
        st = checks.assert_av_basics(path)
        counts = media.count_frames(path)
        checks.within(counts["video"], expected_video, 0.04, f"{path.name} video frames")
        checks.within(counts["audio"], expected_audio, 0.04, f"{path.name} audio frames")
        v0, a0 = float(st["video"]["start_time"]), float(st["audio"]["start_time"])
        assert abs(v0 - a0) <= 0.1, f"{path.name}: video starts at {v0}, audio at {a0}"
        header, tags = parse_flv(path.read_bytes())
        checks.assert_per_track_monotonic(tags, path.name)
        pk = media.packets(path)
        for kind in ("video", "audio"):
            dts = [p["dts"] for p in pk if p["type"] == kind and p["dts"] is not None]
            assert dts == sorted(dts), f"{path.name}: {kind} packet DTS not monotonic"
        checks.assert_decodes_cleanly(path)
    # The HTTP copy is the server's own FLV: the header says audio+video.
    header, tags = parse_flv(http_file.read_bytes())
    assert header[4] == 0x05, f"FLV header flags {header[4]:#x}"
    info = s.api()
    assert info == [], f"stream still listed after it ended (grace 0): {info}"


def test_play_unpublished_stream_not_found(weir, tmp_path):
    s = weir({})
    c = RtmpClient.open(s.rtmp_addr)
    status = c.start_play("live", "nothing")
    assert status.status_code() == "NetStream.Play.StreamNotFound", status
    assert c.wait_closed(5) in ("eof", "reset")
    # ffmpeg as a player gives up with an error.
    rec = media.start_recorder(s.rtmp_url("live", "nothing"), tmp_path / "x.flv", tmp_path, "player")
    assert rec.wait(20) != 0
    assert s.get("/healthz").status == 200


def test_play_waits_for_publisher_then_times_out(weir, tmp_path):
    s = weir({"apps": {"live": {"play_wait_ms": 1500}}})
    # A player that asks before the publisher arrives gets Play.Start once it does.
    early = RtmpClient.open(s.rtmp_addr)
    early.handshake()
    early.connect("live")
    sid = early.create_stream()
    early.send_command("play", 0.0, None, "later", -2000.0, stream_id=sid)
    pub = media.start_publisher(s.rtmp_url("live", "later"), tmp_path, duration=2.0)
    st = early.wait_status(codes=("NetStream.Play.Start", "NetStream.Play.StreamNotFound"), timeout=10)
    assert st.status_code() == "NetStream.Play.Start", st
    msgs, end = early.read_media(until=lambda m: sum(1 for x in m if x.type_id == 9) >= 10, timeout=10)
    assert end == "until", f"waiting player got {len(msgs)} messages, then {end}"
    early.close()
    assert pub.wait(20) == 0, pub.log()
    # A player of a stream that never comes is refused once play_wait_ms has passed.
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    c.connect("live")
    sid = c.create_stream()
    t0 = time.monotonic()
    st = c.play("never", sid, timeout=10)
    waited = time.monotonic() - t0
    assert st.status_code() == "NetStream.Play.StreamNotFound", st
    assert waited >= 1.3, f"StreamNotFound after {waited:.2f} s, before play_wait_ms (1500 ms)"


def test_unknown_app_refused(weir, tmp_path):
    s = weir({"apps": {"live": {}}})
    before = s.metric("weir_publish_refused_total")
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    reply = c.connect("nosuchapp")
    name, _, _ = reply.command()
    assert name == "_error" and reply.status_code() == "NetConnection.Connect.Rejected", reply
    assert c.wait_closed(5) in ("eof", "reset")
    pub = media.start_publisher(s.rtmp_url("nosuchapp", "s"), tmp_path, duration=2.0)
    assert pub.wait(20) != 0, "ffmpeg published to an unconfigured app"
    assert s.metric("weir_publish_refused_total") >= before + 2
    assert s.api() == []
    # The same for a player.
    p = RtmpClient.open(s.rtmp_addr)
    p.handshake()
    assert p.connect("other").status_code() == "NetConnection.Connect.Rejected"


def test_wildcard_app_accepts_any_app(weir, tmp_path):
    s = weir({"apps": {"*": {}}})
    pub = media.start_publisher(s.rtmp_url("anything", "s"), tmp_path, duration=2.0)
    s.wait_stream("anything", "s", pred=lambda i: i["video_frames"] > 5)
    v = FlvViewer(s.http_addr, "/whatever2/s.flv")
    v.start()
    v.join(5)
    assert v.status == 404  # a different app: the stream is not there
    assert pub.wait(20) == 0, pub.log()


@pytest.mark.parametrize("name", [".hidden", "a" * 129, "bad$name"])
def test_illegal_stream_name_refused(weir, name):
    s = weir({})
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    assert c.connect("live").command()[0] == "_result"
    sid = c.create_stream()
    st = c.publish(name, sid)
    assert st.status_code() == "NetStream.Publish.BadName", st
    assert s.api() == []


def test_query_string_kept_and_ignored(weir, tmp_path):
    s = weir({})
    pub = media.start_publisher(s.rtmp_url("live", "q", query="token=abc&x=1"), tmp_path, duration=3.0)
    info = s.wait_stream("live", "q", pred=lambda i: i["video_frames"] > 5)
    assert info["name"] == "q"
    c = RtmpClient.open(s.rtmp_addr)
    st = c.start_play("live", "q?viewer=1")
    assert st.status_code() == "NetStream.Play.Start", st
    msgs, end = c.read_media(until=lambda m: any(x.type_id == 9 for x in m), timeout=5)
    assert end == "until"
    assert pub.wait(20) == 0, pub.log()


def test_second_publisher_refused_while_first_flows(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0}}})
    first = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, "first", duration=5.0)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 10)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    refused_before = s.metric("weir_publish_refused_total")
    second = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, "second", duration=3.0)
    assert second.wait(20) != 0, "a second publisher of a live stream was accepted"
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    c.connect("live")
    st = c.publish("s", c.create_stream())
    assert st.status_code() == "NetStream.Publish.BadName", st
    assert c.wait_closed(5) in ("eof", "reset")
    assert s.metric("weir_publish_refused_total") >= refused_before + 2
    # The first publisher and its viewer go on.
    n = len(viewer.snapshot())
    viewer.wait(lambda t: len(t) > n + 25, 10, "more tags after the refused publishers")
    assert first.wait(20) == 0, f"first publisher was disturbed: {first.log()}"
    assert viewer.wait_end(10) == "eof"
    tags = viewer.snapshot()
    checks.assert_per_track_monotonic(tags, "viewer")
    assert not checks.video_gaps(tags, 200), checks.video_gaps(tags, 200)
    assert s.metric("weir_takeovers_total") == 0


def test_takeover_replaces_publisher(weir, tmp_path):
    s = weir({"apps": {"live": {"allow_takeover": True, "reconnect_grace_ms": 0}}})
    first = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, "first", duration=20.0)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 10)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: sum(x.is_video_frame for x in t) >= 10, 10, "first publisher's frames")
    second = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, "second", duration=3.0)
    # The first publisher is closed by the server (ffmpeg sees the connection end).
    try:
        first_rc = first.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("old publisher still connected 10 s after the takeover")
    assert second.running(), f"new publisher ended before the old one was closed: {second.log()}"
    assert second.wait(20) == 0, second.log()
    assert s.metric("weir_takeovers_total") == 1
    assert viewer.wait_end(10) == "eof", "viewer did not end with the new publisher's stream"
    tags = viewer.snapshot()
    assert viewer.parse_error is None, viewer.parse_error
    checks.assert_per_track_monotonic(tags, "viewer across takeover")
    configs = [t for t in tags if t.is_avc_seq_header]
    assert len(configs) >= 2, f"codec config not re-sent after takeover ({len(configs)} AVC sequence headers)"
    # The viewer kept going: it saw roughly the second publisher's 3 s of video after the switch.
    after = [t for t in tags if t.is_video_frame and t.offset > configs[-1].offset]
    assert len(after) >= 60, f"only {len(after)} video frames after the takeover"
    assert after[0].is_keyframe
    info = s.api()
    assert info == [], info
    path = tmp_path / "takeover.flv"
    path.write_bytes(viewer.raw)
    checks.assert_decodes_cleanly(path)
    assert first_rc is not None
    assert "taken over" in s.log()


def test_sigterm_with_live_sessions(weir, tmp_path):
    """SIGTERM while a publisher and viewers are connected: exit 0 within 10 s
    (checked by stop()), and every peer sees its connection end."""
    s = weir({})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=30.0)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    player = RtmpClient.open(s.rtmp_addr)
    assert player.start_play("live", "s").status_code() == "NetStream.Play.Start"
    viewer.wait(lambda t: len(t) > 5, 10, "tags")
    problems = s.stop()
    assert problems == [], problems
    assert viewer.wait_end(5) in ("eof", "reset"), viewer.end
    msgs, end = player.read_media(timeout=5)
    assert end in ("eof", "reset"), end
    assert pub.wait(10) is not None, "publisher still running after the server stopped"
