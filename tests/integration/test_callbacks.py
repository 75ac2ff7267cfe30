"""HTTP callbacks that decide publishes and plays (apps.<app>.callbacks),
against a real HTTP receiver started here: it records every request, checks
its Weir-Signature, and answers what the client's `cb` query parameter asks
for (ok, deny, five (500), redir (302), garbage (not HTTP), hang (answers
after the timeout)). RTMP and SRT publishers and RTMP, HTTP-FLV, WS-FLV,
.ts, SRT, HLS and LL-HLS players and VOD (recorded assets) are refused or
allowed accordingly; failures follow fail_open; HLS reloads and a VOD
player's requests are answered from the cache; HLS parts are not asked;
everything is counted."""

import json
import time

import pytest

from weirtest import httpc, media
from weirtest import srt as S
from weirtest.flv import FlvParser
from weirtest.hls import parse_attrs
from weirtest.receiver import Receiver
from weirtest.server import wait_until
from weirtest.ws import BINARY, WsClient

SECRET = "callback-secret-0123456789"


def answer(body):
    """What the client's `cb` parameter asks the receiver to answer."""
    what = body["params"].get("cb", "ok")
    if what == "garbage":
        return b"THIS IS NOT HTTP\r\n\r\n"
    if what == "hang":
        time.sleep(4)
    code = {"ok": 204, "deny": 403, "five": 500, "redir": 302, "hang": 204}[what]
    return (302, {"Location": "/elsewhere"}) if code == 302 else code


@pytest.fixture(scope="module")
def env(weir_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("cb")
    rx = Receiver(SECRET, answer)
    cb = {"on_publish": rx.url + "/publish", "on_play": rx.url + "/play", "timeout_ms": 1000, "secret": SECRET,
          "cache_ms": 20000}
    # cbrec records; its VOD assets also refuse 127.0.0.2 and pages of evil.test.
    rec = {"callbacks": cb, "reconnect_grace_ms": 0,
           "access": {"play_deny": ["127.0.0.2"], "referers": ["example.com"]},
           "record": {"enabled": True, "segment_s": 2, "fragment_ms": 500, "resume_s": 0}}
    s = weir_module({"apps": {"cb": {"callbacks": cb},
                              "cbopen": {"callbacks": dict(cb, fail_open=True)},
                              "cbrec": rec}}, name="callbacks")
    pubs = [media.start_publisher(s.rtmp_url("cb", "live1", query="token=abc"), d, "pub1", duration=120),
            media.start_publisher(s.rtmp_url("cbopen", "live2"), d, "pub2", duration=120)]
    s.wait_stream("cb", "live1")
    s.wait_stream("cbopen", "live2")
    yield s, rx, d
    for p in pubs:
        p.stop()
    rx.close()


def flv_status(s, path):
    t0 = time.monotonic()
    r = httpc.get(s.http_addr, path, timeout=10, read_body=False)
    return r.status, time.monotonic() - t0


def test_publish_decisions_rtmp_and_srt(env):
    s, rx, d = env
    [c] = rx.of(action="publish", stream="live1")
    assert c["_path"] == "/publish" and c["_sig_ok"], c
    assert c["app"] == "cb" and c["protocol"] == "rtmp" and c["client_ip"] == "127.0.0.1", c
    assert c["params"]["token"] == "abc" and c["client"].startswith("127.0.0.1:"), c
    # RTMP: refused by the receiver, and when the callback fails (fail closed).
    for what in ("deny", "garbage"):
        p = media.start_publisher(s.rtmp_url("cb", f"no{what}", query=f"cb={what}"), d, f"pub-{what}", duration=5)
        assert p.wait(20) != 0, f"the publish with cb={what} was not refused"
        assert s.stream_info("cb", f"no{what}") is None
    s.wait_log(r"refused by callback: on_publish refused by the callback \(HTTP 403\)")
    s.wait_log(r"rtmp publish of cb/nogarbage by .* refused by callback: on_publish callback failed: http: ")
    # SRT: allowed, and refused.
    ok = S.start_ts_publisher(S.srt_url(s, S.streamid(app="cb", stream="srtok")), d, "srt-ok", duration=4)
    s.wait_stream("cb", "srtok")
    assert rx.of(action="publish", stream="srtok")[0]["protocol"] == "srt"
    no = S.start_ts_publisher(S.srt_url(s, S.streamid(app="cb", stream="srtno", cb="deny")), d, "srt-no", duration=3)
    wait_until(lambda: rx.of(action="publish", stream="srtno"), 10, "the SRT publish callback")
    no.wait(30)
    ok.wait(30)
    assert s.stream_info("cb", "srtno") is None
    assert rx.of(action="publish", stream="srtno")[0]["params"]["cb"] == "deny"
    m = s.metrics()
    assert m['weir_callback_results_total{hook="on_publish",result="allowed"}'] >= 3, m
    assert m['weir_callback_results_total{hook="on_publish",result="refused"}'] >= 2, m
    assert m['weir_callback_results_total{hook="on_publish",result="failed_closed"}'] >= 1, m


def test_play_decisions_and_failures(env):
    s, rx, d = env
    assert flv_status(s, "/cb/live1.flv?cb=ok")[0] == 200
    assert flv_status(s, "/cb/live1.flv?cb=deny")[0] == 403
    for what in ("five", "redir", "garbage"):
        assert flv_status(s, f"/cb/live1.flv?cb={what}")[0] == 503, what
    st, took = flv_status(s, "/cb/live1.flv?cb=hang")
    assert st == 503 and 0.8 <= took < 3.5, (st, took)
    # fail_open: a failed callback allows; a refusal still refuses.
    assert flv_status(s, "/cbopen/live2.flv?cb=garbage")[0] == 200
    assert flv_status(s, "/cbopen/live2.flv?cb=deny")[0] == 403
    c = rx.of(action="play", app="cb", protocol="http-flv")[0]
    assert c["_sig_ok"] and c["_path"] == "/play" and c["stream"] == "live1", c
    # RTMP play: refused, then allowed.
    out = d / "rtmp-play.flv"
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i",
                   s.rtmp_url("cb", "live1", query="cb=deny"), "-t", "1", "-c", "copy", str(out)], timeout=30)
    assert r.returncode != 0
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i",
                   s.rtmp_url("cb", "live1", query="cb=ok"), "-t", "1", "-c", "copy", str(out)], timeout=30)
    assert r.returncode == 0, r.stderr
    assert rx.of(action="play", protocol="rtmp", stream="live1")
    # HLS: the playlist asks once per client and stream within cache_ms; its
    # segments are not asked.
    before = len(rx.of(action="play", protocol="hls-playlist"))
    for _ in range(3):
        assert httpc.get(s.http_addr, "/cb/live1.m3u8?cb=ok", timeout=20).status == 200
    assert len(rx.of(action="play", protocol="hls-playlist")) == before + 1
    m = s.metrics()

    def n(hook, result):
        return m[f'weir_callback_results_total{{hook="{hook}",result="{result}"}}']

    assert n("on_play", "refused") >= 3 and n("on_play", "failed_closed") >= 4 and n("on_play", "failed_open") >= 1
    assert n("on_publish", "allowed") >= 2


def test_play_decisions_on_ws_flv_ts_srt_and_llhls(env):
    s, rx, d = env
    # WS-FLV: a refusal answers the upgrade 403; allowed, FLV in binary frames.
    ws = WsClient(s.http_addr, "/cb/live1.flv?cb=deny")
    assert ws.status == 403, ws.status
    ws.shutdown()
    ws = WsClient(s.http_addr, "/cb/live1.flv?cb=ok")
    try:
        assert ws.status == 101 and ws.accept_ok, ws.status
        parser, tags = FlvParser(), []
        while not any(t.is_video for t in tags):
            _, op, payload = ws.recv_frame()
            assert op == BINARY, op
            tags += parser.feed(payload)
    finally:
        ws.shutdown()
    # HTTP MPEG-TS: 403; allowed, ffprobe reads H.264 from it.
    assert flv_status(s, "/cb/live1.ts?cb=deny")[0] == 403
    r = media.run([media.FFPROBE, "-v", "error", "-of", "json", "-show_streams", "-rw_timeout", "10000000",
                   s.http_url("/cb/live1.ts?cb=ok")], timeout=40)
    assert r.returncode == 0 and '"codec_name": "h264"' in r.stdout, r.stderr[-1500:]
    # SRT play: the callback answers after libsrt's synchronous listen
    # callback, so a refused player is accepted, then closed before any byte.
    rep = S.probe(s, S.streamid(app="cb", stream="live1", mode="request", cb="deny"), recv=2)
    assert rep["received"] == 0 and rep.get("reject_code") is None, rep
    s.wait_log(r"srt #\d+ 127\.0\.0\.1:\d+: .*play refused: on_play refused by the callback \(HTTP 403\)")
    rep = S.probe(s, S.streamid(app="cb", stream="live1", mode="request", cb="ok"), recv=1.5)
    assert rep["connected"] and rep["received"] > 0 and rep["whole_ts_messages"], rep
    # HLS and LL-HLS playlists (on cbopen, whose playlists no other test
    # loaded: the cache holds no allow yet): refused, then allowed; segments
    # and parts are not asked.
    assert httpc.get(s.http_addr, "/cbopen/live2.m3u8?cb=deny", timeout=20).status == 403
    assert httpc.get(s.http_addr, "/cbopen/live2/llhls.m3u8?cb=deny", timeout=20).status == 403
    r = httpc.get(s.http_addr, "/cbopen/live2/llhls.m3u8?cb=ok", timeout=20)
    body = r.body.decode()
    assert r.status == 200 and "#EXT-X-PART:" in body, (r.status, body[:500])
    part = next(parse_attrs(x.split(":", 1)[1])["URI"] for x in body.splitlines() if x.startswith("#EXT-X-PART:"))
    r = httpc.get(s.http_addr, "/cbopen/live2.m3u8?cb=ok", timeout=20)  # the allow above, cached
    assert r.status == 200, r.status
    seg = [x for x in r.body.decode().splitlines() if x and not x.startswith("#")][-1]
    asked = len(rx.calls)
    assert httpc.get(s.http_addr, f"/cbopen/live2/{part}?cb=deny", timeout=10).status == 200
    assert httpc.get(s.http_addr, f"/cbopen/{seg}?cb=deny", timeout=10).status == 200
    assert len(rx.calls) == asked, rx.calls[asked:]

    def asked_for(protocol, app="cb"):
        return sorted(c["params"]["cb"] for c in rx.of(action="play", app=app, protocol=protocol) if c["_sig_ok"])

    assert asked_for("ws-flv") == ["deny", "ok"]
    assert asked_for("http-ts") == ["deny", "ok"]
    assert asked_for("srt") == ["deny", "ok"]
    assert asked_for("hls-playlist", app="cbopen") == ["deny", "deny", "ok"]


def test_vod_plays_ask_the_callback_and_the_access_rules(env):
    """A recorded asset of an app with callbacks and access rules: its MP4 and
    HLS VOD are refused or allowed as a live play of its stream would be."""
    s, rx, d = env
    pub = media.start_publisher(s.rtmp_url("cbrec", "v"), d, "pub-rec", duration=3)
    assert pub.wait(30) == 0, pub.log()[-1000:]

    def ready():
        r = s.api_get("/api/v1/assets?app=cbrec&state=ready")
        items = json.loads(r.body)["items"] if r.status == 200 else []
        return items[0] if items else None

    aid = wait_until(ready, 60, "a ready asset of cbrec/v", interval=0.25)["id"]
    # Refused by the callback (nothing cached yet); then allowed, and
    # remembered for this client: the HLS VOD playlist and its segments
    # (even one asking "deny") do not call out again within cache_ms.
    r = s.get(f"/vod/{aid}.mp4?cb=deny")
    assert r.status == 403 and b"on_play refused by the callback (HTTP 403)" in r.body, (r.status, r.body[:200])
    r = s.get(f"/vod/{aid}.mp4?cb=ok")
    assert r.status == 200 and r.body[4:8] == b"ftyp", (r.status, r.body[:16])
    calls = rx.of(action="play", app="cbrec", protocol="vod")
    assert [c["params"]["cb"] for c in calls] == ["deny", "ok"] and all(c["_sig_ok"] for c in calls), calls
    assert calls[0]["stream"] == "v" and calls[0]["client_ip"] == "127.0.0.1", calls[0]
    r = s.get(f"/vod/{aid}/index.m3u8?cb=ok")
    assert r.status == 200 and b"#EXT-X-ENDLIST" in r.body, r.body[:300]
    seg = [x for x in r.body.decode().splitlines() if x and not x.startswith("#")][-1]
    assert s.get(f"/vod/{aid}/{seg}?cb=deny", read_body=False).status == 200
    assert len(rx.of(action="play", app="cbrec", protocol="vod")) == 2
    out = d / "vod.mp4"
    r = media.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i",
                   s.http_url(f"/vod/{aid}/index.m3u8?cb=ok"), "-c", "copy", str(out)], timeout=60)
    assert r.returncode == 0, r.stderr[-1500:]
    assert media.count_frames(out).get("video", 0) >= 60
    # The app's access rules: another address, a foreign page (before the callback).
    r = httpc.get(s.http_addr, f"/vod/{aid}.mp4?cb=ok", source="127.0.0.2")
    assert r.status == 403 and b"address 127.0.0.2 not allowed to play app cbrec" in r.body, (r.status, r.body[:200])
    r = s.get(f"/vod/{aid}.mp4?cb=ok", headers={"Referer": "https://evil.test/page"})
    assert r.status == 403 and b"Referer host 'evil.test' not allowed to play app cbrec" in r.body, r.body[:200]
    assert s.get(f"/vod/{aid}.mp4?cb=ok", headers={"Referer": "https://example.com/"}, read_body=False).status == 200
    assert len(rx.of(action="play", app="cbrec", protocol="vod")) == 2
    assert s.auth_denied("vod", "ip") == 1 and s.auth_denied("vod", "referer") == 1
