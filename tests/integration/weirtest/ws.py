"""A minimal WebSocket client (RFC 6455) over a raw socket, or over TLS
(wss://) with an ssl.SSLContext: the opening handshake with
Sec-WebSocket-Accept check, masked client frames, unmasked server frames
with 7/16/64-bit lengths, ping/pong and close."""

import base64
import hashlib
import os
import socket
import struct
import time

from .httpc import parse_head, read_head

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


class WsClient:
    def __init__(self, addr, path, timeout=10.0, headers=None, ssl_context=None):
        self.sock = socket.create_connection(addr, timeout=timeout)
        if ssl_context is not None:
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=addr[0])
        self.timeout = timeout
        self.key = base64.b64encode(os.urandom(16)).decode()
        h = {"Host": f"{addr[0]}:{addr[1]}", "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": self.key, "Sec-WebSocket-Version": "13", "Origin": "http://example.test"}
        h.update(headers or {})
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n".encode() + b"".join(
            f"{k}: {v}\r\n".encode() for k, v in h.items()) + b"\r\n")
        head, rest = read_head(self.sock, time.monotonic() + timeout)
        self.status, self.reason, self.headers, _ = parse_head(head)
        self.buf = bytearray(rest)
        self.closed = None

    @property
    def accept_ok(self):
        return self.headers.get("sec-websocket-accept") == accept_for(self.key)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("websocket read timed out")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                self.closed = "reset"
                raise ConnectionError("reset")
            if not data:
                self.closed = "eof"
                raise ConnectionError("eof")
            self.buf += data

    def recv_frame(self, timeout=None):
        """(fin, opcode, payload) of the next frame, exactly as framed by the server."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._fill(4, deadline)
            n = struct.unpack(">H", self.buf[2:4])[0]
            pos = 4
        elif n == 127:
            self._fill(10, deadline)
            n = struct.unpack(">Q", self.buf[2:10])[0]
            pos = 10
        if b1 & 0x80:
            raise ValueError("server frame is masked (RFC 6455 5.1 forbids it)")
        if b0 & 0x70:
            raise ValueError(f"reserved bits set in frame byte 0x{b0:02x}")
        self._fill(pos + n, deadline)
        payload = bytes(self.buf[pos:pos + n])
        del self.buf[:pos + n]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def send_frame(self, opcode, payload=b"", fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def ping(self, payload=b"weir"):
        self.send_frame(PING, payload)

    def close(self, code=1000):
        try:
            self.send_frame(CLOSE, struct.pack(">H", code))
        except OSError:
            pass

    def shutdown(self):
        try:
            self.sock.close()
        except OSError:
            pass
