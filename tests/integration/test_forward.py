"""Forward (restream): every stream of an app pushed on to other servers
(apps.<app>.forward), reconnecting with backoff when a destination dies, and
destinations added and removed at runtime through the admin API.

Real processes: the destinations are other `weir` servers on loopback,
started first so the origin's config can name their bound ports; ffmpeg
publishes, ffprobe/ffmpeg check what the destinations serve."""

import json
import time

from weirtest import checks, media
from weirtest.httpc import FlvViewer, request
from weirtest.server import wait_until

from test_cli import run_weir

ADMIN = "forward-admin-token-0123456789"
READER = "forward-read-token-0123456789"


def live_config(**live):
    return {"workers": 2, "apps": {"live": dict({"play_wait_ms": 0, "reconnect_grace_ms": 0,
                                                 "hls": {"enabled": False}}, **live)}}


def forward_config(urls):
    return live_config(forward={"urls": urls, "backoff_ms": 200, "backoff_max_ms": 1000,
                                "connect_timeout_ms": 1000})


def api(s, method, path, body=None, token=None, raw=None):
    h = {}
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = f"Bearer {token}"
    r = request(s.api_addr, method, path, headers=h, body=data, timeout=20)
    try:
        j = json.loads(r.body) if r.body else None
    except ValueError:
        j = None
    return r.status, j


def forwards(s, path="/api/v1/streams/live/s/forwards"):
    st, j = api(s, "GET", path)
    assert st == 200, (st, j)
    return j["items"]


def frames(tags):
    return [t for t in tags if t.is_video_frame]


def capture_decodes(server, tmp_path, name, stream="s", n=50):
    v = FlvViewer(server.http_addr, f"/live/{stream}.flv")
    v.start()
    v.wait(lambda t: len(frames(t)) >= n, 20, f"{n} video frames from {server.name}")
    v.stop()
    tags = v.snapshot()
    checks.assert_per_track_monotonic(tags, f"{server.name} viewer")
    cap = tmp_path / f"{name}.flv"
    cap.write_bytes(bytes(v.raw))
    checks.assert_av_basics(cap)
    checks.assert_decodes_cleanly(cap)


def test_forward_config_destination_survives_its_death_and_runtime_destinations(weir, tmp_path):
    b = weir(live_config(), name="dest_b")
    b_port = b.rtmp_addr[1]
    b_url = "rtmp://127.0.0.1:%d/{app}/{stream}" % b_port
    a = weir(forward_config([b_url]), name="origin_a")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)

    # B has the stream, as published (H.264 + AAC), and it decodes cleanly.
    b.wait_stream(pred=lambda i: i["video_frames"] >= 25, what="25 forwarded video frames")
    assert b.stream_info()["publisher"]["protocol"] == "rtmp"
    capture_decodes(b, tmp_path, "dest_b")

    fw = forwards(a)
    assert len(fw) == 1, fw
    f = fw[0]
    assert f["state"] == "forwarding" and f["source"] == "config", f
    assert f["url"] == "rtmp://127.0.0.1:%d/live/s" % b_port, f
    assert f["since"].endswith("Z") and f["reconnects"] == 0 and f["last_error"] is None, f
    first = f["bytes_out"]
    assert first > 0
    wait_until(lambda: forwards(a)[0]["bytes_out"] > first + 20000, 10, "bytes_out to grow")
    assert [x["id"] for x in forwards(a, "/api/v1/forwards")] == [f["id"]]
    assert a.metric('weir_forward_destinations{state="forwarding"}') == 1
    assert a.metric("weir_forward_started_total") == 1

    # A viewer of A, watching through what follows.
    viewer = FlvViewer(a.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda t: len(frames(t)) >= 10, 10, "10 frames at A's viewer")

    # B dies: A's destination goes to backoff with the error; A's viewer goes on.
    kill_at = time.monotonic()
    b.proc.kill()
    b.proc.wait(5)
    b.returncode = b.proc.returncode  # killed on purpose: not a shutdown failure

    def in_backoff():
        g = forwards(a)
        return g and g[0]["state"] in ("backoff", "connecting") and g[0]["last_error"] and g[0]
    f = wait_until(in_backoff, 15, "the destination to fail")
    print(f"\nforward: destination failed with: {f['last_error']}")
    viewer.wait(lambda t: len([x for x in frames(t) if x.arrival > kill_at]) >= 50, 15, "50 frames after the kill")
    assert viewer.end is None, viewer.end
    assert not checks.video_gaps(viewer.snapshot(), 1000), checks.video_gaps(viewer.snapshot(), 1000)
    assert a.stream_info()["live"] is True

    # A new B on the same port: the forward comes back (backoff <= 1 s).
    b2 = weir(live_config(), name="dest_b2", env={"WEIR_RTMP_LISTEN": "127.0.0.1:%d" % b_port})
    back_at = time.monotonic()
    b2.wait_stream(pred=lambda i: i["video_frames"] >= 25, timeout=20, what="the forward to come back")
    print(f"forward: back at the new destination {time.monotonic() - back_at:.2f} s after it started")
    f = forwards(a)[0]
    assert f["state"] == "forwarding" and f["reconnects"] >= 1 and f["last_error"], f
    assert a.metric("weir_forward_reconnects_total") >= 1
    capture_decodes(b2, tmp_path, "dest_b2")

    # A runtime destination to C: C gets the stream; DELETE ends it there.
    c = weir(live_config(), name="dest_c")
    st, r = api(a, "POST", "/api/v1/streams/live/s/forwards", {"url": "rtmp://127.0.0.1:%d/live/copy" % c.rtmp_addr[1]})
    assert st == 201, (st, r)
    assert r["source"] == "api" and r["state"] in ("connecting", "forwarding") and r["id"] != f["id"], r
    # The stream name differs from the local one: shown as a key would be.
    assert r["url"] == "rtmp://127.0.0.1:%d/live/***" % c.rtmp_addr[1], r
    c.wait_stream(name="copy", pred=lambda i: i["video_frames"] >= 25, what="the runtime destination's stream")
    capture_decodes(c, tmp_path, "dest_c", stream="copy", n=30)
    everything = forwards(a, "/api/v1/forwards")
    assert {x["id"] for x in everything} == {f["id"], r["id"]}, everything
    assert all(x["state"] == "forwarding" for x in everything), everything
    st, page = api(a, "GET", "/api/v1/forwards?limit=1")
    assert st == 200 and len(page["items"]) == 1 and page["next_cursor"], page
    st, page2 = api(a, "GET", "/api/v1/forwards?limit=1&cursor=" + page["next_cursor"])
    assert st == 200 and page2["items"][0]["id"] == r["id"] and page2["next_cursor"] is None, page2

    st, _ = api(a, "DELETE", f"/api/v1/streams/live/s/forwards/{r['id']}")
    assert st == 204
    wait_until(lambda: c.stream_info("live", "copy") is None, 10, "C's stream to end")
    assert [x["id"] for x in forwards(a)] == [f["id"]]
    assert api(a, "DELETE", f"/api/v1/streams/live/s/forwards/{r['id']}")[0] == 404
    # B2 kept its stream all along, A's viewer too.
    assert b2.stream_info()["live"] is True
    assert viewer.end is None, viewer.end

    # Secrets: query values and a foreign stream name are not shown.
    st, k = api(a, "POST", "/api/v1/streams/live/s/forwards", {"url": "rtmp://127.0.0.1:1/app/live_abc?key=SECRET"})
    assert st == 201 and k["url"] == "rtmp://127.0.0.1:1/app/***?key=***", k
    wait_until(lambda: any(x["id"] == k["id"] and x["state"] == "backoff" for x in forwards(a)), 10,
               "the unreachable destination to back off")
    assert "SECRET" not in json.dumps(forwards(a)) and "SECRET" not in a.log()
    assert api(a, "DELETE", f"/api/v1/streams/live/s/forwards/{k['id']}")[0] == 204

    # Refusals name the field.
    for body, field in (({"url": "srt://127.0.0.1:9000?streamid=x&mode=listener"}, "url"), ({"url": 5}, "url"), ({}, "url"),
                        ({"url": "http://h/live/s.flv"}, "url"), ({"url": "rtmp://h/onlyapp"}, "url"),
                        ({"url": "rtmp://h/live/s", "extra": 1}, "extra")):
        st, e = api(a, "POST", "/api/v1/streams/live/s/forwards", body)
        assert st == 400 and e["error"]["field"] == field, (body, st, e)
    st, e = api(a, "POST", "/api/v1/streams/live/s/forwards", {"url": "srt://127.0.0.1:9000?streamid=x&mode=listener"})
    assert "mode: only 'caller'" in e["error"]["message"], e
    assert api(a, "POST", "/api/v1/streams/live/s/forwards", raw=b"{not json")[0] == 400
    assert api(a, "POST", "/api/v1/streams/live/none/forwards", {"url": "rtmp://h/live/s"})[0] == 404
    assert api(a, "GET", "/api/v1/streams/live/none/forwards")[0] == 404
    assert api(a, "DELETE", "/api/v1/streams/live/s/forwards/fw9999999999")[0] == 404
    st, e = api(a, "DELETE", "/api/v1/streams/live/s/forwards/nope")
    assert st == 400 and e["error"]["field"] == "id", e

    viewer.stop()
    pub.stop()
    # The stream ends at A: its destinations end with it.
    wait_until(lambda: not forwards(a, "/api/v1/forwards"), 10, "the destinations to end with the stream")
    wait_until(lambda: b2.stream_info() is None, 10, "B2's stream to end")


def test_forward_api_roles_and_config_masking(weir):
    cfg = live_config(forward={"urls": ["rtmp://127.0.0.1:1/{app}/{stream}?key=SECRETKEY"]})
    s = weir(dict(cfg, api={"token": ADMIN, "read_token": READER}))
    st, c = api(s, "GET", "/api/v1/config", token=READER)
    assert st == 200 and "SECRETKEY" not in json.dumps(c), c
    assert c["config"]["apps"]["live"]["forward"]["urls"] == ["rtmp://127.0.0.1:1/{app}/{stream}?********"], c
    body = {"url": "rtmp://127.0.0.1:1/live/s"}
    assert api(s, "POST", "/api/v1/streams/live/s/forwards", body)[0] == 401
    assert api(s, "POST", "/api/v1/streams/live/s/forwards", body, token=READER)[0] == 403
    assert api(s, "DELETE", "/api/v1/streams/live/s/forwards/fw0000000001", token=READER)[0] == 403
    assert api(s, "GET", "/api/v1/forwards", token=READER) == (200, {"items": [], "next_cursor": None})
    assert api(s, "POST", "/api/v1/streams/live/s/forwards", body, token=ADMIN)[0] == 404  # not live


def test_forward_config_refuses_a_bad_srt_url(weir_bin, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("apps:\n  live:\n    forward:\n      urls: ['srt://127.0.0.1?streamid={stream}']\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(path))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "apps.live.forward.urls" in out and "needs a port" in out, out
