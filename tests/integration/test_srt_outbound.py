"""SRT as an outbound transport: an edge pulling srt:// upstreams
(apps.<app>.upstream.urls) and forward destinations pushed over SRT
(apps.<app>.forward.urls and the /forwards route).

Real processes: origins and edges are separate `weir` servers on loopback;
ffmpeg publishes, srt-live-transmit stands in for a third-party SRT listener
(a forward destination, or an "origin" that sends random bytes); ffprobe
checks what arrives."""

import json
import socket
import subprocess
import time

from weirtest import checks, media
from weirtest import srt as S
from weirtest.httpc import FlvViewer
from weirtest.server import wait_until

from test_edge import kill_and_measure_failover, origin_config, two_live_origins, video_frames, viewers_of
from test_forward import api, forwards
from test_high_bitrate import make_clip


def srt_tmpl(server):
    host, port = S.srt_addr(server)
    return "srt://%s:%d?streamid=#!::r={app}/{stream},m=request" % (host, port)


def edge_config(urls, **upstream):
    up = {"urls": urls, "connect_timeout_ms": 2000, "stall_timeout_ms": 2000, "backoff_ms": 200,
          "backoff_max_ms": 1000, "idle_ms": 1500, "publish": "local"}
    up.update(upstream)
    return {"workers": 2, "apps": {"live": {"reconnect_grace_ms": 5000, "play_wait_ms": 15000, "upstream": up,
                                            "hls": {"enabled": False}}}}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def media_tags(tags):
    """Frames only: a codec config tag sent first carries the time it was seen
    (an SRT source's video may start a few ms after its audio), which can be
    above the first keyframe's; configs are checked by the decode."""
    return [t for t in tags if t.is_video_frame or t.is_audio_frame]


def within(got, want, pct, what):
    assert abs(got - want) <= want * pct / 100.0, f"{what}: {got}, expected {want} within {pct} %"


def srt_play_waiting(origin):
    return origin.metric("weir_srt_connections") == 1


def pull_whole_stream(weir, tmp_path, publish, expect_s, fps, edge_up=None, upstream=srt_tmpl,
                      upstream_waiting=srt_play_waiting):
    """Origin with play_wait (the edge's play waits for the stream), an edge
    with one upstream (srt:// unless `upstream` makes another URL template
    from the origin; `upstream_waiting(origin)` tells its play is there), a
    viewer on the edge before the encoder starts: every frame pushed reaches
    the viewer. Returns (origin, edge, viewer tags, capture path, frames pushed)."""
    a = weir(origin_config(play_wait_ms=20000, reconnect_grace_ms=0), name="origin")
    edge = weir(edge_config([upstream(a)], connect_timeout_ms=20000, stall_timeout_ms=20000, **(edge_up or {})),
                name="edge")
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    # The edge's play is waiting at the origin (its play_wait).
    wait_until(lambda: upstream_waiting(a), 15, "the edge's upstream connection at the origin")
    pub = publish(a)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5, timeout=30)
    pub.wait(120)
    want_v = int(expect_s * fps)
    # Every frame, the last ones included: the origin's SRT player sends the
    # tail before the stream's end reaches it (even on another loop than the
    # publisher's), stays connected until the edge's TSBPD has delivered it,
    # and each video PES carries its length, so the edge completes the last
    # frame without waiting for a next one (each cost the tail before: 4 of
    # 200 frames on a quiet machine, up to 10 on a loaded one).
    viewer.wait(lambda t: len(video_frames(t)) >= want_v, 30, f"{want_v} video frames at the edge viewer")
    time.sleep(1.0)  # anything beyond the count would show as extra frames
    viewer.stop()
    tags = viewer.snapshot()
    cap = tmp_path / "edge_srt.flv"
    cap.write_bytes(bytes(viewer.raw))
    return a, edge, tags, cap, want_v


def test_edge_pulls_h264_aac_over_srt_and_the_origin_sees_one_srt_viewer(weir, tmp_path):
    def publish(a):
        return media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=8, size="320x240", gop=25)

    a, edge, tags, cap, want_v = pull_whole_stream(weir, tmp_path, publish, 8, 25)
    got_v = len(video_frames(tags))
    got_a = len([t for t in tags if t.is_audio_frame])
    print(f"\nsrt upstream: {got_v} video frames at the edge viewer, {want_v} pushed; {got_a} audio frames")
    assert got_v == want_v, f"video frames through the SRT upstream: {got_v}, pushed {want_v}"
    # The edge's viewer joins its hub at the first keyframe: audio the encoder
    # sent before it (one frame, ms 0) may come before the viewer's start.
    within(got_a, 8 * 44100 / 1024, 1, "audio frames through the SRT upstream")
    checks.assert_per_track_monotonic(media_tags(tags), "edge viewer (srt upstream)")
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)
    assert "pulling from " + srt_tmpl(a) in edge.log()
    assert edge.metric('weir_edge_origin_received_bytes_total{origin="%s"}' % srt_tmpl(a)) > 100000


def test_edge_srt_upstream_one_srt_viewer_at_the_origin_and_via_in_the_streamid(weir, tmp_path):
    a = weir(origin_config(), name="origin")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    edge = weir(dict(edge_config([srt_tmpl(a)]), cluster={"node_id": "edge-x"}), name="edge")
    viewers = [FlvViewer(edge.http_addr, "/live/s.flv") for _ in range(5)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.wait(lambda t: len(video_frames(t)) >= 25, 20, "25 video frames")
    clients = a.api("/api/v1/clients?role=play&limit=1000")
    assert len(clients) == 1 and clients[0]["protocol"] == "srt", clients
    assert viewers_of(a) == 1
    assert edge.metric("weir_edge_pulls_started_total") == 1
    for v in viewers:
        v.stop()
    # Idle: the upstream (the SRT connection) closes after idle_ms.
    wait_until(lambda: not viewers_of(a), 10, "origin A's SRT viewer to leave")
    edge.wait_log("no viewer for 1500 ms; closing the upstream", timeout=5)
    pub.stop()


def test_edge_srt_via_chain_travels_in_the_streamid(weir, tmp_path):
    # An origin that is itself named in the chain refuses the play: the edge's
    # via chain reached its admission as a stream id key (weir_via).
    a = weir(dict(origin_config(), cluster={"node_id": "n1"}), name="origin")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    edge = weir(dict(edge_config([srt_tmpl(a)], connect_timeout_ms=1000), cluster={"node_id": "n1"}), name="edge")
    r = FlvViewer(edge.http_addr, "/live/s.flv")
    r.start()
    a.wait_log("edge loop", timeout=20)
    edge.wait_log("reject code 1508", timeout=20)
    r.stop()
    assert not viewers_of(a)
    pub.stop()


def test_edge_fails_over_from_a_killed_srt_origin(weir, tmp_path):
    a, b, pa, pb = two_live_origins(weir, tmp_path)
    edge = weir(edge_config([srt_tmpl(a), srt_tmpl(b)]), name="edge")
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames")
    assert viewers_of(a) == 1 and viewers_of(b) == 0

    # A killed SRT peer sends nothing: the edge learns it from the stall
    # timeout (2 s here), then B's keyframe.
    kill_and_measure_failover(a, viewer, max_gap=4.0, what="srt (stall_timeout_ms 2000) ", track_tags=media_tags)
    assert viewers_of(b) == 1
    assert edge.metric("weir_edge_failovers_total") == 1
    ups = {u["origin"]: u for u in edge.api("/api/v1/upstreams")}
    assert ups[srt_tmpl(a)]["state"] == "down" and ups[srt_tmpl(a)]["last_error"], ups
    assert ups[srt_tmpl(b)]["state"] == "up" and ups[srt_tmpl(b)]["streams"] == 1, ups
    viewer.stop()
    cap = tmp_path / "failover.flv"
    cap.write_bytes(bytes(viewer.raw))
    checks.assert_decodes_cleanly(cap)
    pa.stop()
    pb.stop()


class GarbageListener:
    """srt-live-transmit listening on `port`, sending random bytes (about 5 MB/s) to whoever calls."""

    FEEDER = ("import os,sys,time\n"
              "while True:\n"
              " sys.stdout.buffer.write(os.urandom(1316*20)); sys.stdout.flush(); time.sleep(0.005)\n")

    def __init__(self, tmp_path, port):
        self.log = open(tmp_path / "garbage_slt.log", "wb")
        self.feeder = subprocess.Popen(["python3", "-c", self.FEEDER], stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        self.slt = subprocess.Popen(["srt-live-transmit", "-q", "-a:no", "file://con",
                                     f"srt://127.0.0.1:{port}?mode=listener"],
                                    stdin=self.feeder.stdout, stdout=subprocess.DEVNULL, stderr=self.log)
        self.feeder.stdout.close()

    def stop(self):
        for p in (self.slt, self.feeder):
            if p.poll() is None:
                p.kill()
            p.wait(5)
        self.log.close()


def decodes(path):
    """The captured TS decodes: ffmpeg exits 0; at most the cut tail complains."""
    rc, err = media.decode_errors(path)
    lines = [x for x in err.strip().splitlines() if x]
    assert rc == 0 and len(lines) <= 2, (rc, err[-2000:])
    return lines


def test_edge_drops_a_garbage_srt_upstream_and_plays_from_the_next(weir, tmp_path):
    b = weir(origin_config(), name="origin_b")
    pb = media.start_publisher(b.rtmp_url(), tmp_path, "pub_b", duration=None, size="320x240", gop=25)
    b.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    port = free_udp_port()
    g = GarbageListener(tmp_path, port)
    time.sleep(0.5)
    garbage_url = "srt://127.0.0.1:%d?streamid=#!::r={app}/{stream},m=request" % port
    edge = weir(edge_config([garbage_url, srt_tmpl(b)]), name="edge")
    t0 = time.monotonic()
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    try:
        viewer.wait(lambda t: len(video_frames(t)) >= 25, 20, "25 video frames after the garbage origin")
    finally:
        g.stop()
    first = next(t for t in viewer.snapshot() if t.is_video_frame)
    print(f"\ngarbage srt upstream: first frame {first.arrival - t0:.2f} s after the request")
    log = edge.log()
    assert ("origin %s failed: bad MPEG-TS from the origin" % garbage_url) in log or \
           ("origin %s failed: no media in the MPEG-TS" % garbage_url) in log, log[-3000:]
    ups = {u["origin"]: u for u in edge.api("/api/v1/upstreams")}
    assert ups[garbage_url]["state"] == "down" and ups[garbage_url]["last_error"], ups[garbage_url]
    assert viewers_of(b) == 1
    checks.assert_per_track_monotonic(media_tags(viewer.snapshot()), "edge viewer after a garbage SRT origin")
    viewer.stop()
    pb.stop()


def slt_listener(tmp_path, port, out, name):
    """srt-live-transmit listening on `port`, writing what it receives to `out`."""
    return media.Proc(["srt-live-transmit", "-q", "-a:no", f"srt://127.0.0.1:{port}?mode=listener", "file://con"],
                      tmp_path, name, stdout=open(out, "wb"))


def test_forward_to_an_srt_listener_decodes_and_comes_back_after_it_restarts(weir, tmp_path):
    port = free_udp_port()
    out1 = tmp_path / "fw1.ts"
    l1 = slt_listener(tmp_path, port, out1, "slt1")
    time.sleep(0.5)
    url = "srt://127.0.0.1:%d?streamid=#!::r={app}/{stream},m=publish&latency=120" % port
    a = weir({"workers": 2, "apps": {"live": {"play_wait_ms": 0, "reconnect_grace_ms": 0, "hls": {"enabled": False},
                                              "forward": {"urls": [url], "backoff_ms": 200, "backoff_max_ms": 1000,
                                                          "connect_timeout_ms": 1000}}}}, name="origin_a")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    wait_until(lambda: forwards(a) and forwards(a)[0]["state"] == "forwarding", 15, "the SRT destination to connect")
    f = forwards(a)[0]
    assert f["url"] == "srt://127.0.0.1:%d?streamid=#!::r=live/s,m=publish&latency=***" % port, f
    wait_until(lambda: out1.stat().st_size > 400000, 20, "400 kB of TS at the SRT listener")
    l1.stop()
    counts = media.count_frames(out1)
    print(f"\nsrt forward: the listener got {out1.stat().st_size} bytes, frames {counts}")
    assert counts.get("video", 0) >= 50, counts
    print(f"srt forward: decoder notes on the cut capture: {decodes(out1)}")
    st = media.streams(out1)
    assert st["video"]["codec_name"] == "h264" and st["audio"]["codec_name"] == "aac", st

    # The listener is gone: the destination fails and backs off (libsrt notices
    # a silent peer after its idle timeout, 5 s), then comes back once it returns.
    def failed():
        g = forwards(a)
        return g and g[0]["state"] in ("backoff", "connecting") and g[0]["last_error"] and g[0]
    f = wait_until(failed, 20, "the SRT destination to fail")
    print(f"srt forward: destination failed with: {f['last_error']}")
    out2 = tmp_path / "fw2.ts"
    l2 = slt_listener(tmp_path, port, out2, "slt2")
    wait_until(lambda: forwards(a)[0]["state"] == "forwarding", 20, "the SRT destination to come back")
    f = forwards(a)[0]
    assert f["reconnects"] >= 1, f
    wait_until(lambda: out2.stat().st_size > 200000, 20, "200 kB of TS at the restarted listener")
    l2.stop()
    assert media.count_frames(out2).get("video", 0) >= 25
    decodes(out2)
    assert a.metric("weir_forward_started_total") == 1
    pub.stop()


def test_forward_route_adds_an_srt_destination_at_runtime(weir, tmp_path):
    a = weir({"workers": 2, "apps": {"live": {"play_wait_ms": 0, "reconnect_grace_ms": 0,
                                              "hls": {"enabled": False}}}}, name="origin_a")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    port = free_udp_port()
    out = tmp_path / "rt.ts"
    l1 = slt_listener(tmp_path, port, out, "slt")
    time.sleep(0.5)
    st, j = api(a, "POST", "/api/v1/streams/live/s/forwards", {"url": "srt://127.0.0.1:%d?latency=abc" % port})
    assert st == 400 and "latency" in json_text(j), (st, j)
    st, j = api(a, "POST", "/api/v1/streams/live/s/forwards", {"url": "srt://127.0.0.1:%d" % port})
    assert st in (200, 201), (st, j)
    wait_until(lambda: forwards(a) and forwards(a)[0]["state"] == "forwarding", 15, "the runtime SRT destination")
    wait_until(lambda: out.stat().st_size > 200000, 20, "200 kB at the listener")
    l1.stop()
    assert media.count_frames(out).get("video", 0) >= 25
    decodes(out)
    pub.stop()


def json_text(j):
    return json.dumps(j)


def test_edge_pulls_1080p60_8mbps_over_srt(weir, tmp_path):
    # The clip ends on a keyframe: a video PES over 64 KB carries no length,
    # and the edge's demuxer must still hand the stream's last frame over.
    clip = make_clip(tmp_path / "hd.flv", "1920x1080", 60, 8000, 60, "flv", seconds=6, last_keyframe=True)
    pushed_v = media.count_frames(clip)["video"]

    def publish(a):
        return media.Proc([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", str(clip),
                           "-c", "copy", "-f", "flv", a.rtmp_url()], tmp_path, "pub_hd")

    a, edge, tags, cap, want_v = pull_whole_stream(weir, tmp_path, publish, 6, 60)
    got_v = len(video_frames(tags))
    size = sum(len(t.body) for t in video_frames(tags))
    span = (video_frames(tags)[-1].timestamp - video_frames(tags)[0].timestamp) / 1000.0
    rate = size * 8 / span / 1e6 if span > 0 else 0
    print(f"\n1080p60 over an SRT upstream: {got_v} video frames at the edge viewer, {pushed_v} in the clip, "
          f"{want_v} at the origin; {rate:.1f} Mbit/s video")
    assert got_v == pushed_v, f"1080p60 video frames through the SRT upstream: {got_v}, {pushed_v} in the clip"
    last = video_frames(tags)[-1]
    assert last.is_keyframe and len(last.body) > 65536, (last.is_keyframe, len(last.body))
    assert rate > 6.0, rate
    checks.assert_per_track_monotonic(media_tags(tags), "edge viewer (1080p60 srt upstream)")
