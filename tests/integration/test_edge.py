"""Edge: pull on demand from origins (apps.<app>.upstream), one upstream per
stream whatever the number of viewers and protocols, failover to another
origin without dropping viewers, idle close, refusals and dead origins.

Real processes: origins and an edge are separate `weir` servers on loopback;
the origins start first so the edge's config can name their bound ports."""

import os
import re
import signal
import socket
import threading
import time

from weirtest import checks, media
from weirtest.flv import FlvTag
from weirtest.httpc import FlvViewer, get
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

from test_eRTMP import FOURCC_HVC1, SCRIPT, SEQUENCE_START, VIDEO, hevc_source  # noqa: F401


def origin_config(**live):
    return {"workers": 2, "apps": {"live": dict({"play_wait_ms": 0, "hls": {"enabled": False}}, **live)}}


def edge_config(urls, **upstream):
    up = {"urls": urls, "connect_timeout_ms": 1000, "stall_timeout_ms": 2000, "backoff_ms": 200,
          "backoff_max_ms": 1000, "idle_ms": 1500}
    up.update(upstream)
    return {"workers": 2, "apps": {"live": {"reconnect_grace_ms": 5000, "upstream": up,
                                            "hls": {"enabled": True, "segment_ms": 1000, "part_ms": 200}}}}


def rtmp_tmpl(s):
    return "rtmp://%s:%d/{app}/{stream}" % s.rtmp_addr


def flv_tmpl(s):
    return "http://%s:%d/{app}/{stream}.flv" % s.http_addr


def viewers_of(s, name="s"):
    info = s.stream_info("live", name)
    return None if info is None else info["viewers"]["total"]


class RtmpViewer(threading.Thread):
    def __init__(self, addr, name):
        super().__init__(daemon=True)
        self.client = RtmpClient.open(addr)
        self.status = self.client.start_play("live", name, timeout=10)
        self.media, self.end = [], None

    def run(self):
        self.media, self.end = self.client.read_media(until=lambda m: sum(1 for x in m if x.type_id == 9) >= 30,
                                                      timeout=20)
        self.client.close()


def video_frames(tags):
    return [t for t in tags if t.is_video_frame]


def test_edge_fan_out_one_upstream_and_idle_close(weir, tmp_path):
    a = weir(origin_config(), name="origin_a")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    edge = weir(edge_config([rtmp_tmpl(a)]), name="edge")

    # 20 viewers, three protocols, all arriving while the edge connects.
    flv = [FlvViewer(edge.http_addr, "/live/s.flv") for _ in range(10)]
    for v in flv:
        v.start()
    rtmp = [RtmpViewer(edge.rtmp_addr, "s") for _ in range(6)]
    for v in rtmp:
        assert v.status.status_code() == "NetStream.Play.Start", v.status
        v.start()
    hls = []
    for _ in range(4):
        r = get(edge.http_addr, "/live/s.m3u8", timeout=15)
        hls.append(r)
    for r in hls:
        assert r.status == 200, (r.status, r.body[:200])
        assert b"#EXTINF" in r.body

    for v in flv:
        v.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames")
    for v in rtmp:
        v.join(20)
        assert v.end == "until", v.end
        tags = [FlvTag(m.type_id, m.timestamp, m.payload) for m in v.media]
        assert tags[0].is_script or any(t.is_avc_seq_header for t in tags[:3])
        checks.assert_per_track_monotonic(tags, "edge rtmp viewer")

    # One upstream: origin A sees exactly one viewer, the edge.
    assert viewers_of(a) == 1, a.stream_info()
    clients = a.api("/api/v1/clients?role=play&limit=1000")
    assert len(clients) == 1 and clients[0]["protocol"] == "rtmp", clients
    assert edge.metric("weir_edge_pulls_started_total") == 1
    assert viewers_of(edge) >= 10  # the FLV viewers still attached (RTMP ones may have left)

    # A capture from the edge decodes (H.264 + AAC as published).
    cap = tmp_path / "edge.flv"
    cap.write_bytes(bytes(flv[0].raw))
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)

    # Idle: the last viewer leaves; the upstream closes idle_ms later.
    for v in flv:
        v.stop()
    t0 = time.monotonic()
    wait_until(lambda: not viewers_of(a), 10, "origin A's viewer count to drop to 0")
    took = time.monotonic() - t0
    print(f"\nidle close: origin viewer gone {took:.2f} s after the last edge viewer left (idle_ms 1.5 s, "
          f"HLS counts until its last request + idle_ms)")
    assert took >= 1.0, f"upstream closed {took:.2f} s after the last viewer, before idle_ms"
    edge.wait_log("no viewer for 1500 ms; closing the upstream", timeout=5)
    wait_until(lambda: edge.stream_info() is None, 5, "the edge stream to end")
    pub.stop()


def two_live_origins(weir, tmp_path):
    """Origins A and B, each with an encoder publishing live/s (primary and backup ingest)."""
    a = weir(origin_config(), name="origin_a")
    b = weir(origin_config(), name="origin_b")
    return (a, b) + push_to_both(a, b, tmp_path)


def push_to_both(a, b, tmp_path):
    """An encoder per origin publishing live/s (primary and backup ingest); waits until both are live."""
    pa = media.start_publisher(a.rtmp_url(), tmp_path, "pub_a", duration=None, size="320x240", gop=25)
    pb = media.start_publisher(b.rtmp_url(), tmp_path, "pub_b", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    b.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    return pa, pb


def kill_and_measure_failover(a, viewer, max_gap=2.0, what="", track_tags=lambda tags: tags):
    """SIGKILLs origin A while `viewer` (an FlvViewer at the edge) plays; returns
    the gap (s) from the kill to the first video frame after the codec config
    the resumed stream starts with (frames A had sent may still arrive after
    the kill), printed for the test output. Checks the viewer stayed
    connected, got 25 frames from the next origin, monotonic timestamps and
    the codec config re-sent."""
    kill_at = time.monotonic()
    a.proc.kill()
    a.proc.wait(5)
    a.returncode = a.proc.returncode  # killed on purpose: not a shutdown failure

    def resumed(t):
        cfg = [i for i, x in enumerate(t) if x.is_avc_seq_header]
        return len(cfg) >= 2 and any(x.is_video_frame for x in t[cfg[1]:])

    tags = viewer.wait(resumed, 10, "the stream resumed from the next origin")
    second_cfg = [i for i, x in enumerate(tags) if x.is_avc_seq_header][1]
    first = next(x for x in tags[second_cfg:] if x.is_video_frame)
    gap = first.arrival - kill_at
    print(f"\n{what}failover: first video frame at the edge viewer {gap * 1000:.0f} ms after SIGKILL of origin A")
    assert gap < max_gap, f"failover took {gap:.2f} s"
    viewer.wait(lambda t: len([x for x in t if x.is_video_frame and x.arrival > kill_at]) >= 25, 10,
                "25 frames from the next origin")
    assert viewer.end is None, f"viewer closed: {viewer.end}"
    tags = viewer.snapshot()
    checks.assert_per_track_monotonic(track_tags(tags), "edge viewer across the failover")
    assert len([t for t in tags if t.is_avc_seq_header]) >= 2, "codec config not re-sent after the failover"
    return gap


def test_edge_failover_keeps_viewers(weir, tmp_path):
    a, b, pa, pb = two_live_origins(weir, tmp_path)
    edge = weir(edge_config([rtmp_tmpl(a), rtmp_tmpl(b)]), name="edge")

    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames")
    assert viewers_of(a) == 1 and viewers_of(b) == 0

    kill_and_measure_failover(a, viewer)
    assert viewers_of(b) == 1
    info = edge.stream_info()
    assert info["publisher"] == {"peer": rtmp_tmpl(b), "protocol": "edge"}, info["publisher"]
    assert info["publishes"] == 2, info  # resumed within the grace, not a new stream
    assert edge.metric("weir_edge_failovers_total") == 1
    assert edge.metric('weir_edge_origin_up{origin="%s"}' % rtmp_tmpl(a)) == 0
    assert edge.metric('weir_edge_origin_failures_total{origin="%s"}' % rtmp_tmpl(a)) == 1
    assert edge.metric('weir_edge_origin_up{origin="%s"}' % rtmp_tmpl(b)) == 1
    assert edge.metric('weir_edge_origin_streams{origin="%s"}' % rtmp_tmpl(b)) == 1
    assert edge.metric('weir_edge_origin_streams{origin="%s"}' % rtmp_tmpl(a)) == 0
    assert edge.metric('weir_edge_origin_received_bytes_total{origin="%s"}' % rtmp_tmpl(b)) > 10000
    ups = {u["origin"]: u for u in edge.api("/api/v1/upstreams")}
    assert ups[rtmp_tmpl(a)]["state"] == "down" and ups[rtmp_tmpl(a)]["failures"] == 1, ups
    assert ups[rtmp_tmpl(a)]["last_error"], ups
    assert ups[rtmp_tmpl(b)]["state"] == "up" and ups[rtmp_tmpl(b)]["streams"] == 1, ups
    viewer.stop()
    cap = tmp_path / "failover.flv"
    cap.write_bytes(bytes(viewer.raw))
    checks.assert_decodes_cleanly(cap)
    pa.stop()
    pb.stop()


def shipped_config(source_dir, name, ports):
    """conf/NAME.yaml as shipped, with every HOST:PORT outside comments moved to
    127.0.0.1 and the port mapped through `ports` (a port the test does not
    know fails the test). Returns (yaml text, {section: listen address})."""
    out, listens, section = [], {}, None
    for line in (source_dir / "conf" / f"{name}.yaml").read_text().splitlines():
        if not line.lstrip().startswith("#"):
            line = re.sub(r"(?:0\.0\.0\.0|127\.0\.0\.1):(\d+)", lambda m: "127.0.0.1:%d" % ports[int(m.group(1))], line)
            top = re.match(r"^(\w+):", line)
            section = top.group(1) if top else section
            listen = re.match(r"^  listen: (\S+)$", line)
            if listen:
                listens[section] = listen.group(1)
        out.append(line)
    return "\n".join(out) + "\n", listens


def listen_env(listens):
    # The test fixture puts every listener on port 0 through WEIR_*_LISTEN: give them the file's addresses.
    return {"WEIR_%s_LISTEN" % k.upper(): v for k, v in listens.items()}


def test_shipped_origin_and_edge_configs_fail_over_to_the_backup(weir, tmp_path, source_dir):
    """conf/origin.yaml and conf/edge.yaml as a user runs them on one host (the
    commands of origin.yaml's header, the backup's environment included), on
    free loopback ports: push to both origins, play from the edge, kill -9 the
    primary, keep playing from the backup."""
    ports = {p: free_port() for p in (1935, 1936, 1937, 8080, 8081, 8082, 1985, 1986, 1987, 10080, 10081, 10082)}
    origin_text, origin_listens = shipped_config(source_dir, "origin", ports)
    edge_text, edge_listens = shipped_config(source_dir, "edge", ports)
    # The backup's command line, from the header: WEIR_X=VALUE assignments.
    header = "\n".join(x for x in (source_dir / "conf" / "origin.yaml").read_text().splitlines() if x.startswith("#"))
    backup_env = dict(re.findall(r"(WEIR_[A-Z_]+)=(\S+)", header))
    assert {"WEIR_RTMP_LISTEN", "WEIR_CLUSTER_NODE_ID", "WEIR_STORAGE_ROOT"} <= set(backup_env), backup_env
    backup_env = {k: re.sub(r"(?:0\.0\.0\.0|127\.0\.0\.1):(\d+)", lambda m: "127.0.0.1:%d" % ports[int(m.group(1))], v)
                  for k, v in backup_env.items()}

    a = weir(origin_text, name="origin_a", env=listen_env(origin_listens))
    b = weir(origin_text, name="origin_b", env=dict(listen_env(origin_listens), **backup_env))
    assert a.rtmp_addr[1] == ports[1935] and b.rtmp_addr[1] == ports[1937], (a.info, b.info)
    assert (a.info["node_id"], b.info["node_id"]) == ("origin-a", "origin-b")
    pa, pb = push_to_both(a, b, tmp_path)
    edge = weir(edge_text, name="edge", env=listen_env(edge_listens))
    assert edge.info["node_id"] == "edge-1" and edge.http_addr[1] == ports[8081], edge.info

    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames at the edge")
    r = get(edge.http_addr, "/live/s.m3u8", timeout=15)  # the edge packages HLS from the same pull
    assert r.status == 200 and b"#EXTM3U" in r.body, (r.status, r.body[:200])
    assert viewers_of(a) == 1 and viewers_of(b) == 0

    gap = kill_and_measure_failover(a, viewer)
    print(f"shipped conf/origin.yaml + conf/edge.yaml: failover gap {gap * 1000:.0f} ms")
    assert viewers_of(b) == 1
    assert edge.metric("weir_edge_failovers_total") == 1
    # The shipped urls, ports rewritten, are the primary and the backup.
    ups = {u["origin"]: u for u in edge.api("/api/v1/upstreams")}
    assert ups[rtmp_tmpl(a)]["state"] == "down" and ups[rtmp_tmpl(b)]["state"] == "up", ups
    viewer.stop()
    assert edge.stop() == []  # before the backup, so its drain has no client left (shipped drain_ms)
    pa.stop()
    pb.stop()
    assert b.stop() == []


def test_edge_tries_next_origin_when_refused_and_pulls_http_flv(weir, tmp_path):
    a = weir(origin_config(), name="origin_a")  # has no stream s
    b = weir(origin_config(), name="origin_b")
    pb = media.start_publisher(b.rtmp_url(), tmp_path, "pub_b", duration=None, size="320x240", gop=25)
    b.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    edge = weir(edge_config([rtmp_tmpl(a), flv_tmpl(a), flv_tmpl(b)]), name="edge")
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames over an HTTP-FLV upstream")
    edge.wait_log("NetStream.Play.StreamNotFound", timeout=2)
    edge.wait_log("HTTP 404", timeout=2)
    assert edge.log().count("pulling from " + flv_tmpl(b)) == 1
    assert viewers_of(b) == 1 and b.api("/api/v1/clients?role=play")[0]["protocol"] == "http-flv"
    tags = viewer.snapshot()
    checks.assert_per_track_monotonic(tags, "edge viewer (http-flv upstream)")
    assert any(t.script_name == "onMetaData" for t in tags[:3]), "onMetaData not carried through"
    viewer.stop()
    cap = tmp_path / "httpflv.flv"
    cap.write_bytes(bytes(viewer.raw))
    checks.assert_av_basics(cap)
    pb.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_edge_all_origins_down_answers_404_within_the_wait(weir):
    urls = ["rtmp://127.0.0.1:%d/{app}/{stream}" % free_port(), "http://127.0.0.1:%d/{app}/{stream}.flv" % free_port()]
    edge = weir(edge_config(urls), name="edge")
    t0 = time.monotonic()
    r = get(edge.http_addr, "/live/s.flv", timeout=10)
    took = time.monotonic() - t0
    assert r.status == 404, r.status
    assert b"every origin failed" in r.body, r.body
    assert took < 2.5 + 0.5, f"404 after {took:.2f} s (wait: 2 x connect_timeout_ms + 0.5 s)"
    edge.wait_log("every origin failed", timeout=2)
    # RTMP viewers get StreamNotFound the same way; a new request tries again (no tight loop meanwhile).
    c = RtmpClient.open(edge.rtmp_addr)
    st = c.start_play("live", "s", timeout=10)
    assert st.status_code() == "NetStream.Play.StreamNotFound", st
    c.close()
    time.sleep(0.5)
    assert edge.metric("weir_edge_pulls_started_total") == 2
    assert edge.metric("weir_edge_pulls_failed_total") == 2


class BrokenOrigin(threading.Thread):
    """A hand-made TCP peer standing in for a broken origin, since no real
    server misbehaves on demand: `garbage` answers whatever it is sent with
    random bytes (an RTMP handshake with a bad version, an HTTP response
    that does not parse); `silent` accepts and never answers (a handshake
    that never ends)."""

    def __init__(self, mode):
        super().__init__(daemon=True)
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)
            if self.mode == "garbage":
                try:
                    c.recv(4096)
                    c.sendall(os.urandom(4096))
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_edge_drops_garbage_and_silent_upstreams_and_plays_from_the_next(weir, tmp_path):
    b = weir(origin_config(), name="origin_b")
    pb = media.start_publisher(b.rtmp_url(), tmp_path, "pub_b", duration=None, size="320x240", gop=25)
    b.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    garbage, silent = BrokenOrigin("garbage"), BrokenOrigin("silent")
    urls = ["rtmp://127.0.0.1:%d/{app}/{stream}" % garbage.port, "http://127.0.0.1:%d/{app}/{stream}.flv" % garbage.port,
            "rtmp://127.0.0.1:%d/{app}/{stream}" % silent.port, rtmp_tmpl(b)]
    edge = weir(edge_config(urls), name="edge")
    t0 = time.monotonic()
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames after three broken origins")
    # The silent one costs its connect timeout (1 s); the garbage ones fail at once.
    first = next(t for t in viewer.snapshot() if t.is_video_frame)
    assert first.arrival - t0 < 3.0, f"first frame {first.arrival - t0:.2f} s after the request"
    assert garbage.accepted == 2 and silent.accepted == 1, (garbage.accepted, silent.accepted)
    log = edge.log()
    for u in urls[:3]:
        assert ("origin %s failed" % u) in log, (u, log[-3000:])
    assert viewers_of(b) == 1
    ups = {u["origin"]: u for u in edge.api("/api/v1/upstreams")}
    for u in urls[:3]:
        assert ups[u]["state"] == "down" and ups[u]["last_error"], ups[u]
    checks.assert_per_track_monotonic(viewer.snapshot(), "edge viewer after broken origins")
    viewer.stop()
    garbage.close()
    silent.close()
    pb.stop()


def test_edge_fails_over_when_the_origin_stalls_mid_stream(weir, tmp_path):
    a, b, pa, pb = two_live_origins(weir, tmp_path)
    edge = weir(edge_config([rtmp_tmpl(a), rtmp_tmpl(b)], stall_timeout_ms=1000), name="edge")
    viewer = FlvViewer(edge.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames from origin A")
    # Origin A freezes (SIGSTOP): its connection stays open but nothing comes.
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        stop_at = time.monotonic()
        viewer.wait(lambda t: len([x for x in t if x.is_video_frame and x.arrival > stop_at + 1.0]) >= 25, 10,
                    "25 frames from origin B after A stalled")
        edge.wait_log("origin %s failed" % rtmp_tmpl(a), timeout=2)
        assert viewer.end is None, f"viewer closed: {viewer.end}"
        checks.assert_per_track_monotonic(viewer.snapshot(), "edge viewer across a stalled origin")
        assert viewers_of(b) == 1
        assert edge.metric("weir_edge_failovers_total") == 1
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    viewer.stop()
    pa.stop()
    pb.stop()


def named(config, node_id):
    return dict(config, cluster={"node_id": node_id})


def test_edge_chain_of_two_pulls_once_per_hop(weir, tmp_path):
    a = weir(origin_config(), name="origin_a")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    e1 = weir(named(edge_config([rtmp_tmpl(a)]), "edge-1"), name="edge1")
    # An HTTP-FLV origin cannot take a publish: this edge keeps its publishes (publish: local).
    e2 = weir(named(edge_config([flv_tmpl(e1)], publish="local"), "edge-2"), name="edge2")
    assert e2.info["node_id"] == "edge-2"
    flv = [FlvViewer(e2.http_addr, "/live/s.flv") for _ in range(4)]
    for v in flv:
        v.start()
    rtmp = RtmpViewer(e2.rtmp_addr, "s")
    assert rtmp.status.status_code() == "NetStream.Play.Start", rtmp.status
    rtmp.start()
    for v in flv:
        v.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames two edges away from the origin")
    rtmp.join(20)
    assert rtmp.end == "until", rtmp.end
    # One upstream per hop: the origin serves edge 1 only, edge 1 serves edge 2 only.
    assert viewers_of(a) == 1, a.stream_info()
    assert viewers_of(e1) == 1, e1.stream_info()
    assert e1.metric("weir_edge_pulls_started_total") == 1
    assert e2.metric("weir_edge_pulls_started_total") == 1
    tags = flv[0].snapshot()
    checks.assert_per_track_monotonic(tags, "viewer at the second edge")
    for v in flv:
        v.stop()
    cap = tmp_path / "chain.flv"
    cap.write_bytes(bytes(flv[0].raw))
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)
    pub.stop()


def test_edge_loop_is_refused_and_ends_in_404_without_retrying(weir):
    # Two edges configured to pull from each other (a mistake): the stream is on neither.
    port2 = free_port()
    e1 = weir(named(edge_config(["http://127.0.0.1:%d/{app}/{stream}.flv" % port2], publish="local"), "edge-1"),
              name="edge1")
    e2 = weir(named(edge_config([flv_tmpl(e1)], publish="local"), "edge-2"), name="edge2",
              env={"WEIR_HTTP_LISTEN": "127.0.0.1:%d" % port2})
    t0 = time.monotonic()
    r = get(e1.http_addr, "/live/s.flv", timeout=15)
    took = time.monotonic() - t0
    assert r.status == 404, (r.status, r.body)
    assert b"every origin failed" in r.body, r.body
    assert took < 2.0, f"404 after {took:.2f} s"
    # edge-1 -> edge-2 (weir_via=edge-1) -> edge-1 (weir_via=edge-1,edge-2): refused there as a loop.
    e1.wait_log(re.escape("edge loop: this node (edge-1) is already in the pull's chain edge-1,edge-2"), timeout=5)
    e2.wait_log("HTTP 508", timeout=5)
    time.sleep(1.0)
    assert e1.metric("weir_edge_pulls_started_total") == 1
    assert e2.metric("weir_edge_pulls_started_total") == 1

    # The chain is checked on every play protocol, before any pull starts.
    r = get(e1.http_addr, "/live/x.flv?weir_via=edge-9,edge-1", timeout=5)
    assert r.status == 508, (r.status, r.body)
    assert b"edge loop" in r.body
    r = get(e1.http_addr, "/live/x.flv?weir_via=" + ",".join("n%d" % i for i in range(8)), timeout=5)
    assert r.status == 508 and b"cluster.max_hops is 8" in r.body, (r.status, r.body)
    r = get(e1.http_addr, "/live/x.flv?weir_via=a,,b", timeout=5)
    assert r.status == 400 and b"weir_via" in r.body, (r.status, r.body)
    c = RtmpClient.open(e1.rtmp_addr)
    st = c.start_play("live", "x?weir_via=edge-1", timeout=10)
    assert st.status_code() == "NetStream.Play.StreamNotFound", st
    assert any(isinstance(v, dict) and "edge loop" in str(v.get("description")) for v in st.command()[2]), st.command()
    c.close()
    assert e1.metric("weir_edge_pulls_started_total") == 1


def test_edge_pulls_hevc_over_enhanced_rtmp(weir, hevc_source):  # noqa: F811
    a = weir(origin_config(), name="origin_a")
    pub = RtmpClient.open(a.rtmp_addr)
    pub.start_publish("live", "hevc", chunk_size=65536, extra_connect={"fourCcList": ["hvc1"]})
    for t, ts, body in hevc_source.tags():
        if t == SCRIPT:
            pub.send_metadata(body)
        elif t == VIDEO:
            pub.send_video(ts, body)
        else:
            pub.send_audio(ts, body)
    a.wait_stream(name="hevc", pred=lambda i: i["video_frames"] >= 50)
    edge = weir(edge_config([rtmp_tmpl(a)], stall_timeout_ms=5000), name="edge")
    # An E-RTMP player (fourCcList), reading until 20 HEVC frames came.
    c = RtmpClient.open(edge.rtmp_addr)
    c.handshake()
    assert c.connect("live", extra={"fourCcList": ["hvc1"]}).command()[0] == "_result"
    sid = c.create_stream()
    c.send_command("play", 0.0, None, "hevc", -2000.0, stream_id=sid)
    got, end = c.read_media(until=lambda m: sum(1 for x in m if x.type_id == 9) >= 21, timeout=15)
    c.close()
    assert end == "until", end
    tags = [FlvTag(m.type_id, m.timestamp, m.payload) for m in got]
    video = [t for t in tags if t.is_video]
    v0 = video[0]
    assert v0.enhanced and v0.fourcc == "hvc1" and v0.packet_type == SEQUENCE_START, v0
    assert v0.video_payload() == hevc_source.hvcc
    frames = [t for t in video if t.is_video_frame]
    assert len(frames) >= 20 and all(t.fourcc == "hvc1" for t in frames)
    meta = [t for t in tags if t.script_name == "onMetaData"]
    assert meta and meta[0].script_values()[1]["videocodecid"] == FOURCC_HVC1
    pub.close()
