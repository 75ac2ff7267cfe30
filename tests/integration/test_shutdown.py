"""SIGTERM stops Weir gracefully: no new connection is accepted (RTMP, SRT
and the players' HTTP; the admin API stays up), the clients connected go on
for up to shutdown.drain_ms (the stop goes ahead as soon as none is left),
recordings end with their last fragment and are merged, and the process exits
0. A second signal stops it at once."""

import json
import signal
import socket
import time

from weirtest import httpc, media
from weirtest import srt as S
from weirtest.httpc import FlvViewer
from weirtest.server import wait_until


def refused(addr):
    try:
        with socket.create_connection(addr, timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def exit_code(s, timeout):
    """Waits for the server's exit; its code (the teardown then has nothing to stop)."""
    rc = s.proc.wait(timeout)
    s.returncode = rc
    return rc


def test_sigterm_drains_then_records_and_exits_0(weir, tmp_path):
    store = tmp_path / "store"
    s = weir({"shutdown": {"drain_ms": 20000, "finish_ms": 20000},
              "storage": {"root": str(store)},
              "apps": {"rec": {"reconnect_grace_ms": 0, "record": {"enabled": True, "segment_s": 4}}}})
    pub = media.start_publisher(s.rtmp_url("rec", "d"), tmp_path, "pub", duration=60)
    s.wait_stream("rec", "d", pred=lambda i: i["video_frames"] >= 50)
    viewer = FlvViewer(s.http_addr, "/rec/d.flv")
    viewer.start()
    assert viewer.started.wait(10) and viewer.status == 200
    wait_until(lambda: len(viewer.raw) > 10000, 10, "the viewer to receive media")

    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    s.wait_log(r"shutdown: draining for up to 20000 ms: 2 clients connected")
    # No new connection, on any player- or encoder-facing listener ...
    wait_until(lambda: refused(s.rtmp_addr) and refused(s.http_addr), 5, "the listeners to close")
    rep = S.probe(s, S.streamid(app="rec", stream="x"), timeout=20)
    assert not rep["connected"] and rep["reject_code"] == 1503, rep
    # ... but the admin API answers, and those connected go on.
    r = httpc.get(s.api_addr, "/api/v1/summary")
    assert r.status == 200 and json.loads(r.body)["connections"]["viewers"] == 1, r.body
    before = len(viewer.raw)
    time.sleep(2)
    assert len(viewer.raw) > before + 20000, "the viewer stopped receiving during the drain"
    assert s.running()
    # The last clients leave: the stop goes ahead at once, the recording is merged.
    viewer.stop()
    pub.stop()
    assert exit_code(s, 15) == 0
    took = time.monotonic() - t0
    assert took < 12, f"the stop took {took:.1f} s after its clients left"
    log = s.log()
    assert "recordings not merged" not in log, log[-3000:]
    assert "server draining" in log
    mp4s = list(store.rglob("asset.mp4"))
    assert len(mp4s) == 1, list(store.rglob("*"))
    info = media.ffprobe_json(mp4s[0], "-show_format")
    assert float(info["format"]["duration"]) >= 3, info


def test_drain_is_bounded_and_a_second_signal_stops_at_once(weir, tmp_path):
    s = weir({"shutdown": {"drain_ms": 1500}}, name="bounded")
    pub = media.start_publisher(s.rtmp_url("live", "b"), tmp_path, "pub-b", duration=60)
    try:
        s.wait_stream("live", "b")
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        assert exit_code(s, 10) == 0
        took = time.monotonic() - t0
        assert 1.4 <= took < 5, f"a 1.5 s drain took {took:.2f} s"
    finally:
        pub.stop()

    s2 = weir({"shutdown": {"drain_ms": 60000}}, name="twice")
    pub = media.start_publisher(s2.rtmp_url("live", "b"), tmp_path, "pub-b2", duration=60)
    try:
        s2.wait_stream("live", "b")
        s2.proc.send_signal(signal.SIGTERM)
        s2.wait_log(r"shutdown: draining for up to 60000 ms")
        t0 = time.monotonic()
        s2.proc.send_signal(signal.SIGINT)
        assert exit_code(s2, 10) == 0
        assert time.monotonic() - t0 < 3
        s2.wait_log(r"signal .* again: stopping now")
    finally:
        pub.stop()


def test_edge_with_no_viewer_left_stops_without_waiting_for_its_pull(weir, tmp_path):
    """An edge's own upstream pull is not a client: with its last viewer gone
    (the pull still up, idle_ms not over) SIGTERM stops it at once."""
    from test_edge import edge_config, origin_config, rtmp_tmpl, video_frames
    o = weir(origin_config(), name="origin")
    pub = media.start_publisher(o.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    try:
        o.wait_stream(pred=lambda i: i["video_frames"] >= 5)
        cfg = edge_config([rtmp_tmpl(o)], idle_ms=60000)
        cfg["shutdown"] = {"drain_ms": 20000}
        edge = weir(cfg, name="edge")
        v = FlvViewer(edge.http_addr, "/live/s.flv")
        v.start()
        v.wait(lambda t: len(video_frames(t)) >= 10, 15, "10 video frames from the edge")
        v.stop()
        wait_until(lambda: not edge.api("/api/v1/clients?limit=10"), 5, "the edge's viewer to be gone")
        assert edge.stream_info() is not None, "the pull should still be up (idle_ms 60 s)"
        t0 = time.monotonic()
        edge.proc.send_signal(signal.SIGTERM)
        assert exit_code(edge, 10) == 0
        took = time.monotonic() - t0
        assert took < 3, f"an edge with no client took {took:.2f} s to stop (drain_ms 20 s)"
    finally:
        pub.stop()
