"""Config reload (SIGHUP and POST /api/v1/reload) with real clients: a play key
and the API token rotate while an HTTP-FLV viewer plays (it keeps playing, a
viewer with the old key is refused, one with the new key plays, the old API
token stops working); an app added by the reload takes a publisher; an invalid
config is refused whole with the key named and the running one stays; a
restart-only key is reported and kept; SIGHUP adds an HTTPS listener, the
certificate is re-read on the next reload (new TLS connections see the new
one while a viewer on the old one goes on), and removing the listener closes
it; a listen address in use refuses the reload. One server and one publisher
serve the module; each test starts from the module's first config (reloaded
back), so xdist may split the tests across workers."""

import copy
import hashlib
import hmac
import json
import signal
import socket
import ssl
import subprocess
import time

import pytest

from weirtest import httpc, media
from weirtest.httpc import FlvViewer
from weirtest.receiver import Receiver
from weirtest.server import to_yaml, wait_until

K1, K2 = "play-key-one-0001", "play-key-two-0002"
T1, T2 = "admin-token-one-0001", "admin-token-two-0002"
BASE = {
    "api": {"token": T1},
    "apps": {"live": {"sign": {"play_keys": K1}, "reconnect_grace_ms": 0}},
}


def play_token(key, app, stream, expires):
    msg = f"play\n{app}\n{stream}\n{expires}"
    return hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()


def signed(key, app="live", stream="s"):
    exp = int(time.time()) + 600
    return f"/{app}/{stream}.flv?expires={exp}&token={play_token(key, app, stream, exp)}"


def make_cert(d, name):
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(crt), "-days", "2", "-subj", f"/CN={name}",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return crt, key


def peer_cert(a):
    """The DER certificate a TLS server at `a` presents (not verified)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(a, timeout=10) as raw, ctx.wrap_socket(raw) as s:
        return s.getpeercert(binary_form=True)


def split(hostport):
    host, _, port = hostport.rpartition(":")
    return host, int(port)


class Ctl:
    """The module's server, its config file and its admin API."""

    def __init__(self, srv):
        self.srv = srv
        self.config = copy.deepcopy(srv.config)
        self.token = T1

    def write(self, change):
        change(self.config)
        self.srv.config_path.write_text(to_yaml(self.config) + "\n")

    def write_text(self, text):
        self.srv.config_path.write_text(text)

    def reset(self):
        """Back to the first config (and token), by a reload."""
        self.config = copy.deepcopy(self.srv.config)
        self.write(lambda c: None)
        status, body = self.reload()
        assert status == 200, body
        self.token = self.srv.api_token = T1

    def reload(self, token=None):
        r = httpc.request(self.srv.api_addr, "POST", "/api/v1/reload",
                          headers={"Authorization": f"Bearer {token or self.token}"}, timeout=20)
        return r.status, json.loads(r.body)


@pytest.fixture(scope="module")
def ctl(weir_module):
    srv = weir_module(BASE)
    srv.api_token = T1
    return Ctl(srv)


@pytest.fixture(autouse=True)
def _first_config(ctl):
    ctl.reset()


@pytest.fixture(scope="module")
def live(ctl, tmp_path_factory):
    pub = media.start_publisher(ctl.srv.rtmp_url("live", "s"), tmp_path_factory.mktemp("pub"), duration=None)
    ctl.srv.wait_stream("live", "s", pred=lambda i: i["video_frames"] >= 1)
    yield pub
    pub.stop()


def flv_status(srv, path):
    return httpc.get(srv.http_addr, path, timeout=10, read_body=False).status


def test_a_key_rotates_while_a_viewer_plays(ctl, live, tmp_path):
    s = ctl.srv
    assert flv_status(s, signed(K1)) == 200 and flv_status(s, signed(K2)) == 403
    viewer = FlvViewer(s.http_addr, signed(K1))
    viewer.start()
    try:
        assert viewer.started.wait(10) and viewer.status == 200
        wait_until(lambda: len(viewer.raw) > 20000, 10, "the viewer to receive media")

        def change(c):
            c["apps"]["live"]["sign"]["play_keys"] = K2
            c["apps"]["extra"] = {"reconnect_grace_ms": 0}
            c["api"]["token"] = T2
            c["log"] = {"level": "debug"}
            c["workers"] = 3  # read once at start
        gen0 = json.loads(httpc.get(s.api_addr, "/api/v1/config",
                                    headers={"Authorization": f"Bearer {T1}"}).body)["generation"]
        ctl.write(change)
        status, body = ctl.reload()
        assert status == 200, body
        assert body["result"] == "ok" and body["generation"] == gen0 + 1, body
        for key in ("apps.live.sign.play_keys", "apps.extra", "api.token", "log.level", "workers"):
            assert key in body["changed"], body
        assert body["restart_required"] == ["workers"] and body["restarted"] == [], body
        assert set(body["listeners"]) == {"rtmp", "http", "api"}, body
        s.wait_log(rf"reload \(api\): ok, config generation {gen0 + 1}; changed: \[.*apps\.live\.sign\.play_keys.*\]")
        s.wait_log(r"kept until a restart: workers")
        ctl.token = s.api_token = T2

        # The viewer that started under the old key goes on ...
        before = len(viewer.raw)
        time.sleep(1.5)
        assert len(viewer.raw) > before + 20000 and viewer.end is None, "the playing viewer was cut by the reload"
        # ... new viewers need the new key.
        assert flv_status(s, signed(K1)) == 403
        assert flv_status(s, "/live/s.flv") == 403  # unsigned
        assert flv_status(s, signed(K2)) == 200
        # The API takes the new token only; the secret is masked, the generation shown.
        assert httpc.get(s.api_addr, "/api/v1/version", headers={"Authorization": f"Bearer {T1}"}).status == 401
        r = httpc.get(s.api_addr, "/api/v1/config", headers={"Authorization": f"Bearer {T2}"})
        cfg = json.loads(r.body)
        assert r.status == 200 and cfg["generation"] == gen0 + 1, r.body
        assert cfg["config"]["apps"]["live"]["sign"]["play_keys"] == "********"
        assert cfg["config"]["workers"] == s.config.get("workers", 0) != 3, "a restart-only key keeps its running value"
        assert "extra" in cfg["config"]["apps"]
        # The app the reload added takes a publisher.
        pub = media.start_publisher(s.rtmp_url("extra", "e"), tmp_path, "extra", duration=20)
        try:
            s.wait_stream("extra", "e", pred=lambda i: i["video_frames"] >= 1)
        finally:
            pub.stop()
        # log.level debug applies at once.
        s.wait_log(r" debug \[\d+\] http .*\"GET /api/v1/config\" 200", timeout=15)
    finally:
        viewer.stop()


def test_an_invalid_config_is_refused_whole(ctl, live):
    s = ctl.srv
    before = json.loads(httpc.get(s.api_addr, "/api/v1/config",
                                  headers={"Authorization": f"Bearer {ctl.token}"}).body)["generation"]

    def bad(c):
        c["apps"]["live"]["sign"]["play_keys"] = K2  # would change, but ...
        c["apps"]["live"]["hls"] = {"segment_ms": 5}  # ... this is out of range
    ctl.write(bad)
    status, body = ctl.reload()
    assert status == 400, body
    assert body["error"]["code"] == "invalid_config" and body["error"]["field"] == "apps.live.hls.segment_ms", body
    assert "must be from 1000 to 30000" in body["error"]["message"], body
    s.wait_log(r"reload \(api\) refused, the running config stays: .*apps\.live\.hls\.segment_ms")
    # Nothing of it applied: K1 still signs, K2 still refused.
    assert flv_status(s, signed(K1)) == 200 and flv_status(s, signed(K2)) == 403
    # An unknown key and YAML that does not parse are refused the same way.
    ctl.write_text(to_yaml(ctl.config).replace("reconnect_grace_ms", "reconect_grace_ms", 1) + "\n")
    status, body = ctl.reload()
    assert status == 400 and "unknown key" in body["error"]["message"], body
    ctl.write_text("apps: [\n")
    status, body = ctl.reload()
    assert status == 400 and body["error"]["code"] == "invalid_config", body
    after = json.loads(httpc.get(s.api_addr, "/api/v1/config",
                                 headers={"Authorization": f"Bearer {ctl.token}"}).body)["generation"]
    assert after == before
    # A read token can't reload; a request with a body field is refused.
    r = httpc.request(s.api_addr, "POST", "/api/v1/reload", headers={"Authorization": "Bearer wrong-token-0000000"})
    assert r.status == 401
    r = httpc.request(s.api_addr, "POST", "/api/v1/reload", body=b'{"force": true}',
                      headers={"Authorization": f"Bearer {ctl.token}", "Content-Type": "application/json"})
    assert r.status == 400 and json.loads(r.body)["error"]["field"] == "force", r.body


def test_sighup_adds_https_then_the_certificate_is_reread(ctl, live, tmp_path):
    s = ctl.srv
    crt1, key1 = make_cert(tmp_path, "first")
    crt2, key2 = make_cert(tmp_path, "second")
    cert, key = tmp_path / "weir.crt", tmp_path / "weir.key"
    cert.write_bytes(crt1.read_bytes())
    key.write_bytes(key1.read_bytes())

    def add_https(c):
        c["tls"] = {"cert_file": str(cert), "key_file": str(key)}
        c["https"] = {"listen": "127.0.0.1:0"}
    mark = s.log_offset()
    ctl.write(add_https)
    s.proc.send_signal(signal.SIGHUP)
    s.wait_log(r"reload \(SIGHUP\): ok, .*listeners restarted: \[https\]", start=mark)
    status, body = ctl.reload()  # nothing changed: tells the listeners
    assert status == 200 and body["changed"] == [] and body["restarted"] == [], body
    https = split(body["listeners"]["https"])
    assert peer_cert(https) == ssl.PEM_cert_to_DER_cert(crt1.read_text())

    # A viewer over HTTPS plays from the first certificate ...
    ctx = ssl.create_default_context(cafile=str(crt1))
    raw = socket.create_connection(https, timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(f"GET {signed(K1)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = tls.recv(65536)
    assert got.startswith(b"HTTP/1.1 200"), got[:100]
    # ... the files are replaced (a renewal) and the reload re-reads them.
    cert.write_bytes(crt2.read_bytes())
    key.write_bytes(key2.read_bytes())
    status, body = ctl.reload()
    assert status == 200 and body["changed"] == [], body
    assert peer_cert(https) == ssl.PEM_cert_to_DER_cert(crt2.read_text())
    n = 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        n += len(tls.recv(65536))
    assert n > 20000, "the viewer on the old certificate stopped"
    tls.close()

    # A key that does not match refuses the reload; the running certificate stays.
    key.write_bytes(key1.read_bytes())
    status, body = ctl.reload()
    assert status == 400 and body["error"]["message"].startswith("tls: "), body
    assert peer_cert(https) == ssl.PEM_cert_to_DER_cert(crt2.read_text())
    key.write_bytes(key2.read_bytes())

    # An address in use refuses the reload, naming the key.
    http_port = s.http_addr[1]
    ctl.write(lambda c: c.__setitem__("rtmps", {"listen": f"127.0.0.1:{http_port}"}))
    status, body = ctl.reload()
    assert status == 400 and body["error"]["field"] == "rtmps.listen", body
    assert "in use" in body["error"]["message"], body

    # Removing the listener closes it.
    def drop(c):
        del c["rtmps"]
        del c["https"]
    ctl.write(drop)
    status, body = ctl.reload()
    assert status == 200 and body["restarted"] == ["https"] and "https" not in body["listeners"], body
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(https, timeout=5).close()
    # The players' port still serves.
    assert flv_status(s, signed(K1)) == 200


def test_the_per_stream_series_cap_follows_a_reload(ctl, live):
    s = ctl.srv
    m = s.metrics()
    assert m['weir_stream_live{app="live",stream="s"}'] == 1 and m["weir_stream_series_omitted"] == 0, m
    ctl.write(lambda c: c.setdefault("limits", {}).__setitem__("metrics_max_streams", 0))
    status, body = ctl.reload()
    assert status == 200 and body["changed"] == ["limits.metrics_max_streams"], body
    m = s.metrics()
    assert m["weir_stream_series_omitted"] == 1 and not any(k.startswith("weir_stream_live{") for k in m), m


def test_event_receivers_global_and_per_app_follow_a_reload(ctl, live, tmp_path):
    s = ctl.srv
    everything, extra_only = Receiver(secret="global-secret-01"), Receiver(secret="extra-secret-02")
    try:
        def add(c):
            c["events"] = {"url": everything.url, "secret": "global-secret-01"}
            c["apps"]["extra"] = {"reconnect_grace_ms": 0,
                                  "events": {"url": extra_only.url, "secret": "extra-secret-02"}}
        ctl.write(add)
        status, body = ctl.reload()
        assert status == 200 and "events.url" in body["changed"] and "apps.extra" in body["changed"], body
        assert body["restart_required"] == [], body
        # The reload itself is an event (to the global receiver only).
        wait_until(lambda: everything.events("config.reloaded"), 10, "config.reloaded")
        assert everything.events("config.reloaded")[0]["_sig_ok"]
        pub = media.start_publisher(s.rtmp_url("extra", "ev"), tmp_path, "ev", duration=3)
        wait_until(lambda: extra_only.events("stream.unpublished", app="extra", stream="ev"), 20,
                   "the app's receiver to get stream.unpublished")
        pub.wait(20)
        # The app's receiver gets its app's events, signed with its own secret;
        # the global one gets them too; nobody else's events reach the app's.
        [e] = extra_only.events("stream.published", app="extra", stream="ev")
        assert e["_sig_ok"], e
        assert everything.events("stream.published", app="extra", stream="ev")
        wait_until(lambda: everything.events("client.disconnected"), 10, "client events")
        flv_status(s, signed(K1))  # a live/ client: its events go to the global receiver only
        wait_until(lambda: any(c["data"].get("app") == "live" for c in everything.events("client.connected")), 10,
                   "live's client event")
        assert all(c["data"].get("app") == "extra" for c in extra_only.calls if c.get("type") != "config.reloaded")
        assert not extra_only.events("config.reloaded")
        wait_until(lambda: any(c["data"].get("app") == "live" for c in everything.events("client.disconnected")),
                   10, "live's client to disconnect")
        # A reload that removes the receivers: no more events for them.
        n_all, n_extra = len(everything.calls), len(extra_only.calls)
        ctl.write(lambda c: (c.pop("events"), c["apps"]["extra"].pop("events")))
        status, body = ctl.reload()
        assert status == 200, body
        flv_status(s, signed(K1))
        time.sleep(1)
        assert len(everything.calls) == n_all and len(extra_only.calls) == n_extra
    finally:
        everything.close()
        extra_only.close()


def test_an_http_setting_restarts_the_listener_on_its_port(ctl, live):
    s = ctl.srv
    r = httpc.get(s.http_addr, "/live/s.m3u8", headers={"Origin": "https://a.example"}, timeout=10)
    assert r.headers.get("access-control-allow-origin") == "*", r.headers
    ctl.write(lambda c: c.setdefault("http", {}).__setitem__("cors_origin", "https://player.example"))
    status, body = ctl.reload()
    assert status == 200 and body["restarted"] == ["http"], body
    assert body["listeners"]["http"] == f"{s.http_addr[0]}:{s.http_addr[1]}", body
    r = httpc.get(s.http_addr, "/live/s.m3u8", headers={"Origin": "https://a.example"}, timeout=10)
    assert r.headers.get("access-control-allow-origin") == "https://player.example", r.headers
