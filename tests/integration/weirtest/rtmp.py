"""A minimal RTMP client over a raw socket.

This is a hand-made test peer, not a player or an encoder. It exists for two
things no Debian 12 client can do: send deliberately malformed input (bad
handshakes, oversized or inconsistent chunk headers, broken AMF, commands out
of order) and send Enhanced RTMP tags (ffmpeg 5.1 predates E-RTMP). It does the
simple (non-digest) handshake, writes every message as one fmt-0 chunk plus
fmt-3 continuations, reads all four chunk header formats, answers pings and
acknowledges per the peer's window, and encodes/decodes AMF0 commands.

References: Adobe RTMP specification 1.0 (handshake 5.2, chunking 5.3,
control messages 5.4, commands 7.2), Veovera Enhanced RTMP v1/v2 for fourCcList.
"""

import os
import socket
import struct
import time
from dataclasses import dataclass

from . import amf0

# Message type ids (RTMP spec 5.4, 7.1).
SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE, SET_PEER_BW = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, DATA_AMF0, COMMAND_AMF3, COMMAND_AMF0, AGGREGATE = 8, 9, 15, 18, 17, 20, 22

CSID_CONTROL, CSID_COMMAND, CSID_AUDIO, CSID_VIDEO, CSID_DATA = 2, 3, 4, 6, 5


class RtmpError(Exception):
    pass


class ConnectionClosed(RtmpError):
    def __init__(self, how):
        super().__init__(f"connection closed by the server ({how})")
        self.how = how  # "eof" or "reset"


@dataclass
class RtmpMessage:
    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes
    csid: int = 0

    def command(self):
        """(name, transaction id, [remaining values]) of an AMF0 command."""
        if self.type_id != COMMAND_AMF0:
            return None
        vals = amf0.decode_all(self.payload)
        return vals[0], vals[1] if len(vals) > 1 else None, vals[2:]

    def status_code(self):
        """info.code of an onStatus / _result / _error, else None."""
        c = self.command()
        if not c:
            return None
        for v in c[2]:
            if isinstance(v, dict) and "code" in v:
                return v["code"]
        return None

    def __repr__(self):
        extra = ""
        if self.type_id == COMMAND_AMF0:
            try:
                extra = f" {self.command()[0]} {self.status_code() or ''}"
            except amf0.AmfError:
                extra = " <bad amf>"
        return f"RtmpMessage(type={self.type_id} sid={self.stream_id} ts={self.timestamp} len={len(self.payload)}{extra})"


def basic_header(fmt, csid):
    if csid < 2:
        raise ValueError("chunk stream ids 0 and 1 are reserved")
    if csid < 64:
        return bytes([(fmt << 6) | csid])
    if csid < 320:
        return bytes([(fmt << 6) | 0, csid - 64])
    return bytes([(fmt << 6) | 1, (csid - 64) & 0xFF, (csid - 64) >> 8])


def chunk_header(fmt, csid, timestamp=0, length=0, type_id=0, stream_id=0):
    """Raw bytes of a chunk header (basic + message header + extended timestamp),
    for crafting input. fmt 0: all fields; 1: delta, length, type; 2: delta; 3: none."""
    out = bytearray(basic_header(fmt, csid))
    ext = timestamp >= 0xFFFFFF
    field = 0xFFFFFF if ext else timestamp
    if fmt <= 2:
        out += field.to_bytes(3, "big")
    if fmt <= 1:
        out += length.to_bytes(3, "big") + bytes([type_id])
    if fmt == 0:
        out += struct.pack("<I", stream_id)
    if ext:
        out += struct.pack(">I", timestamp & 0xFFFFFFFF)
    return bytes(out)


class _InStream:
    __slots__ = ("timestamp", "delta", "length", "type_id", "stream_id", "extended", "payload")

    def __init__(self):
        self.timestamp = 0
        self.delta = 0
        self.length = 0
        self.type_id = 0
        self.stream_id = 0
        self.extended = False
        self.payload = None  # bytearray while a message is incomplete


class RtmpClient:
    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.rbuf = bytearray()
        self.in_chunk_size = 128
        self.out_chunk_size = 128
        self.streams = {}
        self.bytes_in = 0
        self.ack_window = 0
        self.last_ack = 0
        self.next_txid = 1
        self.received = []  # messages read while waiting for something else
        self.closed = None  # "eof"/"reset" once the server closed

    @classmethod
    def open(cls, addr, timeout=10.0):
        host, port = addr
        return cls(host, port, timeout)

    # ------------------------------------------------------------ raw I/O
    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.rbuf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"timed out waiting for {n} bytes (have {len(self.rbuf)})")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(max(65536, n - len(self.rbuf)))
            except ConnectionResetError:
                self.closed = "reset"
                raise ConnectionClosed("reset")
            except socket.timeout:
                raise socket.timeout(f"timed out waiting for {n} bytes (have {len(self.rbuf)})")
            if not data:
                self.closed = "eof"
                raise ConnectionClosed("eof")
            self.rbuf += data
            self.bytes_in += len(data)

    def _take(self, n, deadline):
        self._fill(n, deadline)
        b = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return b

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def wait_closed(self, timeout=10.0):
        """Reads and drops input until the server closes; returns "eof" or
        "reset". Raises socket.timeout if it stays open."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("server did not close the connection")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                self.closed = "reset"
                return "reset"
            except socket.timeout:
                raise socket.timeout("server did not close the connection")
            if not data:
                self.closed = "eof"
                return "eof"
            self.rbuf += data

    # ------------------------------------------------------------ handshake
    def handshake(self, version=3, timeout=None):
        """Simple handshake: C0+C1 (zero time and zero version field, random
        bytes), then C2 = echo of S1. Returns (S0 version, S1, S2)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        c1 = bytes(8) + os.urandom(1528)
        self.send_raw(bytes([version]) + c1)
        s0 = self._take(1, deadline)[0]
        s1 = self._take(1536, deadline)
        s2 = self._take(1536, deadline)
        self.send_raw(s1)
        return s0, s1, s2

    # ------------------------------------------------------------ writing
    def send_message(self, type_id, payload, stream_id=0, timestamp=0, csid=None):
        if csid is None:
            csid = {AUDIO: CSID_AUDIO, VIDEO: CSID_VIDEO, DATA_AMF0: CSID_DATA, COMMAND_AMF0: CSID_COMMAND}.get(
                type_id, CSID_CONTROL if type_id <= 6 else CSID_COMMAND)
        payload = bytes(payload)
        out = bytearray(chunk_header(0, csid, timestamp, len(payload), type_id, stream_id))
        ext = timestamp >= 0xFFFFFF
        cs = self.out_chunk_size
        for off in range(0, max(len(payload), 1), cs):
            if off:
                out += basic_header(3, csid)
                if ext:
                    out += struct.pack(">I", timestamp & 0xFFFFFFFF)
            out += payload[off:off + cs]
        self.send_raw(bytes(out))

    def set_chunk_size(self, size):
        self.send_message(SET_CHUNK_SIZE, struct.pack(">I", size), csid=CSID_CONTROL)
        self.out_chunk_size = size

    def send_command(self, name, txid, *args, stream_id=0):
        self.send_message(COMMAND_AMF0, amf0.encode_all(name, txid, *args), stream_id=stream_id)

    def call(self, name, *args, stream_id=0):
        txid = self.next_txid
        self.next_txid += 1
        self.send_command(name, float(txid), *args, stream_id=stream_id)
        return txid

    def send_video(self, timestamp, body, stream_id=1):
        self.send_message(VIDEO, body, stream_id=stream_id, timestamp=timestamp)

    def send_audio(self, timestamp, body, stream_id=1):
        self.send_message(AUDIO, body, stream_id=stream_id, timestamp=timestamp)

    def send_metadata(self, meta, stream_id=1):
        self.send_message(DATA_AMF0, amf0.encode_all("@setDataFrame", "onMetaData", amf0.EcmaArray(meta)),
                          stream_id=stream_id)

    # ------------------------------------------------------------ reading
    def recv_message(self, timeout=None):
        """The next complete message. Answers pings, applies the peer's
        chunk size and acknowledgement window."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            msg = self._read_chunk(deadline)
            if msg is None:
                continue
            self._control(msg)
            return msg

    def _read_chunk(self, deadline):
        b0 = self._take(1, deadline)[0]
        fmt, csid = b0 >> 6, b0 & 0x3F
        if csid == 0:
            csid = 64 + self._take(1, deadline)[0]
        elif csid == 1:
            b = self._take(2, deadline)
            csid = 64 + b[0] + b[1] * 256
        st = self.streams.setdefault(csid, _InStream())
        new_message = st.payload is None
        if fmt == 0:
            h = self._take(11, deadline)
            ts = int.from_bytes(h[0:3], "big")
            st.length = int.from_bytes(h[3:6], "big")
            st.type_id = h[6]
            st.stream_id = struct.unpack("<I", h[7:11])[0]
            st.extended = ts == 0xFFFFFF
            if st.extended:
                ts = struct.unpack(">I", self._take(4, deadline))[0]
            st.timestamp = ts
            st.delta = 0
        elif fmt == 1 or fmt == 2:
            h = self._take(7 if fmt == 1 else 3, deadline)
            delta = int.from_bytes(h[0:3], "big")
            if fmt == 1:
                st.length = int.from_bytes(h[3:6], "big")
                st.type_id = h[6]
            st.extended = delta == 0xFFFFFF
            if st.extended:
                delta = struct.unpack(">I", self._take(4, deadline))[0]
            st.delta = delta
            st.timestamp = (st.timestamp + delta) & 0xFFFFFFFF
        else:
            if st.extended:
                self._take(4, deadline)
            if new_message:
                st.timestamp = (st.timestamp + st.delta) & 0xFFFFFFFF
        if new_message:
            st.payload = bytearray()
        n = min(self.in_chunk_size, st.length - len(st.payload))
        st.payload += self._take(n, deadline)
        self._maybe_ack()
        if len(st.payload) < st.length:
            return None
        msg = RtmpMessage(st.type_id, st.stream_id, st.timestamp, bytes(st.payload), csid)
        st.payload = None
        return msg

    def _maybe_ack(self):
        if self.ack_window and self.bytes_in - self.last_ack >= self.ack_window:
            self.last_ack = self.bytes_in
            self.send_message(ACK, struct.pack(">I", self.bytes_in & 0xFFFFFFFF), csid=CSID_CONTROL)

    def _control(self, msg):
        if msg.type_id == SET_CHUNK_SIZE and len(msg.payload) >= 4:
            self.in_chunk_size = struct.unpack(">I", msg.payload[:4])[0] & 0x7FFFFFFF
        elif msg.type_id == WINDOW_ACK_SIZE and len(msg.payload) >= 4:
            self.ack_window = struct.unpack(">I", msg.payload[:4])[0]
        elif msg.type_id == USER_CONTROL and len(msg.payload) >= 6:
            event = struct.unpack(">H", msg.payload[:2])[0]
            if event == 6:  # PingRequest -> PingResponse with the same timestamp
                self.send_message(USER_CONTROL, struct.pack(">H", 7) + msg.payload[2:6], csid=CSID_CONTROL)

    def wait_command(self, pred, timeout=None):
        """Reads until a command message for which pred(name, txid, args, msg)
        is true; every other message is kept in self.received."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            msg = self.recv_message(max(0.0, deadline - time.monotonic()))
            if msg.type_id == COMMAND_AMF0:
                name, txid, args = msg.command()
                if pred(name, txid, args, msg):
                    return msg
            self.received.append(msg)

    def wait_reply(self, txid, timeout=None):
        return self.wait_command(lambda n, t, a, m: n in ("_result", "_error") and t == txid, timeout)

    def wait_status(self, codes=None, timeout=None):
        """The next onStatus (whose code is in `codes`, if given)."""
        def pred(name, txid, args, msg):
            return name == "onStatus" and (codes is None or msg.status_code() in codes)
        return self.wait_command(pred, timeout)

    # ------------------------------------------------------------ commands
    def connect(self, app, tc_url=None, extra=None, timeout=None):
        """Sends connect; returns the _result or _error message."""
        props = {"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0 (weir-test)",
                 "tcUrl": tc_url or f"rtmp://127.0.0.1/{app}", "objectEncoding": 0.0}
        if extra:
            props.update(extra)
        txid = self.call("connect", props)
        return self.wait_reply(txid, timeout)

    def create_stream(self, timeout=None):
        txid = self.call("createStream", None)
        reply = self.wait_reply(txid, timeout)
        name, _, args = reply.command()
        if name != "_result":
            raise RtmpError(f"createStream: {reply}")
        return int(args[1])

    def publish(self, name, stream_id=1, timeout=None):
        """Sends publish; returns the onStatus message (Publish.Start or an error)."""
        self.send_command("publish", 0.0, None, name, "live", stream_id=stream_id)
        return self.wait_status(timeout=timeout)

    def play(self, name, stream_id=1, timeout=None):
        """Sends play; returns the first onStatus that starts or refuses play."""
        self.send_command("play", 0.0, None, name, -2000.0, stream_id=stream_id)
        return self.wait_status(codes=("NetStream.Play.Start", "NetStream.Play.StreamNotFound",
                                       "NetStream.Play.Failed"), timeout=timeout)

    def start_publish(self, app, name, chunk_size=4096, extra_connect=None):
        """handshake + set chunk size + connect + createStream + publish; returns stream id."""
        self.handshake()
        self.set_chunk_size(chunk_size)
        res = self.connect(app, extra=extra_connect)
        if res.command()[0] != "_result":
            raise RtmpError(f"connect refused: {res.status_code()}")
        sid = self.create_stream()
        st = self.publish(name, sid)
        if st.status_code() != "NetStream.Publish.Start":
            raise RtmpError(f"publish refused: {st.status_code()}")
        return sid

    def start_play(self, app, name, extra_connect=None, timeout=None):
        """handshake + connect + createStream + play; returns the play onStatus."""
        self.handshake()
        res = self.connect(app, extra=extra_connect)
        if res.command()[0] != "_result":
            raise RtmpError(f"connect refused: {res.status_code()}")
        sid = self.create_stream()
        return self.play(name, sid, timeout=timeout)

    def read_media(self, until=None, timeout=10.0):
        """Collects audio/video/data messages (also those already in
        self.received) until until(list) is true, the server closes the
        connection, or `timeout` passes. Returns (messages, end) where end is
        "until", "eof", "reset" or "timeout"; command messages are kept in
        self.commands."""
        media = []
        self.commands = getattr(self, "commands", [])

        def take(m):
            if m.type_id in (AUDIO, VIDEO, DATA_AMF0):
                media.append(m)
            elif m.type_id == COMMAND_AMF0:
                self.commands.append(m)

        for m in self.received:
            take(m)
        self.received = []
        deadline = time.monotonic() + timeout
        while True:
            if until and until(media):
                return media, "until"
            left = deadline - time.monotonic()
            if left <= 0:
                return media, "timeout"
            try:
                take(self.recv_message(left))
            except ConnectionClosed as e:
                return media, e.how
            except socket.timeout:
                return media, "timeout"
