"""HTTP callbacks that decide publishes and plays (apps.<app>.callbacks),
against a real HTTP receiver started here: it records every request, checks
its Weir-Signature, and answers what the client's `cb` query parameter asks
for (ok, deny, five (500), redir (302), garbage (not HTTP), hang (answers
after the timeout)). RTMP and SRT publishers and RTMP, HTTP-FLV and HLS
players are refused or allowed accordingly; failures follow fail_open; HLS
reloads are answered from the cache; everything is counted."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from weirtest import httpc, media
from weirtest import srt as S
from weirtest.server import wait_until

SECRET = "callback-secret-0123456789"


class Receiver:
    def __init__(self):
        self.calls = []  # parsed bodies, with "_sig_ok"
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                j = json.loads(body)
                sig = self.headers.get("Weir-Signature", "")
                ok = False
                if sig:
                    t, v1 = (x.split("=", 1)[1] for x in sig.split(","))
                    want = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
                    ok = hmac.compare_digest(v1, want) and abs(int(t) - time.time()) < 60
                j["_sig_ok"] = ok
                j["_path"] = self.path
                with outer.lock:
                    outer.calls.append(j)
                what = j["params"].get("cb", "ok")
                if what == "garbage":
                    self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                if what == "hang":
                    time.sleep(4)
                code = {"ok": 204, "deny": 403, "five": 500, "redir": 302, "hang": 204}[what]
                self.send_response(code)
                if code == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of(self, **match):
        with self.lock:
            return [c for c in self.calls if all(c.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def env(weir_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("cb")
    rx = Receiver()
    cb = {"on_publish": rx.url + "/publish", "on_play": rx.url + "/play", "timeout_ms": 1000, "secret": SECRET,
          "cache_ms": 20000}
    s = weir_module({"apps": {"cb": {"callbacks": cb},
                              "cbopen": {"callbacks": dict(cb, fail_open=True)}}}, name="callbacks")
    pubs = [media.start_publisher(s.rtmp_url("cb", "live1", query="token=abc"), d, "pub1", duration=120),
            media.start_publisher(s.rtmp_url("cbopen", "live2"), d, "pub2", duration=120)]
    s.wait_stream("cb", "live1")
    s.wait_stream("cbopen", "live2")
    yield s, rx, d
    for p in pubs:
        p.stop()
    rx.httpd.shutdown()


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
