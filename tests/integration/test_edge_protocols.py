"""Edge: the first viewer of a stream on a cold edge may come over any play
protocol (WebSocket-FLV, HTTP MPEG-TS, SRT, HLS, LL-HLS); each makes the edge
open its one upstream, waits for it instead of getting 404, and gets media.

Real processes: one origin with an ffmpeg publisher, one cold edge per
protocol (so each protocol is the first viewer of its edge), all pulling the
same stream; the origin sees one viewer per edge."""

import time

import pytest

from weirtest import checks, hls, media
from weirtest import srt as S
from weirtest.flv import FlvParser
from weirtest.ws import WsClient

from test_edge import edge_config, flv_tmpl, origin_config, rtmp_tmpl, video_frames, viewers_of
from test_srt_outbound import media_tags, pull_whole_stream


def ws_flv_first_viewer(edge):
    ws = WsClient(edge.http_addr, "/live/s.flv", timeout=15)
    parser, tags = FlvParser(), []
    try:
        assert ws.status == 101, f"WS-FLV upgrade at a cold edge: {ws.status}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(1 for t in tags if t.is_video_frame) < 25:
            _, op, payload = ws.recv_frame(timeout=max(0.1, deadline - time.monotonic()))
            if op == 0x2:
                tags += parser.feed(payload)
    finally:
        ws.shutdown()
    frames = [t for t in tags if t.is_video_frame]
    assert len(frames) >= 25, f"WS-FLV at a cold edge: {len(frames)} video frames"
    assert any(t.is_avc_seq_header for t in tags[:4]), "WS-FLV: no AVC sequence header before the frames"
    checks.assert_per_track_monotonic(tags, "edge ws-flv viewer")


def reader_first_viewer(url, tmp_path, name):
    out = tmp_path / f"{name}.ts"
    p = S.start_reader(url, out, tmp_path, name)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 200_000):
        time.sleep(0.2)
    p.stop()
    assert out.exists() and out.stat().st_size >= 200_000, f"{name}: {out.stat().st_size if out.exists() else 0} " \
                                                           f"bytes; log: {p.log()[-1500:]}"
    checks.assert_decodes_cleanly(out)
    return out


def hls_first_viewer(edge, path, media_of):
    """The playlist (the request that woke the edge up), then one media
    object it names: `media_of(playlist)` -> URI relative to the playlist."""
    r = hls.get(edge, path, timeout=20)
    assert r.status == 200, (path, r.status, r.body[:300])
    pl = hls.Playlist(r.body.decode())
    uri = media_of(pl)
    assert uri, f"{path}: no media in {r.body[:400]!r}"
    m = hls.get_ok(edge, path.rsplit("/", 1)[0] + "/" + uri)
    assert len(m.body) > 1000, (uri, len(m.body))
    return m.body


def test_cold_edge_first_viewer_on_every_protocol(weir, tmp_path):
    a = weir(origin_config(), name="origin")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    cfg = edge_config([rtmp_tmpl(a)], idle_ms=3000)
    cfg["workers"] = 1
    protocols = ["ws-flv", "ts", "srt", "hls", "llhls"]
    edges = {p: weir(cfg, name=f"edge_{p}") for p in protocols}

    ws_flv_first_viewer(edges["ws-flv"])
    reader_first_viewer(edges["ts"].http_url("/live/s.ts"), tmp_path, "ts-reader")
    reader_first_viewer(S.srt_url(edges["srt"], S.streamid(mode="request")), tmp_path, "srt-reader")
    seg = hls_first_viewer(edges["hls"], "/live/s.m3u8", lambda pl: pl.complete_segments[-1].uri)
    assert seg[0] == 0x47, "HLS segment is not MPEG-TS"
    ts = tmp_path / "hls-seg.ts"
    ts.write_bytes(seg)
    checks.assert_decodes_cleanly(ts)
    hls_first_viewer(edges["llhls"], "/live/s/llhls.m3u8",
                     lambda pl: [p for s in pl.segments for p in s.parts][-1].uri)

    # Each edge pulled once; the origin saw (at most) one viewer per edge.
    for p, e in edges.items():
        assert e.metric("weir_edge_pulls_started_total") == 1, (p, e.metrics())
    clients = a.api("/api/v1/clients?role=play&limit=1000")
    assert len(clients) <= len(protocols), clients
    assert all(c["protocol"] == "rtmp" for c in clients), clients
    assert (viewers_of(a) or 0) <= len(protocols)
    pub.stop()


# Both gauges count the admin API connection that reads them: 2 = that one
# and the edge's pull.
@pytest.mark.parametrize("upstream,gauge", [(rtmp_tmpl, "weir_connections"), (flv_tmpl, "weir_http_connections")],
                         ids=["rtmp", "http-flv"])
def test_edge_viewer_gets_every_frame_pushed_over_an_rtmp_or_http_flv_upstream(weir, tmp_path, upstream, gauge):
    # The viewer waits at the edge, the edge's pull waits at the origin, then
    # the encoder pushes 8 s: every video frame, the last ones included
    # (the stream's end drains each loop's inbox before it ends the hub).
    def publish(a):
        return media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=8, size="320x240", gop=25)

    a, edge, tags, cap, want_v = pull_whole_stream(weir, tmp_path, publish, 8, 25, upstream=upstream,
                                                   upstream_waiting=lambda o: o.metric(gauge) >= 2)
    got_v = len(video_frames(tags))
    print(f"\n{upstream(a).split(':')[0]} upstream: {got_v} video frames at the edge viewer, {want_v} pushed")
    assert got_v == want_v, f"video frames through the upstream: {got_v}, pushed {want_v}"
    checks.assert_per_track_monotonic(media_tags(tags), "edge viewer")
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)
