"""RTMPS and HTTPS (OpenSSL) with a self-signed certificate made by the test:
ffmpeg pushes RTMPS and plays it back over RTMPS; the same stream plays over
plain RTMP and over HTTPS (HTTP-FLV, WS-FLV over wss://, the HLS playlist and
a segment), checked against the certificate; the admin API serves HTTPS only
with api.tls; a client that speaks no TLS to the RTMPS port is closed with a
log line while the stream goes on; a config that asks for TLS without a
certificate is refused. Weir as a TLS client: events and an on_publish
callback to https:// receivers, verified against the CA store that
SSL_CERT_FILE names; a receiver whose certificate is not trusted fails."""

import json
import socket
import ssl
import subprocess
import time

import pytest

from weirtest import media
from weirtest.flv import FlvParser
from weirtest.receiver import Receiver
from weirtest.server import wait_until
from weirtest.ws import BINARY, WsClient
from test_cli import run_weir


def make_cert(d, cn="weir-test"):
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem) in `d`."""
    key, crt = d / "key.pem", d / "cert.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(crt), "-days", "2", "-subj", f"/CN={cn}",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return crt, key


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("tls"))


def addr(s, key):
    host, _, port = s.info[key].rpartition(":")
    return host, int(port)


def https_get(a, path, ca, timeout=10, limit=None):
    """GET over TLS, verifying the server against `ca`; (status, headers, body)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(a, timeout=timeout) as raw, ctx.wrap_socket(raw, server_hostname=a[0]) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {a[0]}:{a[1]}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (limit is None or len(data) < limit):
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def test_rtmps_push_and_play_https_and_api_over_tls(weir, cert, tmp_path):
    crt, key = cert
    s = weir({"tls": {"cert_file": str(crt), "key_file": str(key)},
              "rtmps": {"listen": "127.0.0.1:0"}, "https": {"listen": "127.0.0.1:0"},
              "api": {"tls": True}})
    rtmps = addr(s, "rtmps")
    url = f"rtmps://{rtmps[0]}:{rtmps[1]}/live/tls"
    pub = media.start_publisher(url, tmp_path, "pub", duration=30, bitrate="1500k", size="640x360")
    try:
        # The admin API answers HTTPS only.
        api = s.api_addr
        st, _, body = https_get(api, "/api/v1/version", crt)
        assert st == 200 and json.loads(body)["version"], body
        with socket.create_connection(api, timeout=5) as plain:
            plain.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n")
            plain.settimeout(5)
            try:
                got = plain.recv(4096)
            except ConnectionResetError:
                got = b""
        assert not got.startswith(b"HTTP/1.1 200"), got[:100]
        wait_until(lambda: json.loads(https_get(api, "/api/v1/streams/live/tls", crt)[2] or b"{}").get("live"), 15,
                   "the RTMPS publisher to go live")

        # Play over RTMPS and over plain RTMP: the same stream.
        out_tls, out_plain = tmp_path / "rtmps.flv", tmp_path / "rtmp.flv"
        readers = [media.Proc([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", u,
                               "-t", "4", "-c", "copy", str(o)], tmp_path, n)
                   for u, o, n in ((url, out_tls, "play-rtmps"), (s.rtmp_url("live", "tls"), out_plain, "play-rtmp"))]
        # A client that speaks no TLS to the RTMPS port is closed; the rest go on.
        with socket.create_connection(rtmps, timeout=5) as bad:
            bad.sendall(b"\x03" + b"\x00" * 1536)
            bad.settimeout(10)
            try:
                while bad.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        s.wait_log(r"rtmp #\d+ 127\.0\.0\.1:\d+: closed: TLS: ")
        assert s.metric('weir_handshake_failures_total{protocol="rtmps",reason="tls"}') >= 1
        for p in readers:
            assert p.wait(30) == 0, p.log()[-1500:]
        for o in (out_tls, out_plain):
            v = media.streams(o).get("video")
            assert v and v["codec_name"] == "h264" and (v["width"], v["height"]) == (640, 360), v
            frames = media.count_frames(o)
            assert frames["video"] >= 75 and frames.get("audio", 0) > 100, (o, frames)
            rc, err = media.decode_errors(o)
            assert rc == 0 and not err.strip(), err[-800:]

        # HTTPS: HTTP-FLV, the HLS playlist and its first segment.
        https = addr(s, "https")
        st, h, body = https_get(https, "/live/tls.flv", crt, timeout=4, limit=300000)
        assert st == 200 and h["content-type"] == "video/x-flv", h
        tags = FlvParser().feed(body)
        assert any(t.is_video for t in tags), "no video over HTTPS-FLV"
        # WS-FLV over wss://: the upgrade and the FLV bytes in binary frames, over TLS.
        ws = WsClient(https, "/live/tls.flv", ssl_context=ssl.create_default_context(cafile=str(crt)))
        try:
            assert ws.status == 101 and ws.accept_ok, ws.status
            parser, tags, first = FlvParser(), [], None
            while not (any(t.is_keyframe for t in tags) and any(t.is_audio for t in tags)):
                _, op, payload = ws.recv_frame()
                assert op == BINARY, op
                first = first or payload
                tags += parser.feed(payload)
            assert first[:3] == b"FLV" and any(t.is_avc_seq_header for t in tags), first[:16]
        finally:
            ws.shutdown()
        st, _, pl = https_get(https, "/live/tls.m3u8", crt)
        assert st == 200 and pl.startswith(b"#EXTM3U"), pl[:200]
        seg = next(x for x in pl.decode().splitlines() if x and not x.startswith("#"))
        st, _, ts = https_get(https, "/live/" + seg if not seg.startswith("/") else seg, crt, timeout=10)
        assert st == 200 and ts[:1] == b"\x47" and len(ts) > 10000, (st, ts[:20])
        # HTTPS: MPEG-TS, the LL-HLS playlist and a part.
        st, h, ts = https_get(https, "/live/tls.ts", crt, timeout=3, limit=200000)
        assert st == 200 and ts[:1] == b"\x47" and ts[188:189] == b"\x47", (st, h, ts[:20])
        st, _, pl = https_get(https, "/live/tls/llhls.m3u8", crt, timeout=15)
        parts = [x.split('URI="', 1)[1].split('"', 1)[0] for x in pl.decode().splitlines() if x.startswith("#EXT-X-PART:")]
        assert st == 200 and parts, pl[:300]
        st, _, part = https_get(https, "/live/tls/" + parts[-1], crt, timeout=10)
        assert st == 200 and len(part) > 1000 and b"moof" in part[:64], (st, part[:40])
        # HTTPS refuses a client that speaks plain HTTP to it, and counts it.
        with socket.create_connection(https, timeout=5) as plain:
            plain.sendall(b"GET /live/tls.flv HTTP/1.1\r\nHost: x\r\n\r\n")
            plain.settimeout(5)
            try:
                got = plain.recv(4096)
            except (ConnectionResetError, socket.timeout):
                got = b""
        assert not got.startswith(b"HTTP/1.1"), got[:100]
        wait_until(lambda: s.metric('weir_handshake_failures_total{protocol="https",reason="tls"}') >= 1, 5,
                   "the HTTPS TLS failure to be counted")
        assert pub.running(), pub.log()[-1000:]
    finally:
        pub.stop()


def test_events_and_callbacks_to_https_receivers(weir, cert, tmp_path):
    """Weir verifies https:// receivers against the system CA store, which
    OpenSSL reads from SSL_CERT_FILE (SSL_CTX_set_default_verify_paths): the
    test's certificate is trusted, another self-signed one is not."""
    crt, key = cert
    secret = "events-secret-0123456789"
    good = Receiver(secret, lambda body: 403 if body.get("params", {}).get("cb") == "deny" else 204, tls=(crt, key))
    bad = Receiver(secret, tls=make_cert(tmp_path, cn="weir-untrusted"))
    try:
        cb = {"on_publish": good.url + "/publish", "secret": secret, "timeout_ms": 3000}
        s = weir({"events": {"url": f"{good.url}/events,{bad.url}/events", "secret": secret, "max_attempts": 2},
                  "apps": {"live": {"callbacks": cb, "reconnect_grace_ms": 0},
                           "untrusted": {"callbacks": dict(cb, on_publish=bad.url + "/publish")}}},
                 env={"SSL_CERT_FILE": str(crt)})
        pub = media.start_publisher(s.rtmp_url("live", "s"), tmp_path, "pub", duration=30)
        try:
            s.wait_stream("live", "s", pred=lambda i: i["video_frames"] >= 1)
            # The on_publish callback over HTTPS allowed it, signed.
            [c] = good.of(action="publish", stream="s")
            assert c["_sig_ok"] and c["_path"] == "/publish" and c["protocol"] == "rtmp", c
            # ...and refuses over HTTPS too.
            no = media.start_publisher(s.rtmp_url("live", "no", query="cb=deny"), tmp_path, "pub-no", duration=5)
            assert no.wait(20) != 0, no.log()[-800:]
            assert good.of(action="publish", stream="no")[0]["params"]["cb"] == "deny"
            # A callback to a receiver whose certificate is not trusted fails (closed).
            un = media.start_publisher(s.rtmp_url("untrusted", "u"), tmp_path, "pub-untrusted", duration=5)
            assert un.wait(20) != 0, un.log()[-800:]
            assert s.stream_info("untrusted", "u") is None and not bad.of(action="publish")
            s.wait_log(r"callback: on_publish for rtmp publish of untrusted/u by .* failed: .*certificate verify failed")
            # stream.published reaches the trusted receiver over TLS, signed.
            ev = wait_until(lambda: good.events("stream.published", app="live", stream="s"), 15, "stream.published")
            assert ev[0]["_sig_ok"] and ev[0]["_path"] == "/events", ev[0]
            # The untrusted one gets nothing: each event fails after max_attempts (2).
            wait_until(lambda: s.metric("weir_events_failed_total") >= 1, 15, "an event counted failed")
            assert s.metric("weir_events_retries_total") >= 1
            assert not bad.calls
            assert s.metric('weir_callback_results_total{hook="on_publish",result="allowed"}') == 1
            assert s.metric('weir_callback_results_total{hook="on_publish",result="refused"}') == 1
            assert s.metric('weir_callback_results_total{hook="on_publish",result="failed_closed"}') == 1
            # The stream went on meanwhile.
            assert pub.running(), pub.log()[-1000:]
            before = s.stream_info("live", "s")["video_frames"]
            wait_until(lambda: s.stream_info("live", "s")["video_frames"] > before + 10, 5, "the stream to go on")
        finally:
            pub.stop()
    finally:
        good.close()
        bad.close()


def test_tls_needs_a_certificate(weir_bin, tmp_path, cert):
    conf = tmp_path / "w.yaml"
    conf.write_text("apps: {live: {}}\nrtmps: {listen: 127.0.0.1:0}\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(conf))
    assert r.returncode != 0 and "tls.cert_file" in r.stderr and "tls.key_file" in r.stderr, r.stderr
    conf.write_text("apps: {live: {}}\nhttps: {listen: nowhere}\ntls: {cert_file: a, key_file: b}\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(conf))
    assert r.returncode != 0 and "https.listen" in r.stderr, r.stderr
    # A certificate file that does not exist stops the start, naming it.
    missing = tmp_path / "missing.pem"
    conf.write_text(f"apps: {{live: {{}}}}\nrtmp: {{listen: 127.0.0.1:0}}\nhttp: {{listen: 127.0.0.1:0}}\n"
                    f"api: {{listen: 127.0.0.1:0}}\nsrt: {{enabled: false}}\n"
                    f"rtmps: {{listen: 127.0.0.1:0}}\ntls: {{cert_file: {missing}, key_file: {cert[1]}}}\n")
    r = run_weir(weir_bin, "-c", str(conf))
    assert r.returncode == 1 and str(missing) in r.stderr, r.stderr
