"""Malformed input closes only the offending session, with a log line saying
why; the server and a concurrent publish -> play go on.

One server per module (per xdist worker) with a publisher and a viewer running
throughout; every case checks that the viewer keeps receiving and /healthz
stays 200."""

import os
import socket
import struct
import time

import pytest

from weirtest import amf0
from weirtest.background import start_background
from weirtest.httpc import parse_head, read_head, request
from weirtest.rtmp import COMMAND_AMF0, VIDEO, RtmpClient, chunk_header
from weirtest.ws import WsClient

MAX_MESSAGE = 65536
REQUEST_TIMEOUT_MS = 1500
HANDSHAKE_TIMEOUT_MS = 2000


@pytest.fixture(scope="module")
def live(weir_module, tmp_path_factory):
    s = weir_module({"rtmp": {"max_message_size": MAX_MESSAGE, "handshake_timeout_ms": HANDSHAKE_TIMEOUT_MS},
                     "http": {"request_timeout_ms": REQUEST_TIMEOUT_MS, "max_header_size": 4096},
                     "apps": {"live": {"reconnect_grace_ms": 0}}}, name="badinput")
    bg = start_background(s, tmp_path_factory.mktemp("badinput-peers"))
    yield bg
    bg.stop()


def rtmp_after_handshake(s):
    c = RtmpClient.open(s.rtmp_addr, timeout=5)
    c.handshake()
    return c


def connected(s):
    c = rtmp_after_handshake(s)
    c.set_chunk_size(4096)
    assert c.connect("live").command()[0] == "_result"
    return c


def send_wrong_version(s):
    c = RtmpClient.open(s.rtmp_addr, timeout=5)
    c.send_raw(bytes([10]) + os.urandom(1536))
    return c


def send_rtmpe_version(s):
    c = RtmpClient.open(s.rtmp_addr, timeout=5)
    c.send_raw(bytes([6]) + os.urandom(1536))
    return c


def send_http_instead_of_handshake(s):
    c = RtmpClient.open(s.rtmp_addr, timeout=5)
    c.send_raw(b"GET /live/bg HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 2000)
    return c


def send_oversize_message(s):
    c = rtmp_after_handshake(s)
    c.send_raw(chunk_header(0, 3, 0, MAX_MESSAGE + 1, COMMAND_AMF0, 0) + b"\x02\x00\x07connect")
    return c


def send_huge_declared_length(s):
    c = rtmp_after_handshake(s)
    c.send_raw(chunk_header(0, 4, 0, 0xFFFFFF, VIDEO, 1) + b"\x17\x01")
    return c


def send_fmt1_on_new_chunk_stream(s):
    c = rtmp_after_handshake(s)
    c.send_raw(chunk_header(1, 9, 0, 20, COMMAND_AMF0) + b"\x02" * 20)
    return c


def send_fmt3_on_new_chunk_stream(s):
    c = rtmp_after_handshake(s)
    c.send_raw(b"\xff" * 64)  # fmt 3, chunk stream 63, never announced
    return c


def send_malformed_amf_connect(s):
    c = rtmp_after_handshake(s)
    # "connect", 1, then an object whose "app" string claims 255 bytes but has 3.
    payload = amf0.encode("connect") + amf0.encode(1.0) + b"\x03\x00\x03app\x02\x00\xffabc"
    c.send_message(COMMAND_AMF0, payload)
    return c


def send_unknown_amf_marker(s):
    c = rtmp_after_handshake(s)
    c.send_message(COMMAND_AMF0, amf0.encode("connect") + amf0.encode(1.0) + b"\x0d\x00\x00")
    return c


def send_command_before_connect(s):
    c = rtmp_after_handshake(s)
    c.send_command("createStream", 2.0, None)
    return c


def send_publish_before_connect(s):
    c = rtmp_after_handshake(s)
    c.send_command("publish", 0.0, None, "bg", "live", stream_id=1)
    return c


def send_media_before_publish(s):
    c = connected(s)
    c.send_video(0, b"\x17\x01\x00\x00\x00" + b"\x00" * 32)
    return c


def send_media_without_connect(s):
    c = rtmp_after_handshake(s)
    c.send_audio(0, b"\xaf\x01" + b"\x00" * 16)
    return c


def send_zero_chunk_size(s):
    c = rtmp_after_handshake(s)
    c.send_message(1, struct.pack(">I", 0))
    return c


def send_bad_video_tag(s):
    # A publisher whose video tag is too short to be an AVC tag.
    c = RtmpClient.open(s.rtmp_addr, timeout=5)
    c.start_publish("live", "bad-tag")
    c.send_video(0, b"\x17")
    return c


# name -> (action, log regex, counted in weir_sessions_rejected_total)
RTMP_CASES = {
    "wrong_version_byte": (send_wrong_version, r"handshake: .*version byte 10", True),
    "rtmpe_version_byte": (send_rtmpe_version, r"handshake: .*RTMPE", True),
    "http_instead_of_handshake": (send_http_instead_of_handshake, r"handshake: .*version byte 71", True),
    "message_longer_than_max": (send_oversize_message,
                                rf"rtmp chunk: message length {MAX_MESSAGE + 1} exceeds max_message_size {MAX_MESSAGE}",
                                True),
    "declared_length_16MiB": (send_huge_declared_length, r"rtmp chunk: message length 16777215 exceeds", True),
    "fmt1_on_new_chunk_stream": (send_fmt1_on_new_chunk_stream,
                                 r"rtmp chunk: fmt 1 chunk on chunk stream 9 with no previous header", True),
    "fmt3_on_new_chunk_stream": (send_fmt3_on_new_chunk_stream,
                                 r"rtmp chunk: fmt 3 chunk on chunk stream 63 with no previous header", True),
    "malformed_amf_in_connect": (send_malformed_amf_connect, r"command: ", True),
    "unknown_amf_marker_in_connect": (send_unknown_amf_marker, r"command: ", True),
    "command_before_connect": (send_command_before_connect, r"command 'createStream' before connect", True),
    "publish_before_connect": (send_publish_before_connect, r"command 'publish' before connect", True),
    "media_before_publish": (send_media_before_publish, r"video message before publish", True),
    "media_without_connect": (send_media_without_connect, r"audio message before publish", True),
    "zero_chunk_size": (send_zero_chunk_size, r"rtmp chunk: invalid chunk size 0", True),
    "truncated_video_tag": (send_bad_video_tag, r"video tag", True),
}


@pytest.mark.parametrize("case", list(RTMP_CASES))
def test_rtmp_bad_input(live, case):
    action, pattern, counted = RTMP_CASES[case]
    s = live.s
    offset = s.log_offset()
    rejected = s.metric("weir_sessions_rejected_total")
    c = action(s)
    how = c.wait_closed(5)
    assert how in ("eof", "reset")
    line = s.wait_log(pattern, timeout=5, start=offset)
    assert line
    if counted:
        s.wait_metric("weir_sessions_rejected_total", lambda v: v >= rejected + 1, timeout=5)
    live.assert_still_flowing(case)


def test_rtmp_handshake_timeout(live):
    s = live.s
    offset = s.log_offset()
    c = RtmpClient.open(s.rtmp_addr, timeout=10)
    c.send_raw(bytes([3]) + os.urandom(100))  # C0 and part of C1, then silence
    t0 = time.monotonic()
    assert c.wait_closed(HANDSHAKE_TIMEOUT_MS / 1000 + 5) in ("eof", "reset")
    waited = time.monotonic() - t0
    assert waited >= HANDSHAKE_TIMEOUT_MS / 1000 * 0.8, f"closed after {waited:.2f} s"
    s.wait_log(r"closed: .*timeout", start=offset)
    live.assert_still_flowing("handshake timeout")


def test_rtmp_silent_after_connect_not_dropped_early(live):
    # A connected client that says nothing is only dropped at idle_timeout_ms
    # (30 s default), not at the handshake timeout.
    s = live.s
    c = connected(s)
    c.sock.settimeout(HANDSHAKE_TIMEOUT_MS / 1000 + 1)
    try:
        data = c.sock.recv(1)
        assert data, "connected client dropped at the handshake timeout"
    except socket.timeout:
        pass
    c.close()


def test_http_slowloris(live):
    s = live.s
    offset = s.log_offset()
    sock = socket.create_connection(s.http_addr, timeout=10)
    head = b"GET /live/bg.flv HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    t0 = time.monotonic()
    answer = bytearray()
    closed = None
    for i in range(len(head)):
        try:
            sock.sendall(head[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed = "send failed"
            break
        sock.settimeout(0.2)
        try:
            data = sock.recv(4096)
            if not data:
                closed = "eof"
                break
            answer += data
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = "reset"
            break
        if time.monotonic() - t0 > REQUEST_TIMEOUT_MS / 1000 + 5:
            break
    waited = time.monotonic() - t0
    if closed is None:
        sock.settimeout(3)
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    closed = "eof"
                    break
                answer += data
        except (socket.timeout, ConnectionResetError) as e:
            closed = closed or type(e).__name__
    sock.close()
    assert closed in ("eof", "reset", "send failed"), \
        f"slowloris connection still open after {waited:.1f} s (request_timeout_ms {REQUEST_TIMEOUT_MS})"
    assert waited <= REQUEST_TIMEOUT_MS / 1000 + 3, f"closed only after {waited:.1f} s"
    assert waited >= REQUEST_TIMEOUT_MS / 1000 * 0.8, f"closed after {waited:.1f} s, before request_timeout_ms"
    if answer:
        assert answer.startswith(b"HTTP/1.1 408"), bytes(answer[:100])
    s.wait_log(rf"request not complete within {REQUEST_TIMEOUT_MS} ms", start=offset)
    live.assert_still_flowing("slowloris")


def test_http_oversize_header(live):
    s = live.s
    offset = s.log_offset()
    r = request(s.http_addr, "GET", "/live/bg.flv", headers={"X-Big": "b" * 8000})
    assert r.status == 431, r
    s.wait_log(r"431", start=offset)
    live.assert_still_flowing("oversize header")


@pytest.mark.parametrize("garbage", [
    b"HELLO THERE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
    b"GET /live/bg.flv HTTP/9.9\r\n\r\n",
    b"GET /live/bg.flv HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
], ids=["words", "tls_hello", "http_9_9", "bad_header_line"])
def test_http_garbage(live, garbage):
    s = live.s
    offset = s.log_offset()
    with socket.create_connection(s.http_addr, timeout=5) as sock:
        sock.sendall(garbage)
        try:
            head, _ = read_head(sock, time.monotonic() + 5)
            status = parse_head(head)[0]
        except ConnectionError:
            status = None
        data = b"x"
        while data:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                break
    assert status in (400, 505), f"answered {status}"
    s.wait_log(r"http 127\.0\.0\.1:\d+: (400|505)", start=offset)
    live.assert_still_flowing("garbage HTTP")


def test_websocket_unmasked_client_frame(live):
    s = live.s
    ws = WsClient(s.http_addr, "/live/bg.flv")
    assert ws.status == 101
    # RFC 6455 5.1: a server must close on an unmasked client frame.
    ws.sock.sendall(b"\x89\x04ping")
    deadline = time.monotonic() + 5
    close_code = None
    while time.monotonic() < deadline:
        try:
            fin, op, payload = ws.recv_frame(timeout=5)
        except (ConnectionError, socket.timeout):
            break
        if op == 0x8:
            close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            break
    assert close_code == 1002, f"close code {close_code}"
    ws.shutdown()
    live.assert_still_flowing("unmasked websocket frame")
