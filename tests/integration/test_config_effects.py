"""Config keys that change observable behaviour: log format, RTMP chunk size,
the connection limit, the RTMP idle timeout."""

import json
import socket
import time

from weirtest import media
from weirtest.httpc import request
from weirtest.rtmp import SET_CHUNK_SIZE, VIDEO, RtmpClient


def test_log_format_json(weir, tmp_path):
    s = weir({"log": {"format": "json", "level": "debug"}})
    r = s.get("/healthz")
    assert r.status == 200
    s.stop()
    lines = [ln for ln in s.log().splitlines() if ln.strip()]
    assert lines, "no log output"
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError:
            raise AssertionError(f"log line is not JSON: {ln!r}")
        assert isinstance(obj, dict), ln
    assert any("started" in json.dumps(json.loads(ln)) for ln in lines)


def test_chunk_size_sent_to_players(weir, tmp_path):
    s = weir({"rtmp": {"chunk_size": 4096}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=3.0, bitrate="1500k")
    s.wait_stream(pred=lambda i: i["video_frames"] > 3)
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    c.connect("live")
    sizes = [m for m in c.received if m.type_id == SET_CHUNK_SIZE]
    assert sizes and int.from_bytes(sizes[-1].payload[:4], "big") == 4096, c.received
    assert c.in_chunk_size == 4096
    sid = c.create_stream()
    assert c.play("s", sid).status_code() == "NetStream.Play.Start"
    msgs, end = c.read_media(until=lambda m: sum(1 for x in m if x.type_id == VIDEO) >= 10, timeout=10)
    assert end == "until"
    big = [m for m in msgs if len(m.payload) > 4096]
    assert big, "no message larger than one chunk to check reassembly with"
    assert all(m.payload[0] in (0x17, 0x27) for m in msgs if m.type_id == VIDEO)
    pub.stop()


def test_connection_limit(weir):
    s = weir({"limits": {"max_connections": 3}})
    time.sleep(0.5)  # the start-up /healthz connection is gone (it lingers briefly after the answer)
    held = []
    for _ in range(3):
        c = RtmpClient.open(s.rtmp_addr)
        c.handshake()  # answered: it was accepted and counted
        held.append(c)
    refused = None
    with socket.create_connection(s.http_addr, timeout=5) as extra:
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            refused = extra.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            refused = b""
    assert refused == b"", f"a connection past limits.max_connections was served: {refused!r}"
    s.wait_log(r"connection limit 3 reached")
    for c in held:
        c.close()
    # Below the limit again: served.
    deadline = time.monotonic() + 5
    while True:
        try:
            r = request(s.http_addr, "GET", "/healthz", timeout=2)
            if r.status == 200:
                break
        except (ConnectionError, OSError):
            pass
        assert time.monotonic() < deadline, "not served again after connections closed"
        time.sleep(0.1)


def test_rtmp_idle_timeout(weir):
    s = weir({"rtmp": {"idle_timeout_ms": 1500}})
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    c.connect("live")
    t0 = time.monotonic()
    assert c.wait_closed(8) in ("eof", "reset")
    waited = time.monotonic() - t0
    assert 1.2 <= waited <= 5, f"idle connection closed after {waited:.2f} s (idle_timeout_ms 1500)"
    s.wait_log(r"closed: idle timeout")
