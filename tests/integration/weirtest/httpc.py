"""Raw-socket HTTP helpers: one-shot requests that return the status line,
headers and body exactly as sent, and a threaded HTTP-FLV viewer that parses
the stream live (optionally reading slowly or not at all)."""

import socket
import threading
import time

from .flv import FlvParser


class HttpResponse:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last wins)
        self.header_list = []
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"HttpResponse({self.status} {self.reason}, {len(self.body)} bytes)"


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    hl = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
        hl.append((k.strip(), v.strip()))
    return status, reason, headers, hl


def read_head(sock, deadline, buf=None):
    """Reads up to the end of the response head; returns (head bytes, leftover)."""
    buf = bytearray(buf or b"")
    while b"\r\n\r\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no complete response head")
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed before the response head ({bytes(buf[:200])!r})")
        buf += data
    i = buf.index(b"\r\n\r\n")
    return bytes(buf[:i]), bytes(buf[i + 4:])


def request(addr, method="GET", path="/", headers=None, body=b"", timeout=10.0, raw=None, read_body=True,
            source=None):
    """Sends one request (Connection: close) and returns an HttpResponse. The
    body is read by Content-Length, or to EOF when there is none. `source`:
    the local address to send from (e.g. "127.0.0.2", another loopback
    client)."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(addr, timeout=timeout, source_address=(source, 0) if source else None) as s:
        if raw is None:
            h = {"Host": f"{addr[0]}:{addr[1]}", "Connection": "close", "User-Agent": "weir-test"}
            h.update(headers or {})
            if body:
                h["Content-Length"] = str(len(body))
            raw = f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(
                f"{k}: {v}\r\n".encode() for k, v in h.items()) + b"\r\n" + body
        s.sendall(raw)
        head, rest = read_head(s, deadline)
        status, reason, hdrs, hl = parse_head(head)
        body_out = bytearray(rest)
        if read_body and method != "HEAD" and status not in (101, 204, 304):
            want = int(hdrs["content-length"]) if "content-length" in hdrs else None
            while want is None or len(body_out) < want:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not data:
                    break
                body_out += data
        r = HttpResponse(status, reason, hdrs, bytes(body_out), head)
        r.header_list = hl
        return r


def get(addr, path, **kw):
    return request(addr, "GET", path, **kw)


class FlvViewer(threading.Thread):
    """Plays GET {path} as HTTP-FLV in a thread.

    rcvbuf: SO_RCVBUF set before connecting (small = the server backs up soon).
    rate: bytes per second to read at (None = as fast as possible).
    read: False = never read after the request (a stalled viewer).
    All bytes of the body are kept in .raw and parsed into .tags as they come;
    .end is "eof", "reset", "stopped", "error:..." once the thread is done."""

    def __init__(self, addr, path, rcvbuf=None, rate=None, read=True, headers=None, connect_timeout=10.0,
                 chunk=16384):
        super().__init__(daemon=True)
        self.addr, self.path = addr, path
        self.rcvbuf, self.rate, self.read = rcvbuf, rate, read
        self.extra_headers = headers or {}
        self.connect_timeout = connect_timeout
        self.chunk = chunk
        self.status = None
        self.headers = {}
        self.raw = bytearray()
        self.tags = []
        self.parser = FlvParser(now=time.monotonic)
        self.parse_error = None
        self.error_body = b""  # body start of a non-200 answer
        self.end = None
        self.end_time = None
        self.started = threading.Event()  # response head received
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.sock = None

    def run(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            s.settimeout(self.connect_timeout)
            s.connect(self.addr)
            self.sock = s
            h = {"Host": f"{self.addr[0]}:{self.addr[1]}", "User-Agent": "weir-test"}
            h.update(self.extra_headers)
            s.sendall(f"GET {self.path} HTTP/1.1\r\n".encode() + b"".join(
                f"{k}: {v}\r\n".encode() for k, v in h.items()) + b"\r\n")
            if not self.read:
                self.started.set()
                while not self._halt.wait(0.1):
                    pass
                self._finish("stopped")
                return
            deadline = time.monotonic() + 3600
            head, rest = read_head(s, deadline)
            self.status, _, self.headers, _ = parse_head(head)
            self.started.set()
            if self.status != 200:
                self.error_body = rest
                self._finish(f"http {self.status}")
                return
            self._feed(rest)
            t0 = time.monotonic()
            got = len(rest)
            while not self._halt.is_set():
                s.settimeout(0.2)
                try:
                    data = s.recv(self.chunk)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    self._finish("reset")
                    return
                if not data:
                    self._finish("eof")
                    return
                self._feed(data)
                got += len(data)
                if self.rate:
                    # Sleep until the average rate is back at `rate`.
                    ahead = got / self.rate - (time.monotonic() - t0)
                    if ahead > 0:
                        self._halt.wait(ahead)
            self._finish("stopped")
        except Exception as e:  # noqa: BLE001 - reported through .end
            self.started.set()
            self._finish(f"error:{type(e).__name__}:{e}")

    def _feed(self, data):
        with self._lock:
            self.raw += data
            if self.parse_error is None:
                try:
                    self.tags.extend(self.parser.feed(data))
                except Exception as e:  # noqa: BLE001
                    self.parse_error = e

    def _finish(self, how):
        if self.end is None:
            self.end = how
            self.end_time = time.monotonic()
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass

    def stop(self, timeout=5.0):
        self._halt.set()
        self.join(timeout)

    def snapshot(self):
        with self._lock:
            return list(self.tags)

    def wait(self, pred, timeout, what="condition"):
        """Waits until pred(tags) is true; raises AssertionError on timeout or end."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tags = self.snapshot()
            if pred(tags):
                return tags
            if self.end is not None and not self.is_alive():
                tags = self.snapshot()
                if pred(tags):
                    return tags
                raise AssertionError(f"viewer {self.path} ended ({self.end}) before {what}; "
                                     f"status {self.status}, {len(tags)} tags, parse error {self.parse_error}")
            time.sleep(0.05)
        raise AssertionError(f"viewer {self.path}: timed out waiting for {what}; {len(self.snapshot())} tags, "
                             f"end {self.end}, parse error {self.parse_error}")

    def wait_end(self, timeout):
        self.join(timeout)
        return self.end
