"""The admin API's clients (GET/DELETE /api/v1/clients, DELETE
/api/v1/streams/{app}/{stream}?block_s=N) and the client.connected /
client.disconnected events, with real ffmpeg publishers and players on RTMP,
SRT, HTTP-FLV and HTTP MPEG-TS, and a real WebSocket client for WS-FLV
(ffmpeg has no ws:// input)."""

import hashlib
import hmac
import json
import threading
import time

import pytest

from weirtest import media
from weirtest import srt as S
from weirtest.httpc import request
from weirtest.server import wait_until
from weirtest.ws import WsClient
from test_record import SECRET, Hooks

ADMIN = "admin-token-0123456789"
READER = "read-token-0123456789ab"


def call(s, method, path, token=ADMIN):
    r = request(s.api_addr, method, path, headers={"Authorization": f"Bearer {token}"}, timeout=20)
    body = json.loads(r.body) if r.body and r.header("content-type") == "application/json" else None
    return r, body


def clients(s, query=""):
    r, body = call(s, "GET", "/api/v1/clients" + (f"?{query}" if query else ""))
    assert r.status == 200, (r.status, body)
    return body


class WsReader(threading.Thread):
    """Plays /{app}/{stream}.flv over WebSocket, counting payload bytes until the server ends it."""

    def __init__(self, addr, path):
        super().__init__(daemon=True)
        self.ws = WsClient(addr, path)
        assert self.ws.status == 101 and self.ws.accept_ok, self.ws.status
        self.bytes = 0
        self.end = None
        self.start()

    def run(self):
        try:
            while True:
                _, op, payload = self.ws.recv_frame(timeout=30)
                if op == 0x8:
                    self.end = "close frame"
                    return
                self.bytes += len(payload)
        except Exception as e:  # noqa: BLE001 (any end is recorded)
            self.end = f"{type(e).__name__}: {e}"

    def stop(self):
        self.ws.shutdown()
        self.join(5)


@pytest.fixture(scope="module")
def srv(weir_module):
    hooks = Hooks()
    s = weir_module({"workers": 2, "api": {"token": ADMIN, "read_token": READER},
                     "events": {"url": hooks.url, "secret": SECRET},
                     "apps": {"live": {"reconnect_grace_ms": 0}}}, name="clients")
    s.api_token = ADMIN
    s.hooks = hooks
    yield s
    hooks.httpd.shutdown()


def test_clients_of_every_protocol_listed_paged_filtered_and_closed(srv, tmp_path):
    s = srv
    procs = []
    ws = None
    try:
        procs.append(media.start_publisher(s.rtmp_url(stream="ca"), tmp_path, "pub-rtmp", duration=None))
        procs.append(S.start_ts_publisher(S.srt_url(s, S.streamid(stream="cb")), tmp_path, "pub-srt", duration=None))
        s.wait_stream(name="ca", pred=lambda i: i["video_frames"] > 0)
        s.wait_stream(name="cb", pred=lambda i: i["video_frames"] > 0)
        rtmp_player = media.start_recorder(s.rtmp_url(stream="ca"), tmp_path / "p-rtmp.flv", tmp_path, "play-rtmp")
        flv_player = media.start_recorder(s.flv_url(stream="ca"), tmp_path / "p-flv.flv", tmp_path, "play-flv")
        srt_player = S.start_reader(S.srt_url(s, S.streamid(stream="cb", mode="request")), tmp_path / "p-srt.ts",
                                    tmp_path, "play-srt")
        ts_player = S.start_reader(s.http_url("/live/ca.ts"), tmp_path / "p-ts.ts", tmp_path, "play-ts")
        procs += [rtmp_player, flv_player, srt_player, ts_player]
        ws = WsReader(s.http_addr, "/live/ca.flv")

        want = {("rtmp", "publish", "ca"), ("srt", "publish", "cb"), ("rtmp", "play", "ca"), ("http-flv", "play", "ca"),
                ("srt", "play", "cb"), ("ws-flv", "play", "ca"), ("http-ts", "play", "ca")}
        page = wait_until(lambda: (lambda p: p if {(c["protocol"], c["role"], c["stream"]) for c in p["items"]} == want
                                   else None)(clients(s)), 20, "seven clients listed")
        items = page["items"]
        assert page["next_cursor"] is None and len(items) == 7, page
        for c in items:
            assert c["app"] == "live" and c["remote"].startswith("127.0.0.1:"), c
            assert 0 < len(c["id"]) <= 64 and c["id"].isalnum(), c
            assert c["started_at"].endswith("Z") and c["loop"] in (0, 1), c
        by_key = {(c["protocol"], c["role"]): c for c in items}

        # Byte counts grow: publishers' in, players' out.
        time.sleep(1.5)
        later = {c["id"]: c for c in clients(s)["items"]}
        for c in items:
            n = later[c["id"]]
            if c["role"] == "publish":
                assert n["bytes_in"] > c["bytes_in"], (c, n)
            else:
                assert n["bytes_out"] > c["bytes_out"], (c, n)
            assert n["duration_ms"] >= c["duration_ms"]

        # One client; filters; limit=1 walks every client once.
        r, one = call(s, "GET", f"/api/v1/clients/{by_key[('srt', 'play')]['id']}", token=READER)
        assert r.status == 200 and one["protocol"] == "srt" and one["stream"] == "cb", one
        def ids(q):
            return sorted(c["id"] for c in clients(s, q)["items"])
        assert ids("protocol=rtmp") == sorted([by_key[("rtmp", "publish")]["id"], by_key[("rtmp", "play")]["id"]])
        assert ids("role=publish") == sorted([by_key[("rtmp", "publish")]["id"], by_key[("srt", "publish")]["id"]])
        assert ids("app=live&stream=cb") == sorted([by_key[("srt", "publish")]["id"], by_key[("srt", "play")]["id"]])
        assert ids("protocol=ws-flv&role=play") == [by_key[("ws-flv", "play")]["id"]]
        assert len(ids("ip=127.0.0.1")) == 7 and ids("ip=10.1.2.3") == [] and ids("app=other") == []
        walked, cursor = [], None
        for _ in range(10):
            p = clients(s, "limit=1" + (f"&cursor={cursor}" if cursor else ""))
            assert len(p["items"]) == 1, p
            walked.append(p["items"][0]["id"])
            cursor = p["next_cursor"]
            if cursor is None:
                break
        assert len(walked) == 7 and len(set(walked)) == 7 and set(walked) == {c["id"] for c in items}, walked

        # Refusals: named fields, unknown ids, the read token, methods.
        for q, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"), ("cursor=%2B", "cursor"),
                         ("protocol=hls", "protocol"), ("role=watch", "role"), ("colour=red", "colour")):
            r, body = call(s, "GET", f"/api/v1/clients?{q}")
            assert r.status == 400 and body["error"]["field"] == field, (q, r.status, body)
        r, body = call(s, "GET", "/api/v1/clients/00000000ffffffffffffffff")
        assert r.status == 404 and body["error"]["code"] == "not_found", body
        r, body = call(s, "DELETE", "/api/v1/clients/00000000ffffffffffffffff")
        assert r.status == 404, body
        r, body = call(s, "GET", "/api/v1/clients/not.an.id")
        assert r.status == 400 and body["error"]["field"] == "id", body
        r, body = call(s, "DELETE", f"/api/v1/clients/{by_key[('http-flv', 'play')]['id']}", token=READER)
        assert r.status == 403 and body["error"]["code"] == "forbidden", body
        r, body = call(s, "PUT", "/api/v1/clients")
        assert r.status == 405 and "GET" in r.header("allow"), body

        # DELETE a player: its ffmpeg sees the connection end, the others go on.
        off = s.log_offset()
        victim = by_key[("http-flv", "play")]
        r, body = call(s, "DELETE", f"/api/v1/clients/{victim['id']}")
        assert r.status == 202 and body["id"] == victim["id"] and body["state"] == "closing", body
        flv_player.wait(15)
        s.wait_log(r"closed by the API", start=off)
        wait_until(lambda: victim["id"] not in {c["id"] for c in clients(s)["items"]}, 10, "deleted client unlisted")
        assert call(s, "GET", f"/api/v1/clients/{victim['id']}")[0].status == 404
        assert all(p.running() for p in procs if p is not flv_player), procs
        assert ws.end is None and rtmp_player.running() and srt_player.running()
        m = s.metrics()
        assert m['weir_clients{protocol="rtmp",role="play"}'] == 1 and m['weir_clients{protocol="http-flv",role="play"}'] == 0
        assert m['weir_clients{protocol="srt",role="publish"}'] == 1 and m['weir_clients{protocol="ws-flv",role="play"}'] == 1
        assert m['weir_clients{protocol="http-ts",role="play"}'] == 1

        # DELETE the WS-FLV viewer too: the socket ends.
        r, _ = call(s, "DELETE", f"/api/v1/clients/{by_key[('ws-flv', 'play')]['id']}")
        assert r.status == 202
        ws.join(10)
        assert ws.end is not None and ws.bytes > 0, ws.end

        # Events: connected for all seven, disconnected for the deleted ones, signed.
        for c in items:
            wait_until(lambda: s.hooks.of("client.connected", id=c["id"]), 20, f"client.connected {c['id']}")
            _, _, ev = s.hooks.of("client.connected", id=c["id"])[0]
            d = ev["data"]
            assert (d["protocol"], d["role"], d["app"], d["stream"], d["remote"]) == \
                (c["protocol"], c["role"], "live", c["stream"], c["remote"]), d
        wait_until(lambda: s.hooks.of("client.disconnected", id=victim["id"]), 20, "client.disconnected")
        headers, raw, ev = s.hooks.of("client.disconnected", id=victim["id"])[0]
        d = ev["data"]
        assert d["reason"] == "closed by the API" and d["bytes_out"] > 0 and d["duration_ms"] > 1000, d
        assert d["protocol"] == "http-flv" and d["role"] == "play" and d["stream"] == "ca" and "bytes_in" in d, d
        t, v1 = (x.split("=", 1)[1] for x in headers["Weir-Signature"].split(","))
        want_sig = hmac.new(SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(v1, want_sig), headers["Weir-Signature"]
    finally:
        if ws:
            ws.stop()
        for p in procs:
            p.stop()


def test_delete_stream_kicks_its_publisher_and_blocks_republishing(srv, tmp_path):
    s = srv
    pub = media.start_publisher(s.rtmp_url(stream="blk"), tmp_path, "pub-1", duration=None)
    procs = [pub]
    try:
        s.wait_stream(name="blk", pred=lambda i: i["video_frames"] > 0)
        [pc] = clients(s, "stream=blk&role=publish")["items"]
        r, body = call(s, "DELETE", "/api/v1/streams/live/blk?block_s=3", token=READER)
        assert r.status == 403, body
        for q in ("block_s=86401", "block_s=-1", "block_s=x", "block=3"):
            r, body = call(s, "DELETE", f"/api/v1/streams/live/blk?{q}")
            assert r.status == 400 and body["error"]["field"] in ("block_s", "block"), (q, body)
        r, body = call(s, "DELETE", "/api/v1/streams/live/nothing?block_s=3")
        assert r.status == 404 and body["error"]["code"] == "not_found", body

        off = s.log_offset()
        t0 = time.monotonic()
        r, body = call(s, "DELETE", "/api/v1/streams/live/blk?block_s=3")
        assert r.status == 200 and body["name"] == "blk" and body["live"] is False, body
        assert body["blocked_until"].endswith("Z"), body
        # Within the 3 s: a new publish is refused on RTMP and on SRT, at once.
        results = {}

        def rtmp_try():
            p = media.start_publisher(s.rtmp_url(stream="blk"), tmp_path, "pub-refused", duration=10)
            procs.append(p)
            results["rtmp_rc"] = p.wait(10)
            results["rtmp_t"] = time.monotonic() - t0

        def srt_try():
            results["srt"] = S.probe(s, S.streamid(stream="blk"), timeout=10)
            results["srt_t"] = time.monotonic() - t0

        threads = [threading.Thread(target=f) for f in (rtmp_try, srt_try)]
        for t in threads:
            t.start()
        # The kicked publisher's ffmpeg sees its connection end.
        pub.wait(10)
        for t in threads:
            t.join(15)
        assert results.get("rtmp_rc") not in (None, 0), results
        assert results["rtmp_t"] < 3, results
        assert not results["srt"]["connected"] and results["srt"]["reject_code"] == 1403, results
        assert results["srt_t"] < 3, results
        s.wait_log(r"rtmp #\d+ [^\n]*publish refused: blocked by the operator until 20", start=off)
        s.wait_log(r"srt 127\.0\.0\.1:\d+: refused [^\n]*blocked by the operator until [^\n]*\(reject code 1403\)",
                   start=off)
        s.wait_log(r"dropped by the API", start=off)
        # The kicked publisher's client is gone, with a disconnected event.
        assert call(s, "GET", f"/api/v1/clients/{pc['id']}")[0].status == 404
        wait_until(lambda: s.hooks.of("client.disconnected", id=pc["id"]), 20, "publisher's client.disconnected")
        d = s.hooks.of("client.disconnected", id=pc["id"])[0][2]["data"]
        assert d["role"] == "publish" and d["bytes_in"] > 0 and d["reason"] == "dropped by the API", d

        # After the 3 s, publishing works again.
        time.sleep(max(0.0, 3.3 - (time.monotonic() - t0)))
        pub2 = media.start_publisher(s.rtmp_url(stream="blk"), tmp_path, "pub-2", duration=None)
        procs.append(pub2)
        s.wait_stream(name="blk", pred=lambda i: i["live"] and i["video_frames"] > 0)
        assert pub2.running()
        # Without block_s the stream just ends; its publisher may come back at once.
        r, body = call(s, "DELETE", "/api/v1/streams/live/blk")
        assert r.status == 200 and body["blocked_until"] is None, body
        pub2.wait(10)
        pub3 = media.start_publisher(s.rtmp_url(stream="blk"), tmp_path, "pub-3", duration=None)
        procs.append(pub3)
        s.wait_stream(name="blk", pred=lambda i: i["live"] and i["video_frames"] > 0)
    finally:
        for p in procs:
            p.stop()
