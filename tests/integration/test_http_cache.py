"""HLS and LL-HLS through a shared HTTP cache: Debian's nginx, configured with
the block that docs/http_cache.md shows (read from the doc, only the
addresses and the cache path substituted), in front of one Weir.

160 MPEG-TS players and 40 LL-HLS players (threads, keep-alive
http.client connections to nginx) play one stream for 12 s. Weir's own
request log (debug level: `http PEER "GET PATH" STATUS BYTES`) shows what
reached it: about one request per segment, part and blocking-reload URL, and
playlists about once per max-age, not once per player. Errors are not
cached: a 404 before the stream is published goes to Weir every time, and
turns into a 200 once it is published."""

import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from weirtest import hls, media

NGINX = "/usr/sbin/nginx"
DOC = Path(__file__).resolve().parents[2] / "docs" / "http_cache.md"
SEG_MS = 2000
PART_MS = 400
TS_PLAYERS = 160
LL_PLAYERS = 40
PLAY_S = 12.0

pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason=f"{NGINX} not installed")


def doc_block():
    """The nginx block of docs/http_cache.md (the one after its marker)."""
    text = DOC.read_text()
    marker = text.index("<!-- http-cache-config:")
    start = text.index("```nginx\n", marker) + len("```nginx\n")
    return text[start:text.index("```", start)]


def substitute(block, old, new):
    assert block.count(old) == 1, f"docs/http_cache.md: expected {old!r} once in the nginx block"
    return block.replace(old, new)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground, every path inside `workdir`."""

    def __init__(self, workdir, upstream):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        block = doc_block()
        block = substitute(block, "server 127.0.0.1:8080;", f"server {upstream[0]}:{upstream[1]};")
        block = substitute(block, "/var/cache/nginx/weir", str(self.dir / "cache"))
        block = substitute(block, "listen 80;", f"listen 127.0.0.1:{self.port};")
        d = self.dir
        temps = "\n".join(f"    {k}_temp_path {d / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = (("user root;\n" if os.geteuid() == 0 else "")
                + f"worker_processes 1;\npid {d / 'nginx.pid'};\nerror_log {d / 'error.log'} warn;\n"
                + "events { worker_connections 4096; }\n"
                + "http {\n"
                + "    log_format cache '$request_uri $status $upstream_cache_status';\n"
                + f"    access_log {d / 'access.log'} cache;\n{temps}\n"
                + block + "}\n")
        (d / "nginx.conf").write_text(conf)
        self.log = open(d / "stderr.log", "wb")
        self.proc = subprocess.Popen([NGINX, "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf"),
                                      "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, f"nginx exited {self.proc.returncode}: {self.errors()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"nginx not listening: {self.errors()}"
                time.sleep(0.05)

    def errors(self):
        out = ""
        for name in ("stderr.log", "error.log"):
            p = self.dir / name
            if p.exists():
                out += p.read_text(errors="replace")
        return out

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Player(threading.Thread):
    """One keep-alive connection to nginx; counts its requests and problems."""

    def __init__(self, port, deadline, seed):
        super().__init__(daemon=True)
        self.port = port
        self.deadline = deadline
        self.seed = seed
        self.conn = None
        self.requests = Counter()  # kind -> requests
        self.problems = []
        self.media_bytes = 0

    def get(self, path, kind):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                self.requests[kind] += 1
                return r.status, body
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                if attempt:
                    self.problems.append(f"GET {path}: {e!r}")
        return None, b""

    def run(self):
        try:
            self.play()
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.problems.append(f"{type(e).__name__}: {e}")
        finally:
            if self.conn:
                self.conn.close()


class TsPlayer(Player):
    """Reloads /live/s.m3u8 about every half target duration (jittered) and
    fetches every segment it has not fetched, starting with the newest two."""

    def play(self):
        fetched = set()
        rng_phase = (self.seed % 10) / 10.0
        time.sleep(rng_phase)
        while time.monotonic() < self.deadline:
            status, body = self.get("/live/s.m3u8", "playlist")
            if status != 200:
                self.problems.append(f"playlist: {status} {body[:100]!r}")
                time.sleep(0.5)
                continue
            pl = hls.Playlist(body.decode())
            todo = [sg for sg in pl.segments if sg.msn not in fetched]
            if not fetched:
                todo = todo[-2:]
            for sg in todo:
                status, data = self.get("/live/" + sg.uri, "segment")
                if status != 200 or not data or data[0] != 0x47:
                    self.problems.append(f"{sg.uri}: {status} {len(data)} bytes")
                self.media_bytes += len(data)
                fetched.add(sg.msn)
            time.sleep(0.5 + ((self.seed * 7 + len(fetched)) % 10) / 10.0)


class LlPlayer(Player):
    """LL-HLS: loads llhls.m3u8 and the init segment, then loops: GET the
    part of EXT-X-PRELOAD-HINT (held by Weir until it exists) and the
    blocking reload for that part (_HLS_msn/_HLS_part)."""

    def play(self):
        status, body = self.get("/live/s/llhls.m3u8", "ll-playlist")
        if status != 200:
            self.problems.append(f"llhls.m3u8: {status} {body[:100]!r}")
            return
        pl = hls.Playlist(body.decode())
        status, init = self.get("/live/s/" + pl.maps[-1]["URI"], "init")
        if status != 200 or not init:
            self.problems.append(f"init: {status}")
        while time.monotonic() < self.deadline:
            hint = pl.preload_hint
            if not hint:
                self.problems.append("no EXT-X-PRELOAD-HINT")
                return
            msn, part = hls.part_name(hint["URI"])
            status, data = self.get("/live/s/" + hint["URI"], "part")
            if status == 200:
                self.media_bytes += len(data)
            elif status != 404:  # 404: the segment was cut before this part existed
                self.problems.append(f"{hint['URI']}: {status}")
            status, body = self.get(f"/live/s/llhls.m3u8?_HLS_msn={msn}&_HLS_part={part}", "blocking")
            if status != 200:
                self.problems.append(f"blocking reload {msn}.{part}: {status} {body[:100]!r}")
                time.sleep(PART_MS / 1000)
                continue
            pl = hls.Playlist(body.decode())


REQ = re.compile(r'http \S+ "GET (\S+)" (\d{3}) ')


def weir_requests(s, start=0):
    """(path, status) of every request Weir logged, from character `start` of its log."""
    return [(m.group(1), int(m.group(2))) for m in REQ.finditer(s.log()[start:])]


def test_hls_through_nginx_cache(weir, tmp_path):
    s = weir({"log": {"level": "debug"},
              "apps": {"live": {"hls": {"segment_ms": SEG_MS, "part_ms": PART_MS, "ll": True}}}})
    ngx = Nginx(tmp_path / "nginx", s.http_addr)
    try:
        # Errors are not cached: a 404 for a stream not published reaches Weir
        # each time, says no-store, and becomes a 200 once the stream is there.
        for _ in range(2):
            status, headers, _ = ngx.get("/live/s.m3u8")
            assert status == 404, status
            assert headers.get("cache-control") == "no-store", headers
            assert headers.get("x-cache-status") != "HIT", headers
        status, headers, _ = ngx.get("/live/s/seg1.ts")
        assert status == 404 and headers.get("cache-control") == "no-store", (status, headers)
        errors_at_weir = sum(1 for p, st in weir_requests(s) if p == "/live/s.m3u8" and st == 404)
        assert errors_at_weir == 2, f"{errors_at_weir} of 2 uncached 404s reached Weir"

        pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=None, size="160x120", bitrate="150k",
                                    fps=25, gop=25)
        s.wait_stream(pred=lambda i: i["video_frames"] >= 25)
        deadline = time.monotonic() + 15
        while True:  # the first segment takes a segment duration
            status, headers, body = ngx.get("/live/s.m3u8")
            if status == 200:
                break
            assert time.monotonic() < deadline, f"playlist through nginx: {status} {body[:200]!r}"
            time.sleep(0.3)
        assert headers.get("cache-control") == "public, max-age=1", headers
        first = hls.Playlist(body.decode())
        seg = first.segments[-1]
        status, headers, _ = ngx.get("/live/" + seg.uri)
        assert status == 200 and headers.get("cache-control") == "public, max-age=86400, immutable", headers
        assert headers.get("etag") == f'"seg{seg.msn}.ts"', headers
        status, headers, _ = ngx.get("/live/" + seg.uri)
        assert status == 200 and headers.get("x-cache-status") == "HIT", headers
        r = hls.get(s, "/live/" + seg.uri, headers={"If-None-Match": f'"x", "seg{seg.msn}.ts"'})
        assert r.status == 304 and not r.body and r.header("etag") == f'"seg{seg.msn}.ts"', r.headers
        ll = hls.Playlist(ngx.get("/live/s/llhls.m3u8")[2].decode())
        msn, part = hls.part_name(ll.preload_hint["URI"])
        status, headers, _ = ngx.get(f"/live/s/llhls.m3u8?_HLS_msn={msn}&_HLS_part={part}")
        assert status == 200 and headers.get("cache-control") == "public, max-age=2", headers
        status, headers, _ = ngx.get(f"/live/s/llhls.m3u8?_HLS_msn={msn}&_HLS_part={part}")
        assert status == 200 and headers.get("x-cache-status") == "HIT", headers
        status, headers, _ = ngx.get(f"/live/s/llhls.m3u8?_HLS_msn={msn + 50}")  # beyond the edge: 400
        assert status == 400 and headers.get("cache-control") == "no-store", (status, headers)

        log_start = len(s.log())
        deadline = time.monotonic() + PLAY_S
        threading.stack_size(256 * 1024)
        players = [TsPlayer(ngx.port, deadline, i) for i in range(TS_PLAYERS)]
        players += [LlPlayer(ngx.port, deadline, i) for i in range(LL_PLAYERS)]
        for p in players:
            p.start()
        for p in players:
            p.join(PLAY_S + 30)
        assert not any(p.is_alive() for p in players), "players did not finish"
        pub.stop()

        problems = [f"{type(p).__name__}: {x}" for p in players for x in p.problems]
        asked = Counter()
        for p in players:
            asked.update(p.requests)
        at_weir = weir_requests(s, log_start)
        by_path = Counter(path for path, _ in at_weir)
        kinds = Counter()
        for path, n in by_path.items():
            kind = ("ts-playlist" if path == "/live/s.m3u8"
                    else "ll-playlist" if path == "/live/s/llhls.m3u8"
                    else "blocking" if "_HLS_msn" in path
                    else "segment" if re.search(r"/seg\d+\.ts$", path)
                    else "part" if re.search(r"/part\d+\.\d+\.m4s$", path)
                    else "init" if re.search(r"/init\d+\.mp4$", path) else "other")
            kinds[kind] += n
        total_asked = sum(asked.values())
        print(f"\nplayers: {TS_PLAYERS} MPEG-TS + {LL_PLAYERS} LL-HLS for {PLAY_S:.0f} s through nginx")
        print(f"player requests: {dict(asked)} = {total_asked}")
        print(f"Weir requests:   {dict(kinds)} = {sum(kinds.values())}")
        segs = {p: n for p, n in by_path.items() if re.search(r"/seg\d+\.ts$", p)}
        parts = {p: n for p, n in by_path.items() if re.search(r"/part\d+\.\d+\.m4s$", p)}
        blocking = {p: n for p, n in by_path.items() if "_HLS_msn" in p}
        print(f"segments: {len(segs)} URLs, at most {max(segs.values(), default=0)} Weir requests each; "
              f"parts: {len(parts)} URLs, at most {max(parts.values(), default=0)}; blocking reloads: "
              f"{len(blocking)} URLs, at most {max(blocking.values(), default=0)}")

        assert not problems, f"{len(problems)} player problems: {problems[:10]}"
        assert asked["segment"] >= TS_PLAYERS * 4, asked
        assert asked["blocking"] >= LL_PLAYERS * 10, asked
        assert segs and max(segs.values()) <= 2, f"segments fetched from Weir more than twice: {segs}"
        assert parts and max(parts.values()) <= 2, f"parts fetched from Weir more than twice: {parts}"
        assert blocking and max(blocking.values()) <= 2, \
            f"blocking reloads reached Weir more than twice per URL: {sorted(blocking.items())[:20]}"
        # max-age=1: about one reload per second (nginx keeps whole seconds),
        # far below the players' ~1.5 per second each.
        assert kinds["ts-playlist"] <= 2 * PLAY_S + 4, kinds
        assert kinds["ts-playlist"] * 20 < asked["playlist"], (kinds, asked)
        assert kinds["ll-playlist"] <= 2 * PLAY_S + 4, kinds
        assert sum(kinds.values()) * 10 < total_asked, (kinds, asked)
        assert kinds["other"] == 0, sorted(by_path)
    finally:
        ngx.stop()
