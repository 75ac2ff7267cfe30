"""Signed URLs (apps.<app>.sign): `weir sign` makes the URLs, real clients use
them on every protocol (ffmpeg publishing over RTMP with the token on the
stream name and on the app, over SRT with stream-id keys; ffprobe playing
RTMP, HTTP-FLV, .ts, SRT, HLS and LL-HLS), refusals are checked as each client
sees them (HTTP 403, RTMP status codes, SRT reject reasons 1401/1403) and in
/metrics, HLS segments need the playlist's session token, a viewer already
playing outlives its token, and the Tencent mode takes Python-made
signatures, and recorded assets of a signed app need a signed URL too (their
VOD playlist hands out session tokens). One server and one publisher serve
the module."""

import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
import urllib.parse

import pytest

from weirtest import media
from weirtest import srt as S
from weirtest.hls import parse_attrs
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient
from weirtest.server import clean_env, wait_until
from weirtest.ws import BINARY, WsClient

PUB_KEYS = "pub-primary-0001,pub-secondary-0002"
PLAY_KEYS = "play-primary-0001,play-secondary-0002"
TX_PUB, TX_PLAY = "txpushkey-1234", "txplaykey-5678"
CONFIG = {
    "apps": {
        "live": {"sign": {"publish_keys": PUB_KEYS, "play_keys": PLAY_KEYS, "hls_session_s": 5},
                 "reconnect_grace_ms": 0},
        "tx": {"sign": {"mode": "tencent", "publish_keys": TX_PUB, "play_keys": TX_PLAY}, "reconnect_grace_ms": 0},
        "open": {"reconnect_grace_ms": 0},
        "rec": {"sign": {"play_keys": PLAY_KEYS}, "reconnect_grace_ms": 0,
                "record": {"enabled": True, "segment_s": 2, "fragment_ms": 500, "resume_s": 0}},
    }
}


def token(key, direction, app, stream, expires, ip=None):
    """The documented token, computed independently of Weir."""
    msg = f"{direction}\n{app}\n{stream}\n{expires}" + (f"\n{ip}" if ip else "")
    return hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def session_token(key, app, stream, expires):
    msg = f"hls-session\n{app}\n{stream}\n{expires}"
    return f"{expires}." + hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def tx_query(key, stream, expires):
    tx_time = f"{expires:X}"
    return f"txSecret={hashlib.md5((key + stream + tx_time).encode()).hexdigest()}&txTime={tx_time}"


def sign(srv, app="live", stream="s", direction="play", ttl=None, extra=()):
    """`weir sign` against the server's config and bound ports: {name: url}."""
    env = {"WEIR_RTMP_LISTEN": srv.info["rtmp"], "WEIR_HTTP_LISTEN": srv.info["http"],
           "WEIR_SRT_LISTEN": srv.info["srt"]}
    args = [srv.binary, "sign", "-c", str(srv.config_path), "--app", app, "--stream", stream,
            "--direction", direction] + (["--ttl", str(ttl)] if ttl else []) + list(extra)
    r = subprocess.run(args, capture_output=True, text=True, timeout=10, env=clean_env(env))
    assert r.returncode == 0, f"weir sign failed ({r.returncode}): {r.stderr}"
    out = {}
    for line in r.stdout.splitlines():
        name, url = line.split(None, 1)
        out[name] = url
    return out


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def denied(srv, protocol, reason):
    return srv.metric(f'weir_auth_denied_total{{protocol="{protocol}",reason="{reason}"}}')


@pytest.fixture(scope="module")
def srv(weir_module):
    return weir_module(CONFIG)


@pytest.fixture(scope="module")
def live(srv, tmp_path_factory):
    """live/s published by ffmpeg over RTMP, token on the stream name (from `weir sign`)."""
    url = sign(srv, direction="publish")["rtmp"]
    assert re.fullmatch(r"rtmp://127\.0\.0\.1:\d+/live/s\?expires=\d+&token=[0-9a-f]{64}", url), url
    pub = media.start_publisher(url, tmp_path_factory.mktemp("pub"), duration=None)
    srv.wait_stream(name="s", pred=lambda i: i["video_frames"] >= 1)
    yield pub
    pub.stop()


def test_cli_prints_every_protocol_with_the_documented_token(srv):
    urls = sign(srv, ttl=600)
    assert set(urls) == {"rtmp", "srt", "http-flv", "ws-flv", "ts", "hls", "llhls"}, urls
    q = query_of(urls["http-flv"])
    exp = int(q["expires"])
    assert abs(exp - (time.time() + 600)) < 5
    assert q["token"] == token("play-primary-0001", "play", "live", "s", exp)
    for name in ("rtmp", "ws-flv", "ts", "hls", "llhls"):
        assert urls[name].endswith(f"?expires={exp}&token={q['token']}"), urls[name]
    assert urls["srt"].endswith(f"?streamid=#!::r=live/s,m=request,expires={exp},token={q['token']}"), urls["srt"]
    pub = sign(srv, direction="publish")
    assert set(pub) == {"rtmp", "srt"}
    assert query_of(pub["rtmp"])["token"] == token("pub-primary-0001", "publish", "live", "s",
                                                   int(query_of(pub["rtmp"])["expires"]))
    # An unsigned direction or app is an error, not an unsigned URL.
    r = subprocess.run([srv.binary, "sign", "-c", str(srv.config_path), "--app", "open", "--stream", "s"],
                       capture_output=True, text=True, timeout=10, env=clean_env())
    assert r.returncode == 1 and "apps.open.sign.play_keys is empty" in r.stderr, r.stderr


def _probe(url, fmt=None, extra=()):
    cmd = [media.FFPROBE, "-v", "error", "-of", "json", "-show_streams", "-analyzeduration", "1500000",
           "-rw_timeout", "10000000"] + list(extra)
    if fmt:
        cmd += ["-f", fmt]
    r = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=40)
    return r


def test_every_protocol_plays_with_its_signed_url(srv, live):
    urls = sign(srv)
    results = {}

    def run(name, url, extra=()):
        results[name] = _probe(url, extra=extra)

    threads = [threading.Thread(target=run, args=(n, urls[n])) for n in ("rtmp", "http-flv", "ts", "hls", "llhls")]
    threads.append(threading.Thread(target=run, args=("srt", urls["srt"])))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for name, r in results.items():
        assert r.returncode == 0, f"{name}: ffprobe failed: {r.stderr[-1500:]}"
        assert '"codec_name": "h264"' in r.stdout and '"width": 320' in r.stdout, f"{name}: {r.stdout[:800]}"
    assert set(results) == {"rtmp", "http-flv", "ts", "hls", "llhls", "srt"}
    # WS-FLV: FLV bytes in binary frames with the token; 403 on the upgrade without it.
    ws_url = urllib.parse.urlsplit(urls["ws-flv"])
    ws = WsClient(srv.http_addr, ws_url.path + "?" + ws_url.query)
    try:
        assert ws.status == 101 and ws.accept_ok, ws.status
        _, op, payload = ws.recv_frame()
        assert op == BINARY and payload[:3] == b"FLV", (op, payload[:16])
    finally:
        ws.shutdown()
    refused = WsClient(srv.http_addr, ws_url.path)
    assert refused.status == 403
    refused.shutdown()
    assert denied(srv, "ws-flv", "missing") >= 1


def test_publish_with_the_token_on_the_app_and_over_srt(srv, live, tmp_path):
    # RTMP, token on the app (OBS: server rtmp://HOST/live?expires=..&token=.., key s2).
    q = query_of(sign(srv, stream="s2", direction="publish")["rtmp"])
    host, port = srv.rtmp_addr
    app = f"live?expires={q['expires']}&token={q['token']}"
    args = media.publisher_args(f"rtmp://{host}:{port}/", duration=None)
    args[-1:-1] = ["-rtmp_app", app, "-rtmp_playpath", "s2"]
    pub = media.Proc(args, tmp_path, "app-token")
    # SRT, stream-id keys.
    srt_url = sign(srv, stream="s3", direction="publish")["srt"]
    assert ",m=publish,expires=" in srt_url
    spub = S.start_ts_publisher(srt_url, tmp_path, duration=None)
    try:
        srv.wait_stream(name="s2", pred=lambda i: i["video_frames"] >= 1)
        srv.wait_stream(name="s3", pred=lambda i: i["video_frames"] >= 1)
    finally:
        pub.stop()
        spub.stop()


def test_refusals_as_each_client_sees_them_and_counted(srv, live):
    exp = int(time.time()) + 600
    past = int(time.time()) - 30
    good = token("play-primary-0001", "play", "live", "s", exp)
    cases = [
        ("", "missing"),
        (f"expires={exp}&token={good[:40]}", "malformed"),
        (f"expires={past}&token={token('play-primary-0001', 'play', 'live', 's', past)}", "expired"),
        (f"expires={exp}&token={token('retired-key-000', 'play', 'live', 's', exp)}", "invalid"),
        (f"expires={exp}&token={token('play-primary-0001', 'play', 'live', 'other', exp)}", "invalid"),
    ]
    before = {r: denied(srv, "http-flv", r) for r in ("missing", "malformed", "expired", "invalid")}
    for q, reason in cases:
        r = srv.get("/live/s.flv" + ("?" + q if q else ""))
        assert r.status == 403, (q, r.status, r.body[:200])
    assert b"token expired" in srv.get(f"/live/s.ts?{cases[2][0]}").body
    assert srv.get(f"/live/s.flv?expires={exp}&token={good}", read_body=False).status == 200
    # The secondary key is accepted too (rotation).
    sec = token("play-secondary-0002", "play", "live", "s", exp)
    assert srv.get(f"/live/s.m3u8?expires={exp}&token={sec}").status == 200
    after = {r: denied(srv, "http-flv", r) for r in before}
    assert after["missing"] - before["missing"] == 1
    assert after["malformed"] - before["malformed"] == 1
    assert after["expired"] - before["expired"] == 1
    assert after["invalid"] - before["invalid"] == 2
    assert denied(srv, "http-ts", "expired") >= 1
    srv.wait_log(r"http-flv play of live/s by 127\.0\.0\.1:\d+ refused by signed-url: token expired 3\d s ago")
    assert "play-primary-0001" not in srv.log() and "pub-primary-0001" not in srv.log()

    # RTMP play and publish: the session's status codes.
    c = RtmpClient.open(srv.rtmp_addr)
    st = c.start_play("live", "s")
    assert st.status_code() == "NetStream.Play.StreamNotFound", st
    c.close()
    c = RtmpClient.open(srv.rtmp_addr)
    c.handshake()
    assert c.connect("live").command()[0] == "_result"
    sid = c.create_stream()
    st = c.publish(f"s9?expires={past}&token={token('pub-primary-0001', 'publish', 'live', 's9', past)}", sid)
    assert st.status_code() == "NetStream.Publish.BadName", st
    c.close()
    # A play token does not publish.
    c = RtmpClient.open(srv.rtmp_addr)
    c.handshake()
    c.connect("live")
    sid = c.create_stream()
    st = c.publish(f"s9?expires={exp}&token={token('play-primary-0001', 'play', 'live', 's9', exp)}", sid)
    assert st.status_code() == "NetStream.Publish.BadName", st
    c.close()
    assert denied(srv, "rtmp", "missing") >= 1 and denied(srv, "rtmp", "expired") >= 1
    assert denied(srv, "rtmp", "invalid") >= 1

    # SRT: reject reasons in the handshake.
    rep = S.probe(srv, "#!::r=live/s,m=request")
    assert not rep["connected"] and rep["reject_code"] == 1401, rep
    rep = S.probe(srv, f"#!::r=live/s,m=request,expires={exp},token=zz")
    assert not rep["connected"] and rep["reject_code"] == 1401, rep
    rep = S.probe(srv, f"#!::r=live/s,m=request,expires={past},token={token('play-primary-0001', 'play', 'live', 's', past)}")
    assert not rep["connected"] and rep["reject_code"] == 1403, rep
    rep = S.probe(srv, f"#!::r=live/s,m=request,expires={exp},token={sec[::-1]}")
    assert not rep["connected"] and rep["reject_code"] == 1403, rep
    # ...and an SRT publisher without a token, or with an expired one.
    rep = S.probe(srv, "#!::r=live/s9,m=publish")
    assert not rep["connected"] and rep["reject_code"] == 1401, rep
    rep = S.probe(srv, f"#!::r=live/s9,m=publish,expires={past},"
                       f"token={token('pub-primary-0001', 'publish', 'live', 's9', past)}")
    assert not rep["connected"] and rep["reject_code"] == 1403, rep
    # The log says why and masks the credential.
    srv.wait_log(r"srt 127\.0\.0\.1:\d+: refused '#!::r=live/s,m=request,expires=\d+,token=\*\*\*': token signed with "
                 r"none of the app's play keys \(reject code 1403\)")
    assert sec[::-1] not in srv.log()
    assert denied(srv, "srt", "missing") >= 1 and denied(srv, "srt", "malformed") >= 1
    assert denied(srv, "srt", "expired") >= 1 and denied(srv, "srt", "invalid") >= 1


def test_a_viewer_already_playing_outlives_its_token(srv, live):
    urls = sign(srv, ttl=2)
    flv_path = urllib.parse.urlsplit(urls["http-flv"])
    viewer = FlvViewer(srv.http_addr, flv_path.path + "?" + flv_path.query)
    viewer.start()
    q = query_of(urls["rtmp"])
    c = RtmpClient.open(srv.rtmp_addr)
    st = c.start_play("live", f"s?expires={q['expires']}&token={q['token']}")
    assert st.status_code() == "NetStream.Play.Start", st
    try:
        exp = int(q["expires"])
        wait_until(lambda: time.time() > exp + 1.5, 10, "token expiry")
        # Expired for newcomers...
        assert srv.get(flv_path.path + "?" + flv_path.query).status == 403
        # ...while both viewers keep receiving.
        n = len(viewer.snapshot())
        assert n > 0 and viewer.status == 200
        msgs, end = c.read_media(until=lambda m: len(m) >= 30, timeout=5)
        assert end == "until", (end, len(msgs))
        viewer.wait(lambda tags: len(tags) >= n + 30, 5, "FLV tags after the token expired")
        assert viewer.end is None
    finally:
        viewer.stop()
        c.close()


def test_an_hls_viewer_outlives_its_token_while_it_reloads(srv, live, tmp_path):
    """ffmpeg plays HLS for 8 s with a token valid 2 s: its playlist reloads
    go on (each within hls_session_s, 5 s here); the same URL used again
    after a longer pause is refused."""
    urls = sign(srv, ttl=2)
    exp = int(query_of(urls["hls"])["expires"])
    path = tmp_path / "hls.ts"
    r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-re", "-i", urls["hls"],
                        "-t", "8", "-c", "copy", "-f", "mpegts", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-1500:]
    assert time.time() > exp + 3, "ffmpeg finished before the token had expired"
    assert "403" not in r.stderr, r.stderr[-1500:]
    frames = media.count_frames(path)
    assert frames.get("video", 0) >= 8 * 25 - 10, frames
    split = urllib.parse.urlsplit(urls["hls"])
    denied_before = denied(srv, "hls-playlist", "expired")
    time.sleep(6)
    assert srv.get(split.path + "?" + split.query).status == 403
    assert denied(srv, "hls-playlist", "expired") == denied_before + 1


def _get_text(srv, path):
    r = srv.get(path)
    return r.status, r.body.decode(errors="replace"), r


def test_hls_segments_need_the_playlists_session_token(srv, live):
    q = query_of(sign(srv)["hls"])
    status, body, r = _get_text(srv, f"/live/s.m3u8?expires={q['expires']}&token={q['token']}")
    assert status == 200, body
    assert r.header("etag") is None  # per-viewer body: no shared ETag
    assert r.header("cache-control").startswith("private"), r.header("cache-control")  # no shared cache
    segs = [x for x in body.splitlines() if x and not x.startswith("#")]
    assert segs and all(re.fullmatch(r"s/seg\d+\.ts\?hs=\d+\.[0-9a-f]{64}", x) for x in segs), body
    seg = segs[-1]
    path, _, hs = seg.partition("?")
    assert srv.get(f"/live/{seg}").status == 200
    assert srv.get(f"/live/{path}").status == 403  # no session token
    old = session_token("play-primary-0001", "live", "s", int(time.time()) - 1)
    r = srv.get(f"/live/{path}?hs={old}")
    assert r.status == 403 and b"session token expired" in r.body, r.body
    forged = session_token("not-the-key-000", "live", "s", int(time.time()) + 60)
    assert srv.get(f"/live/{path}?hs={forged}").status == 403
    # The session token is the one Weir documents, made with the primary key.
    exp = int(hs.split("=")[1].split(".")[0])
    assert hs == "hs=" + session_token("play-primary-0001", "live", "s", exp)
    assert time.time() + 3 <= exp <= time.time() + 6  # hls_session_s: 5
    # A full token works for a segment as well.
    assert srv.get(f"/live/{path}?expires={q['expires']}&token={q['token']}").status == 200
    assert denied(srv, "hls-segment", "missing") >= 1 and denied(srv, "hls-segment", "expired") >= 1

    # LL-HLS: map, parts, segments and the preload hint carry it; blocking reloads keep working.
    assert srv.get("/live/s/llhls.m3u8").status == 403
    status, body, _ = _get_text(srv, f"/live/s/llhls.m3u8?expires={q['expires']}&token={q['token']}")
    assert status == 200, body
    uris = [parse_attrs(x.split(":", 1)[1])["URI"] for x in body.splitlines()
            if x.startswith(("#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:"))]
    uris += [x for x in body.splitlines() if x and not x.startswith("#")]
    assert uris and all("?hs=" in u for u in uris), body
    assert srv.get(f"/live/s/{uris[0]}").status == 200  # init segment
    part = next(u for u in uris if u.startswith("part"))
    assert srv.get(f"/live/s/{part}").status == 200
    assert srv.get(f"/live/s/{part.partition('?')[0]}").status == 403
    msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", body).group(1))
    n_segs = body.count("#EXTINF")
    status, body2, _ = _get_text(
        srv, f"/live/s/llhls.m3u8?_HLS_msn={msn + n_segs}&_HLS_part=0&expires={q['expires']}&token={q['token']}")
    assert status == 200 and "?hs=" in body2, body2

    # An unsigned app keeps the shared, cached playlist (with its ETag) untouched.
    opub = media.start_publisher(srv.rtmp_url("open", "o"), srv.workdir, name="open-pub", duration=None)
    try:
        srv.wait_stream(app="open", name="o", pred=lambda i: i["video_frames"] >= 1)
        status, body, r = _get_text(srv, "/open/o.m3u8")
        assert status == 200 and "hs=" not in body and r.header("etag"), body
    finally:
        opub.stop()


def test_signed_hls_and_llhls_play_end_to_end(srv, live, tmp_path):
    urls = sign(srv)
    out = {}

    def record(name):
        path = tmp_path / f"{name}.ts"
        r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", urls[name],
                            "-t", "4", "-c", "copy", "-f", "mpegts", str(path)],
                           capture_output=True, text=True, timeout=40)
        out[name] = (r, path)

    threads = [threading.Thread(target=record, args=(n,)) for n in ("hls", "llhls")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(45)
    for name, (r, path) in out.items():
        assert r.returncode == 0, f"{name}: {r.stderr[-1500:]}"
        frames = media.count_frames(path)
        assert frames.get("video", 0) >= 75, f"{name}: {frames}"  # 4 s at 25 fps, minus a little


def test_tencent_mode_takes_python_signatures(srv, tmp_path):
    exp = int(time.time()) + 600
    url = srv.rtmp_url("tx", "t", query=tx_query(TX_PUB, "t", exp))
    pub = media.start_publisher(url, tmp_path, duration=None)
    try:
        srv.wait_stream(app="tx", name="t", pred=lambda i: i["video_frames"] >= 1)
        assert srv.get(f"/tx/t.flv?{tx_query(TX_PLAY, 't', exp)}", read_body=False).status == 200
        # weir sign prints the same signature.
        cli = query_of(sign(srv, app="tx", stream="t")["http-flv"])
        t = int(cli["txTime"], 16)
        assert cli["txTime"] == f"{t:X}" and f"txSecret={cli['txSecret']}&txTime={cli['txTime']}" == tx_query(TX_PLAY, "t", t)
        for q, reason in [("", "missing"), (tx_query(TX_PUB, "t", exp), "invalid"),
                          (tx_query(TX_PLAY, "t", exp - 1200), "expired"), (f"txSecret=abc&txTime={exp:X}", "malformed")]:
            before = denied(srv, "http-flv", reason)
            assert srv.get(f"/tx/t.flv?{q}").status == 403, q
            assert denied(srv, "http-flv", reason) == before + 1, reason
    finally:
        pub.stop()


def test_vod_assets_of_a_signed_app_need_a_signed_url(srv, tmp_path):
    pub = media.start_publisher(srv.rtmp_url("rec", "v"), tmp_path, duration=3)
    assert pub.wait(30) == 0, pub.log()

    def ready():
        r = srv.api_get("/api/v1/assets?app=rec&state=ready")
        items = json.loads(r.body)["items"] if r.status == 200 else []
        return items[0] if items else None

    asset = wait_until(ready, 60, "a ready asset of rec/v", interval=0.25)
    aid = asset["id"]
    q = query_of(sign(srv, app="rec", stream="v")["http-flv"])
    tq = f"expires={q['expires']}&token={q['token']}"
    before = denied(srv, "vod", "missing")
    assert srv.get(f"/vod/{aid}.mp4").status == 403
    assert denied(srv, "vod", "missing") == before + 1
    bad = token("play-primary-0001", "play", "rec", "other", int(q["expires"]))
    assert srv.get(f"/vod/{aid}.mp4?expires={q['expires']}&token={bad}").status == 403
    r = srv.get(f"/vod/{aid}.mp4?{tq}")
    assert r.status == 200 and r.header("cache-control").startswith("private"), r
    status, body, _ = _get_text(srv, f"/vod/{aid}/index.m3u8?{tq}")
    assert status == 200 and "#EXT-X-ENDLIST" in body, body
    uris = [parse_attrs(x.split(":", 1)[1])["URI"] for x in body.splitlines() if x.startswith("#EXT-X-MAP:")]
    uris += [x for x in body.splitlines() if x and not x.startswith("#")]
    assert uris and all(re.search(r"\?hs=\d+\.[0-9a-f]{64}$", u) for u in uris), body
    assert srv.get(f"/vod/{aid}/{uris[-1].partition('?')[0]}").status == 403
    # The whole signed VOD plays with ffmpeg.
    out = tmp_path / "vod.mp4"
    r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i",
                        srv.http_url(f"/vod/{aid}/index.m3u8?{tq}"), "-c", "copy", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-1500:]
    assert media.count_frames(out).get("video", 0) >= 70
