"""Access rules (apps.<app>.access, limits.max_connections_per_ip) with real
clients: an app whose play_deny holds 127.0.0.1 refuses ffprobe over RTMP,
an SRT player (reject 1403), HTTP-FLV, .ts, HLS and LL-HLS playlists, an HLS
segment, an LL-HLS part and a WS-FLV upgrade (403), while an app without
rules plays; publish_allow 10.0.0.0/8 refuses ffmpeg pushing over RTMP and
SRT from 127.0.0.1; an IPv6 rule against a client on [::1]; the
Referer/Origin list for HTTP players (FLV, .ts, HLS and LL-HLS playlists, a
segment and a part, WS-FLV); the per-address connection cap across
listeners; a bad CIDR refused by --check-config naming the key. One ffmpeg
encoder feeds every live stream (tee muxer). (VOD assets: test_callbacks.py.)"""

import socket
import subprocess
import time

import pytest

from weirtest import media
from weirtest import srt as S
from weirtest.rtmp import RtmpClient
from weirtest.server import clean_env, wait_until
from weirtest.ws import BINARY, WsClient

CONFIG = {
    "apps": {
        "closed": {"access": {"play_deny": ["127.0.0.1", "2001:db8::/32"]}, "reconnect_grace_ms": 0},
        "open": {"reconnect_grace_ms": 0},
        "private": {"access": {"publish_allow": ["10.0.0.0/8"]}, "reconnect_grace_ms": 0},
        "web": {"access": {"referers": ["example.com", "*.example.com"]}, "reconnect_grace_ms": 0},
        # A comma-separated string works as a list too (what WEIR_* overrides set).
        "strict": {"access": {"referers": "*.example.com, player.test", "allow_empty_referer": False},
                   "reconnect_grace_ms": 0},
    }
}
LIVE_APPS = ("closed", "open", "web", "strict")


@pytest.fixture(scope="module")
def srv(weir_module):
    return weir_module(CONFIG)


@pytest.fixture(scope="module")
def live(srv, tmp_path_factory):
    """<app>/s for every app in LIVE_APPS, from one ffmpeg encoder (tee muxer):
    publishing from 127.0.0.1 is open on all of them."""
    host, port = srv.rtmp_addr
    outs = "|".join(f"[f=flv:onfail=ignore]rtmp://{host}:{port}/{app}/s" for app in LIVE_APPS)
    args = media.publisher_args(outs, duration=None, fmt="tee",
                                extra=["-map", "0:v", "-map", "1:a", "-flags:v", "+global_header",
                                       "-flags:a", "+global_header"])
    pub = media.Proc(args, tmp_path_factory.mktemp("pub"), "publisher")
    for app in LIVE_APPS:
        srv.wait_stream(app=app, name="s", pred=lambda i: i["video_frames"] >= 1)
    yield pub
    pub.stop()


def curl(srv, path, *headers):
    """HTTP status a real curl gets for `path` (a live FLV body is cut after
    2 s; a first playlist request may wait for the first segment)."""
    host, port = srv.http_addr
    max_time = 12 if path.endswith(".m3u8") else 2
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(max_time)]
    for h in headers:
        args += ["-H", h]
    r = subprocess.run(args + [f"http://{host}:{port}{path}"], capture_output=True, text=True, timeout=max_time + 10)
    return int(r.stdout or 0)


def ffprobe(url, timeout=30):
    return subprocess.run([media.FFPROBE, "-v", "error", "-of", "json", "-show_streams", "-rw_timeout", "8000000", url],
                          capture_output=True, text=True, timeout=timeout)


def test_play_deny_refuses_every_protocol_while_an_app_without_rules_plays(srv, live):
    host, port = srv.rtmp_addr
    before = {p: srv.auth_denied(p, "ip") for p in ("rtmp", "srt", "http-flv", "http-ts", "hls-playlist", "ws-flv",
                                                    "hls-segment", "hls-part")}
    # RTMP: ffprobe is refused; the status says why.
    r = ffprobe(f"rtmp://{host}:{port}/closed/s")
    assert r.returncode != 0, r.stdout
    c = RtmpClient.open(srv.rtmp_addr)
    st = c.start_play("closed", "s")
    assert st.status_code() == "NetStream.Play.StreamNotFound", st
    assert "address 127.0.0.1 not allowed to play app closed" in repr(st.command()), st.command()
    c.close()
    # SRT: refused in the handshake with 1403.
    rep = S.probe(srv, "#!::r=closed/s,m=request")
    assert not rep["connected"] and rep["reject_code"] == 1403, rep
    # HTTP: 403 for FLV, .ts and both HLS playlists, and for the WebSocket upgrade.
    for path in ("/closed/s.flv", "/closed/s.ts", "/closed/s.m3u8", "/closed/s/llhls.m3u8"):
        r = srv.get(path)
        assert r.status == 403, (path, r.status, r.body[:200])
        assert b"address 127.0.0.1 not allowed to play app closed" in r.body, r.body
    ws = WsClient(srv.http_addr, "/closed/s.flv")
    assert ws.status == 403
    ws.shutdown()

    # The same server plays the app without rules, on every protocol.
    r = ffprobe(f"rtmp://{host}:{port}/open/s")
    assert r.returncode == 0 and '"codec_name": "h264"' in r.stdout, r.stderr[-1000:]
    assert srv.get("/open/s.flv", read_body=False).status == 200
    r = srv.get("/open/s.m3u8")
    assert r.status == 200
    # An HLS segment and an LL-HLS part of the closed app (named as the open
    # app's, which the same encoder feeds) are refused as well.
    seg = [x for x in r.body.decode().splitlines() if x and not x.startswith("#")][-1]
    r = srv.get("/open/s/llhls.m3u8")
    part = [x.split('URI="', 1)[1].split('"', 1)[0] for x in r.body.decode().splitlines()
            if x.startswith("#EXT-X-PART:")][-1]
    assert srv.get(f"/open/s/{part}").status == 200
    for path in (f"/closed/{seg}", f"/closed/s/{part}"):
        r = srv.get(path)
        assert r.status == 403 and b"address 127.0.0.1 not allowed to play app closed" in r.body, (path, r.status)
    rep = S.probe(srv, "#!::r=open/s,m=request", recv=1.5)
    assert rep["connected"] and rep["received"] > 0, rep
    ws = WsClient(srv.http_addr, "/open/s.flv")
    try:
        assert ws.status == 101
        _, op, payload = ws.recv_frame()
        assert op == BINARY and payload[:3] == b"FLV"
    finally:
        ws.shutdown()
    # Publishing to the closed app is not refused (only playing is).
    assert srv.stream_info(app="closed", name="s")["video_frames"] > 0

    for p in before:
        assert srv.auth_denied(p, "ip") > before[p], p
    assert srv.auth_denied("http-flv", "ip") - before["http-flv"] == 1
    srv.wait_log(r"rtmp play of closed/s by 127\.0\.0\.1:\d+ refused by access: address 127\.0\.0\.1 not allowed "
                 r"to play app closed")
    srv.wait_log(r"srt 127\.0\.0\.1:\d+: refused '#!::r=closed/s,m=request': address 127\.0\.0\.1 not allowed to play "
                 r"app closed \(reject code 1403\)")


def test_publish_allow_refuses_pushes_from_other_addresses(srv, tmp_path):
    before_rtmp, before_srt = srv.auth_denied("rtmp", "ip"), srv.auth_denied("srt", "ip")
    host, port = srv.rtmp_addr
    pub = media.Proc(media.publisher_args(f"rtmp://{host}:{port}/private/s", duration=3), tmp_path, "rtmp-push")
    assert pub.wait(20) != 0, pub.log()
    srt_url = S.srt_url(srv, S.streamid(app="private", stream="s"))
    spub = S.start_ts_publisher(srt_url, tmp_path, duration=3)
    assert spub.wait(20) != 0, spub.log()
    rep = S.probe(srv, "#!::r=private/s,m=publish")
    assert not rep["connected"] and rep["reject_code"] == 1403, rep
    assert srv.get("/private/s.flv").status == 404  # never published
    assert srv.auth_denied("rtmp", "ip") > before_rtmp
    assert srv.auth_denied("srt", "ip") >= before_srt + 2
    srv.wait_log(r"refused by access: address 127\.0\.0\.1 not allowed to publish app private")


def test_referer_and_origin_lists_for_http_players(srv, live):
    evil, good = "Referer: https://evil.test/page", "Referer: https://www.example.com/watch"
    before = {p: srv.auth_denied(p, "referer") for p in ("http-flv", "hls-playlist", "ws-flv", "http-ts", "hls-part")}
    assert curl(srv, "/web/s.flv", evil) == 403
    assert curl(srv, "/web/s.m3u8", evil) == 403
    assert curl(srv, "/web/s.ts", evil) == 403
    assert curl(srv, "/web/s.flv", good) == 200
    assert curl(srv, "/web/s.m3u8", good) == 200
    assert curl(srv, "/web/s/llhls.m3u8", evil) == 403
    assert curl(srv, "/web/s/llhls.m3u8", good) == 200
    assert curl(srv, "/web/s.flv", "Referer: https://example.com/") == 200
    assert curl(srv, "/web/s.flv", "Origin: https://evil.example.org") == 403
    # No Referer: allowed by default, refused where allow_empty_referer is false.
    assert curl(srv, "/web/s.flv") == 200
    assert curl(srv, "/web/s.m3u8") == 200
    assert curl(srv, "/strict/s.flv") == 403
    assert curl(srv, "/strict/s.m3u8") == 403
    assert curl(srv, "/strict/s.flv", "Origin: null") == 403
    assert curl(srv, "/strict/s.flv", good) == 200
    assert curl(srv, "/strict/s.flv", "Referer: https://player.test/") == 200
    assert curl(srv, "/strict/s.flv", "Referer: https://example.com/") == 403  # *.example.com only
    r = srv.get("/web/s.flv", headers={"Referer": "https://evil.test/"})
    assert b"Referer host 'evil.test' not allowed to play app web" in r.body, r.body
    # A playlist admitted for the page hands out segments the page can fetch.
    r = srv.get("/web/s.m3u8", headers={"Referer": "https://www.example.com/"})
    seg = next(line for line in r.body.decode().splitlines() if line and not line.startswith("#"))
    seg_path = seg if seg.startswith("/") else "/web/" + seg
    assert curl(srv, seg_path, good) == 200
    assert curl(srv, seg_path, evil) == 403
    r = srv.get("/web/s/llhls.m3u8", headers={"Referer": "https://www.example.com/"})
    part = [x.split('URI="', 1)[1].split('"', 1)[0] for x in r.body.decode().splitlines()
            if x.startswith("#EXT-X-PART:")][-1]
    assert curl(srv, f"/web/s/{part}", good) == 200
    assert curl(srv, f"/web/s/{part}", evil) == 403

    # WS-FLV: the upgrade's Origin counts.
    ws = WsClient(srv.http_addr, "/web/s.flv", headers={"Origin": "https://evil.test"})
    assert ws.status == 403
    ws.shutdown()
    ws = WsClient(srv.http_addr, "/web/s.flv", headers={"Origin": "https://www.example.com"})
    try:
        assert ws.status == 101 and ws.accept_ok
        _, op, payload = ws.recv_frame()
        assert op == BINARY and payload[:3] == b"FLV"
    finally:
        ws.shutdown()
    # RTMP and SRT players send no Referer: not subject to it.
    c = RtmpClient.open(srv.rtmp_addr)
    assert c.start_play("strict", "s").status_code() == "NetStream.Play.Start"
    c.close()
    rep = S.probe(srv, "#!::r=strict/s,m=request", recv=1.5)
    assert rep["connected"] and rep["received"] > 0, rep

    assert srv.auth_denied("http-flv", "referer") - before["http-flv"] >= 5
    assert srv.auth_denied("hls-playlist", "referer") - before["hls-playlist"] == 3
    assert srv.auth_denied("ws-flv", "referer") - before["ws-flv"] == 1
    assert srv.auth_denied("http-ts", "referer") - before["http-ts"] == 1
    assert srv.auth_denied("hls-part", "referer") - before["hls-part"] == 1


def test_ipv6_rules_against_a_client_on_loopback_v6(weir):
    """HTTP on [::1] (IPv6 listeners are IPV6_V6ONLY: an IPv4-mapped client
    cannot reach one, so mapped matching is covered by the unit tests)."""
    s = weir({"apps": {"v6deny": {"access": {"play_deny": ["::1"]}},
                       "v4deny": {"access": {"play_deny": ["127.0.0.0/8", "::ffff:10.0.0.0/104"]}},
                       "v6range": {"access": {"play_allow": ["2001:db8::/32"]}},
                       "v6allow": {"access": {"play_allow": ["::1/128"]}}}},
             env={"WEIR_HTTP_LISTEN": "[::1]:0"})
    assert s.info["http"].startswith("[::1]:"), s.info
    assert s.http_addr[0] == "::1"
    host = {"Host": f"[::1]:{s.http_addr[1]}"}
    r = s.get("/v6deny/s.flv", headers=host)
    assert r.status == 403 and b"address ::1 not allowed to play app v6deny" in r.body, (r.status, r.body)
    r = s.get("/v6range/s.flv", headers=host)
    assert r.status == 403 and b"address ::1 not allowed to play app v6range" in r.body, (r.status, r.body)
    # Admitted (then 404: nothing is published there).
    assert s.get("/v4deny/s.flv", headers=host).status == 404
    assert s.get("/v6allow/s.flv", headers=host).status == 404
    assert s.auth_denied("http-flv", "ip") == 2


def _connect(addr):
    c = socket.create_connection(addr, timeout=5)
    c.settimeout(5)
    return c


def _closed_at_once(sock, within=2.0):
    """The server closed this connection without a word."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _keepalive_get(sock, path="/healthz"):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "connection closed"
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_max_connections_per_ip_across_listeners(weir):
    s = weir({"limits": {"max_connections_per_ip": 3}, "apps": {"live": {}}})
    # (Retried: the startup health check's connection may not be freed yet.)
    held = [wait_until(lambda: _try_keepalive(s.http_addr), 5, "a connection") for _ in range(3)]
    # A 4th connection from the same address is closed at once: HTTP, RTMP.
    fourth = _connect(s.http_addr)
    assert _closed_at_once(fourth)
    fourth.close()
    rtmp = _connect(s.rtmp_addr)
    assert _closed_at_once(rtmp)
    rtmp.close()
    # SRT is refused in the handshake.
    rep = S.probe(s, "#!::r=live/s,m=request")
    assert not rep["connected"] and rep["reject_code"] == 1402, rep
    # The admin API is exempt.
    assert s.api_get("/api/v1/streams").status == 200
    # The first three stay usable.
    for c in held:
        assert _keepalive_get(c) == 200
    # One closes: its slot is free again.
    held.pop().close()
    again = wait_until(lambda: _try_keepalive(s.http_addr), 5, "a new connection after one closed")
    held.append(again)
    assert _keepalive_get(again, "/metrics") == 200
    for c in held:
        c.close()
    wait_until(lambda: _refused_per_ip(s) >= 3, 5, "refusals counted")
    s.wait_log(r"refusing 127\.0\.0\.1:\d+: limits\.max_connections_per_ip \(3\) reached")
    s.wait_log(r"srt 127\.0\.0\.1:\d+: refused .*limits\.max_connections_per_ip \(3\) reached")


def _refused_per_ip(s):
    """weir_connections_refused_total{reason="per_ip"}, or -1 while our own
    closed connections still hold the address's slots (the request is refused)."""
    try:
        return s.metric('weir_connections_refused_total{reason="per_ip"}')
    except OSError:
        return -1


def _try_keepalive(addr):
    c = _connect(addr)
    try:
        if _keepalive_get(c) == 200:
            return c
    except (AssertionError, OSError):
        pass
    c.close()
    return None


def test_check_config_refuses_a_bad_cidr_naming_key_and_entry(weir_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("apps:\n  live:\n    access:\n      play_deny: [127.0.0.1, 10.0.0.1/8]\n")
    r = subprocess.run([str(weir_bin), "--check-config", "-c", str(path)], capture_output=True, text=True,
                       timeout=30, env=clean_env())
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "apps.live.access.play_deny" in out and "line 4" in out and "'10.0.0.1/8'" in out, out
    path.write_text("apps:\n  live:\n    access:\n      referers: [\"https://example.com/\"]\n")
    r = subprocess.run([str(weir_bin), "--check-config", "-c", str(path)], capture_output=True, text=True,
                       timeout=30, env=clean_env())
    assert r.returncode != 0 and "apps.live.access.referers" in r.stdout + r.stderr
