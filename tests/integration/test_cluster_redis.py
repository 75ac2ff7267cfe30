"""Cluster discovery through Redis (cluster.redis): origins record their live
streams in a real redis-server (Debian's package, started by each test on a
free loopback port and stopped by it); edges whose app has
upstream.discover look a stream up there before their static urls. A Redis
that is down, or one that accepts TCP and never answers, leaves the edge on
its static list within its usual time, never stalled.

The silent Redis is a hand-made stand-in: a Python socket that accepts
connections and never reads or answers (what a hung Redis looks like to a
client); everything else is real: weir processes, redis-server, redis-cli,
ffmpeg publishers and HTTP-FLV viewers."""

import shutil
import socket
import subprocess
import threading
import time

import pytest

from weirtest import media
from weirtest.httpc import FlvViewer, get
from weirtest.server import wait_until

from test_edge import free_port, video_frames, viewers_of

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class RedisServer:
    def __init__(self, tmp_path, password=None):
        self.port = free_port()
        self.password = password
        self.log = open(tmp_path / f"redis-{self.port}.log", "wb")
        extra = ["--requirepass", password] if password else []
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", *extra], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(tmp_path))
        wait_until(lambda: self.cli("PING") == "PONG", 10, "redis-server to answer PING")

    def cli(self, *args):
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        r = subprocess.run([REDIS_CLI, "-p", str(self.port), *auth, *args], capture_output=True, text=True,
                           timeout=10)
        return r.stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture
def redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server not installed (tools/dev.sh deps installs it)")
    r = RedisServer(tmp_path)
    yield r
    r.stop()


class SilentRedis:
    """Accepts TCP connections and never answers (the hand-made stand-in)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)  # held open, never read, never answered

    def close(self):
        self.stopped = True
        for c in self.conns:
            c.close()
        self.sock.close()


def redis_cfg(port, **kw):
    r = {"address": "127.0.0.1:%d" % port, "ttl_ms": 6000, "timeout_ms": 300}
    r.update(kw)
    return {"redis": r}


def origin(weir, name, redis_port, explicit_url=False, env=None):
    """An origin recording its streams in Redis. Its RTMP port is chosen
    first so the advertised URL names it: derived from rtmp.listen, or given
    as advertise_url."""
    port = free_port()
    tmpl = "rtmp://127.0.0.1:%d/{app}/{stream}" % port
    extra = {"advertise_url": tmpl} if explicit_url else {}
    cfg = {"workers": 2, "cluster": redis_cfg(redis_port, **extra),
           "apps": {"live": {"play_wait_ms": 0, "reconnect_grace_ms": 500, "hls": {"enabled": False}}}}
    s = weir(cfg, env={"WEIR_RTMP_LISTEN": "127.0.0.1:%d" % port, **(env or {})}, name=name)
    assert s.rtmp_addr == ("127.0.0.1", port)
    return s, tmpl


def edge(weir, name, redis_port, urls=(), advertise=False, **redis_kw):
    up = {"discover": True, "connect_timeout_ms": 1000, "stall_timeout_ms": 2000, "backoff_ms": 200,
          "backoff_max_ms": 1000, "idle_ms": 1500}
    if urls:
        up["urls"] = list(urls)
    env = None
    cluster = redis_cfg(redis_port, advertise=advertise, **redis_kw)
    if advertise:
        port = free_port()
        env = {"WEIR_RTMP_LISTEN": "127.0.0.1:%d" % port}
    cfg = {"workers": 2, "cluster": cluster,
           "apps": {"live": {"reconnect_grace_ms": 2000, "upstream": up, "hls": {"enabled": False}}}}
    return weir(cfg, env=env, name=name)


def play_through_fallback(e, what):
    """Plays live/s from edge `e`; returns the viewer once 25 frames came,
    after checking the first came within 3 s of the request."""
    t0 = time.monotonic()
    v = FlvViewer(e.http_addr, "/live/s.flv")
    v.start()
    v.wait(lambda t: len(video_frames(t)) >= 1, 5, "a first video frame " + what)
    first = time.monotonic() - t0
    print(f"\nfirst frame {first:.2f} s after the request {what}")
    assert first < 3.0
    v.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames")
    return v


def test_edge_finds_streams_on_two_origins_through_redis(weir, redis, tmp_path):
    a, tmpl_a = origin(weir, "origin_a", redis.port)  # advertised URL derived from rtmp.listen
    b, tmpl_b = origin(weir, "origin_b", redis.port, explicit_url=True)
    pa = media.start_publisher(a.rtmp_url(stream="sa"), tmp_path, "pub_a", duration=None, size="320x240", gop=25)
    pb = media.start_publisher(b.rtmp_url(stream="sb"), tmp_path, "pub_b", duration=None, size="320x240", gop=25)
    a.wait_stream(name="sa", pred=lambda i: i["video_frames"] >= 5)
    b.wait_stream(name="sb", pred=lambda i: i["video_frames"] >= 5)

    # Each origin recorded its stream, with a TTL.
    wait_until(lambda: redis.cli("GET", "weir:live/sa") == tmpl_a, 5, "weir:live/sa to name origin A")
    assert redis.cli("GET", "weir:live/sb") == tmpl_b
    assert 0 < int(redis.cli("PTTL", "weir:live/sa")) <= 6000
    assert a.metric("weir_cluster_redis_up") == 1
    assert a.metric("weir_cluster_advertised_streams") == 1

    # An edge with no static urls plays both; it advertises itself but never a stream it pulls.
    e = edge(weir, "edge", redis.port, advertise=True)
    va, vb = FlvViewer(e.http_addr, "/live/sa.flv"), FlvViewer(e.http_addr, "/live/sb.flv")
    va.start()
    vb.start()
    va.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames of sa from origin A")
    vb.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames of sb from origin B")
    assert viewers_of(a, "sa") == 1, a.stream_info("live", "sa")
    assert viewers_of(b, "sb") == 1, b.stream_info("live", "sb")
    assert viewers_of(a, "sb") is None and viewers_of(b, "sa") is None
    e.wait_log("pulling from " + tmpl_a, timeout=2)
    e.wait_log("pulling from " + tmpl_b, timeout=2)
    assert e.metric('weir_cluster_lookups_total{result="found"}') == 2
    assert e.metric("weir_cluster_advertised_streams") == 0
    assert redis.cli("GET", "weir:live/sa") == tmpl_a and redis.cli("GET", "weir:live/sb") == tmpl_b

    # A stream nobody has: 404 at once after the lookup (no static urls to try).
    t0 = time.monotonic()
    r = get(e.http_addr, "/live/nobody.flv", timeout=10)
    assert r.status == 404 and b"discovery: no origin has it" in r.body, (r.status, r.body)
    assert time.monotonic() - t0 < 1.5

    # The key is refreshed while live (every ttl/3 = 2 s): 4 s on, it still has most of its 6 s.
    time.sleep(4)
    assert int(redis.cli("PTTL", "weir:live/sa")) > 3000

    # The stream ends (publisher gone, 0.5 s grace): its key is deleted, well before the TTL would do it.
    va.stop()
    vb.stop()
    pa.stop()
    t0 = time.monotonic()
    wait_until(lambda: redis.cli("EXISTS", "weir:live/sa") == "0", 3, "weir:live/sa to be deleted")
    took = time.monotonic() - t0
    print(f"\nkey deleted {took:.2f} s after the publisher stopped (grace 0.5 s, TTL left > 3 s)")
    assert redis.cli("GET", "weir:live/sb") == tmpl_b
    assert a.metric("weir_cluster_advertised_streams") == 0
    pb.stop()


def test_redis_with_a_password_origin_and_edge_authenticate_a_wrong_one_falls_back(weir, tmp_path):
    redis = RedisServer(tmp_path, password="pw with spaces")
    try:
        # The origin's password from the environment, the edge's from its config file.
        a, tmpl_a = origin(weir, "origin_pw", redis.port, env={"WEIR_CLUSTER_REDIS_PASSWORD": "pw with spaces"})
        pa = media.start_publisher(a.rtmp_url(stream="s"), tmp_path, "pub_pw", duration=None, size="320x240", gop=25)
        a.wait_stream(name="s", pred=lambda i: i["video_frames"] >= 5)
        wait_until(lambda: redis.cli("GET", "weir:live/s") == tmpl_a, 5, "weir:live/s recorded through AUTH")
        assert a.metric("weir_cluster_redis_up") == 1
        e = edge(weir, "edge_pw", redis.port, password="pw with spaces")
        v = FlvViewer(e.http_addr, "/live/s.flv")
        v.start()
        v.wait(lambda t: len(video_frames(t)) >= 25, 15, "25 video frames found through Redis with AUTH")
        v.stop()
        assert e.metric('weir_cluster_lookups_total{result="found"}') == 1
        # A wrong password: refused at AUTH (logged, never up); the static list serves meanwhile.
        bad = edge(weir, "edge_badpw", redis.port, urls=["rtmp://%s:%d/{app}/{stream}" % a.rtmp_addr],
                   password="wrong")
        bad.wait_log("AUTH refused", timeout=5)
        assert bad.metric("weir_cluster_redis_up") == 0
        w = play_through_fallback(bad, "with Redis refusing the password")
        w.stop()
        assert "pw with spaces" not in bad.log() and "pw with spaces" not in a.log()
        pa.stop()
    finally:
        redis.stop()


def test_redis_down_edges_fall_back_to_static_urls_or_404(weir, redis, tmp_path):
    a, tmpl_a = origin(weir, "origin_a", redis.port)
    pa = media.start_publisher(a.rtmp_url(stream="s"), tmp_path, "pub_a", duration=None, size="320x240", gop=25)
    a.wait_stream(name="s", pred=lambda i: i["video_frames"] >= 5)
    wait_until(lambda: redis.cli("EXISTS", "weir:live/s") == "1", 5, "weir:live/s to be recorded")
    redis.stop()
    a.wait_log("Redis at 127.0.0.1:%d unavailable" % redis.port, timeout=5)
    a.wait_metric("weir_cluster_redis_up", lambda v: v == 0)

    # Redis and a static list: plays from the list within its usual time.
    both = edge(weir, "edge_both", redis.port, urls=["rtmp://%s:%d/{app}/{stream}" % a.rtmp_addr])
    v = play_through_fallback(both, "with Redis down")
    assert viewers_of(a, "s") == 1
    both.wait_log("Redis unavailable", timeout=2)
    assert both.metric('weir_cluster_lookups_total{result="unavailable"}') >= 1
    assert both.metric("weir_cluster_redis_up") == 0
    v.stop()

    # Redis only: a 404 within the wait, naming the discovery, no stall.
    only = edge(weir, "edge_only", redis.port)
    t0 = time.monotonic()
    r = get(only.http_addr, "/live/s.flv", timeout=10)
    took = time.monotonic() - t0
    assert r.status == 404, (r.status, r.body)
    assert b"discovery: Redis unavailable" in r.body, r.body
    assert took < 2.0, f"404 after {took:.2f} s"
    only.wait_log("Redis unavailable", timeout=2)
    pa.stop()


def test_silent_redis_trips_the_deadline_and_the_static_list_is_used(weir, tmp_path):
    silent = SilentRedis()
    try:
        a = weir({"workers": 2, "apps": {"live": {"hls": {"enabled": False}}}}, name="origin_a")  # no Redis
        pa = media.start_publisher(a.rtmp_url(stream="s"), tmp_path, "pub_a", duration=None, size="320x240", gop=25)
        a.wait_stream(name="s", pred=lambda i: i["video_frames"] >= 5)
        e = edge(weir, "edge", silent.port, urls=["rtmp://%s:%d/{app}/{stream}" % a.rtmp_addr])
        wait_until(lambda: silent.conns, 5, "the edge to connect to the silent Redis")
        v = play_through_fallback(e, "with a silent Redis (deadline 0.3 s)")
        e.wait_log("no answer within 300 ms", timeout=2)
        assert e.metric('weir_cluster_lookups_total{result="unavailable"}') == 1
        assert e.metric("weir_cluster_redis_errors_total") >= 1
        assert viewers_of(a, "s") == 1
        v.stop()
        pa.stop()
    finally:
        silent.close()
