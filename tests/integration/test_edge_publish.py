"""Publish at an edge (apps.<app>.upstream.publish): an encoder pushes to its
nearest node, an edge; the edge plays the stream to its own viewers from the
local hub (no pull) and pushes it to one origin of its upstream list, failing
over to the next origin when that one dies. And forward loops: a stream
forwarded A -> B -> A is refused at A (the weir_via chain), with the error in
B's /api/v1/forwards.

Real processes: origins and edges are separate `weir` servers on loopback
(the origins start first so the edge's config can name their ports); ffmpeg
publishes, viewers read HTTP-FLV, ffmpeg decodes what they got."""

import re
import time

from weirtest import checks, media
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

from test_edge import edge_config, flv_tmpl, free_port, named, origin_config, rtmp_tmpl, video_frames
from test_forward import forwards


def upstream_forwards(s):
    return [f for f in forwards(s, "/api/v1/forwards") if f["source"] == "upstream"]


def upstreams(s):
    return {u["origin"]: u for u in s.api("/api/v1/upstreams")}


def test_encoder_pushes_to_an_edge_and_a_viewer_on_the_origin_gets_every_frame(weir, tmp_path):
    a = weir(origin_config(play_wait_ms=20000, reconnect_grace_ms=500), name="origin_a")
    # http:// origins cannot take a publish: skipped, the rtmp:// one is used.
    edge = weir(edge_config([flv_tmpl(a), rtmp_tmpl(a)], idle_ms=1500), name="edge")
    edge_cfg = edge.api("/api/v1/config")
    assert edge_cfg["config"]["apps"]["live"]["upstream"]["publish"] == "forward"  # the default

    # The origin's viewer asks before the stream exists and waits for it.
    at_origin = FlvViewer(a.http_addr, "/live/s.flv")
    at_origin.start()
    pub = media.start_publisher(edge.rtmp_url(), tmp_path, "pub", duration=8.0, size="320x240", gop=25)
    edge.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    # A viewer at the edge plays from the local hub meanwhile.
    at_edge = FlvViewer(edge.http_addr, "/live/s.flv")
    at_edge.start()

    a.wait_stream(pred=lambda i: i["video_frames"] >= 25, what="the stream pushed by the edge")
    f = wait_until(lambda: (upstream_forwards(edge) or [None])[0], 10, "the edge's push in /api/v1/forwards")
    assert f["url"] == rtmp_tmpl(a) and f["state"] == "forwarding", f
    info = a.stream_info()
    assert info["publisher"]["protocol"] == "rtmp", info["publisher"]
    ups = upstreams(edge)
    assert ups[rtmp_tmpl(a)]["pushes"] == 1 and ups[rtmp_tmpl(a)]["state"] == "up", ups
    assert edge.metric('weir_edge_origin_pushes{origin="%s"}' % rtmp_tmpl(a)) == 1
    assert flv_tmpl(a) not in ups, ups  # never tried for the publish
    # No pull: the edge serves its local publisher and does not also pull.
    assert edge.metric("weir_edge_pulls_started_total") == 0
    assert a.stream_info()["viewers"]["total"] == 1  # the origin's own viewer only

    assert pub.wait(30) == 0, pub.log()
    edge_frames = edge.stream_info()["video_frames"] if edge.stream_info() else None
    at_origin.wait_end(20)
    at_edge.wait_end(20)
    assert edge_frames is None or edge_frames >= 190, edge_frames
    got = len(video_frames(at_origin.snapshot()))
    pushed = 8 * 25
    print(f"\nedge publish: {got} video frames at the origin's viewer, {pushed} pushed to the edge, "
          f"{len(video_frames(at_edge.snapshot()))} at the edge's viewer")
    assert abs(got - pushed) <= 0.02 * pushed, f"origin viewer got {got} frames of {pushed}"
    checks.assert_per_track_monotonic(at_origin.snapshot(), "origin viewer of a stream published at the edge")
    cap = tmp_path / "origin.flv"
    cap.write_bytes(bytes(at_origin.raw))
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)
    assert abs(len(video_frames(at_edge.snapshot())) - pushed) <= 0.02 * pushed
    # The stream ended at the edge: its push ended with it.
    wait_until(lambda: not upstream_forwards(edge), 10, "the push to end with the stream")
    assert upstreams(edge)[rtmp_tmpl(a)]["pushes"] == 0


def test_edge_push_fails_over_to_the_backup_origin(weir, tmp_path):
    a = weir(origin_config(), name="origin_a")
    b = weir(origin_config(), name="origin_b")
    edge = weir(edge_config([rtmp_tmpl(a), rtmp_tmpl(b)]), name="edge")
    pub = media.start_publisher(edge.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 25, what="the push at origin A (first in order)")
    assert b.stream_info() is None
    at_edge = FlvViewer(edge.http_addr, "/live/s.flv")
    at_edge.start()
    at_edge.wait(lambda t: len(video_frames(t)) >= 10, 10, "10 frames at the edge's viewer")
    wait_until(lambda: upstream_forwards(edge) and upstream_forwards(edge)[0]["state"] == "forwarding", 10,
               "the push to be forwarding")

    kill_at = time.monotonic()
    a.proc.kill()
    a.proc.wait(5)
    a.returncode = a.proc.returncode  # killed on purpose: not a shutdown failure

    b.wait_stream(pred=lambda i: i["video_frames"] >= 1, timeout=10, what="the push to move to origin B")
    moved = time.monotonic() - kill_at
    at_b = FlvViewer(b.http_addr, "/live/s.flv")
    at_b.start()
    at_b.wait(lambda t: len(video_frames(t)) >= 50, 15, "50 frames at origin B's viewer")
    print(f"\nedge publish failover: stream live at origin B {moved * 1000:.0f} ms after SIGKILL of origin A")
    assert moved < 3.0, f"the push took {moved:.2f} s to reach the backup origin"
    f = upstream_forwards(edge)[0]
    assert f["url"] == rtmp_tmpl(b) and f["state"] == "forwarding", f
    assert f["last_error"], f  # A's failure
    assert edge.metric("weir_forward_failovers_total") == 1
    ups = upstreams(edge)
    assert ups[rtmp_tmpl(a)]["state"] == "down" and ups[rtmp_tmpl(a)]["pushes"] == 0, ups
    assert ups[rtmp_tmpl(b)]["state"] == "up" and ups[rtmp_tmpl(b)]["pushes"] == 1, ups
    assert edge.metric('weir_edge_origin_pushes{origin="%s"}' % rtmp_tmpl(b)) == 1
    # The edge's own viewer never noticed, and nothing was pulled.
    at_edge.wait(lambda t: len([x for x in video_frames(t) if x.arrival > kill_at]) >= 50, 10,
                 "50 frames at the edge's viewer after the kill")
    assert at_edge.end is None, at_edge.end
    assert not checks.video_gaps(at_edge.snapshot(), 1000)
    assert edge.metric("weir_edge_pulls_started_total") == 0
    at_b.stop()
    at_edge.stop()
    cap = tmp_path / "origin_b.flv"
    cap.write_bytes(bytes(at_b.raw))
    checks.assert_per_track_monotonic(at_b.snapshot(), "origin B's viewer")
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)
    pub.stop()


def test_edge_publish_local_and_refuse(weir, tmp_path):
    a = weir({"workers": 2, "apps": {"loc": {"play_wait_ms": 0}, "ref": {"play_wait_ms": 0}}}, name="origin_a")
    up = {"urls": [rtmp_tmpl(a)], "connect_timeout_ms": 1000}
    edge = weir({"workers": 2, "apps": {"loc": {"upstream": dict(up, publish="local")},
                                        "ref": {"upstream": dict(up, publish="refuse")}}}, name="edge")
    pub = media.start_publisher(edge.rtmp_url("loc", "s"), tmp_path, "pub", duration=None, size="320x240", gop=25)
    edge.wait_stream("loc", "s", pred=lambda i: i["video_frames"] >= 25)
    v = FlvViewer(edge.http_addr, "/loc/s.flv")
    v.start()
    v.wait(lambda t: len(video_frames(t)) >= 25, 10, "25 frames of the local stream at the edge")
    v.stop()
    time.sleep(1.0)  # what would have pushed has had its chance
    assert a.stream_info("loc", "s") is None
    assert forwards(edge, "/api/v1/forwards") == []
    assert edge.metric("weir_edge_pulls_started_total") == 0
    pub.stop()

    c = RtmpClient.open(edge.rtmp_addr)
    c.handshake()
    assert c.connect("ref").command()[0] == "_result"
    sid = c.create_stream()
    st = c.publish("s", sid, timeout=10)
    assert st.status_code() == "NetStream.Publish.BadName", st
    assert "upstream.publish: refuse" in str(st.command()[2]), st.command()
    c.close()
    assert edge.stream_info("ref", "s") is None


def test_forward_loop_between_two_origins_is_refused_with_the_error_in_the_api(weir, tmp_path):
    def forwarding_to(url):
        return {"urls": [url], "backoff_ms": 200, "backoff_max_ms": 1000, "connect_timeout_ms": 1000}
    # Two origins forwarding to each other (a mistake): B first, naming A's port; then A, naming B.
    port_a = free_port()
    b = weir(named(origin_config(forward=forwarding_to("rtmp://127.0.0.1:%d/{app}/{stream}" % port_a)), "node-b"),
             name="node_b")
    a = weir(named(origin_config(forward=forwarding_to(rtmp_tmpl(b))), "node-a"), name="node_a",
             env={"WEIR_RTMP_LISTEN": "127.0.0.1:%d" % port_a})
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    # A -> B (weir_via=node-a): B has it. B -> A (weir_via=node-a,node-b): refused at A.
    b.wait_stream(pred=lambda i: i["video_frames"] >= 25, what="A's stream forwarded to B")
    a.wait_log(re.escape("forward loop: this node (node-a) is already in the publish's chain node-a,node-b"),
               timeout=10)

    def refused():
        f = forwards(b)
        return f and f[0]["state"] in ("backoff", "connecting") and "forward loop" in (f[0]["last_error"] or "") and f[0]
    f = wait_until(refused, 10, "B's forward to A to back off with the loop error")
    print(f"\nforward loop: B's destination A in {f['state']}: {f['last_error']}")
    assert "NetStream.Publish.BadName" in f["last_error"] and "node-a,node-b" in f["last_error"], f
    fa = forwards(a)
    assert fa[0]["state"] == "forwarding" and fa[0]["last_error"] is None, fa
    # A keeps its encoder's stream; nobody republished it; B retries with backoff, not in a tight loop.
    info = a.stream_info()
    assert info["live"] and info["publisher"]["protocol"] == "rtmp" and info["publishes"] == 1, info
    time.sleep(2.0)
    refusals = a.log().count("refused by edge-loop: forward loop: this node (node-a)")
    # Backoff 200 ms doubling to 1 s: about 6 attempts in 3 s (a tight loop would make hundreds).
    assert 2 <= refusals <= 8, f"{refusals} refusals in about 3 s"
    assert forwards(b)[0]["reconnects"] >= 1
    pub.stop()

