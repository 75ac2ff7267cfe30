"""FLV parsing (Adobe FLV spec v10.1, annex E, plus the Veovera Enhanced RTMP
ExVideoTagHeader): the file header, tags with their timestamps and bodies, and
enough of the audio/video tag headers to tell sequence headers, keyframes and
script names apart. FlvParser is incremental, for live HTTP/WebSocket reads."""

import struct
from dataclasses import dataclass

from . import amf0

AUDIO, VIDEO, SCRIPT = 8, 9, 18
FLV_HEADER_LEN = 9


class FlvError(ValueError):
    pass


@dataclass
class FlvTag:
    type: int
    timestamp: int  # ms, 32-bit (extended byte included)
    body: bytes
    offset: int = 0  # byte offset of the tag header in the stream (after the 13-byte preamble = 13)
    arrival: float = 0.0  # time.monotonic() when it was parsed (live readers)

    # ---- generic
    @property
    def is_video(self):
        return self.type == VIDEO

    @property
    def is_audio(self):
        return self.type == AUDIO

    @property
    def is_script(self):
        return self.type == SCRIPT

    # ---- video
    @property
    def enhanced(self):
        return self.is_video and len(self.body) > 0 and bool(self.body[0] & 0x80)

    @property
    def frame_type(self):
        if not self.is_video or not self.body:
            return None
        return (self.body[0] >> 4) & 0x07 if self.enhanced else self.body[0] >> 4

    @property
    def codec_id(self):
        """Legacy VideoCodecId (7 = AVC) or SoundFormat (10 = AAC); None for enhanced video."""
        if not self.body:
            return None
        if self.is_video:
            return None if self.enhanced else self.body[0] & 0x0F
        if self.is_audio:
            return self.body[0] >> 4
        return None

    @property
    def packet_type(self):
        """AVCPacketType / AACPacketType (legacy) or E-RTMP VideoPacketType."""
        if self.is_video:
            if self.enhanced:
                return self.body[0] & 0x0F
            return self.body[1] if len(self.body) > 1 else None
        if self.is_audio and self.codec_id == 10:
            return self.body[1] if len(self.body) > 1 else None
        return None

    @property
    def fourcc(self):
        return self.body[1:5].decode("latin-1") if self.enhanced and len(self.body) >= 5 else None

    @property
    def cts(self):
        """Composition time offset in ms (SI24), 0 where the tag has none."""
        if not self.is_video:
            return 0
        if self.enhanced:
            if self.packet_type == 1 and self.fourcc in ("avc1", "hvc1") and len(self.body) >= 8:
                return _si24(self.body[5:8])
            return 0
        if self.codec_id in (7, 12, 13) and len(self.body) >= 5:
            return _si24(self.body[2:5])
        return 0

    @property
    def is_video_config(self):
        return self.is_video and self.packet_type == 0

    @property
    def is_avc_seq_header(self):
        return self.is_video and not self.enhanced and self.codec_id == 7 and self.packet_type == 0

    @property
    def is_keyframe(self):
        """A key frame carrying a picture (not a sequence header)."""
        return self.is_video_frame and self.frame_type in (1, 4)

    @property
    def is_video_frame(self):
        """A coded picture (legacy NALU packet or E-RTMP CodedFrames/CodedFramesX)."""
        return self.is_video and self.packet_type in (1, 3) and (self.enhanced or self.packet_type == 1)

    def video_payload(self):
        """Codec payload after the tag headers (length-prefixed NALs, or the
        decoder configuration record of a sequence header)."""
        if self.enhanced:
            pt = self.packet_type
            if pt == 1 and self.fourcc in ("avc1", "hvc1"):
                return self.body[8:]
            return self.body[5:]
        return self.body[5:]

    # ---- audio
    @property
    def is_aac_seq_header(self):
        return self.is_audio and self.codec_id == 10 and self.packet_type == 0

    @property
    def is_audio_frame(self):
        return self.is_audio and not (self.codec_id == 10 and self.packet_type == 0)

    # ---- script
    @property
    def script_name(self):
        if not self.is_script:
            return None
        try:
            v = amf0.decode_first(self.body)
        except amf0.AmfError:
            return None
        return v if isinstance(v, str) else None

    def script_values(self):
        return amf0.decode_all(self.body)

    def kind(self):
        """Short label, handy in assertion messages."""
        if self.is_script:
            return f"script:{self.script_name}"
        if self.is_avc_seq_header or (self.enhanced and self.is_video_config):
            return "video-config"
        if self.is_aac_seq_header:
            return "aac-config"
        if self.is_video:
            return "video-key" if self.is_keyframe else "video"
        return "audio"

    def serialize(self):
        """The tag as FLV bytes (header + body + PreviousTagSize)."""
        return make_tag(self.type, self.timestamp, self.body)

    def __repr__(self):
        return f"FlvTag({self.kind()} ts={self.timestamp} len={len(self.body)})"


def _si24(b):
    v = (b[0] << 16) | (b[1] << 8) | b[2]
    return v - (1 << 24) if v & 0x800000 else v


def make_tag(tag_type, timestamp, body):
    ts = timestamp & 0xFFFFFFFF
    hdr = struct.pack(">B", tag_type) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
    hdr += bytes([(ts >> 24) & 0xFF]) + b"\x00\x00\x00"
    return hdr + bytes(body) + struct.pack(">I", 11 + len(body))


def make_header(has_audio=True, has_video=True):
    return b"FLV\x01" + bytes([(4 if has_audio else 0) | (1 if has_video else 0)]) + struct.pack(">I", 9) + b"\x00\x00\x00\x00"


class FlvParser:
    """Incremental FLV reader: feed() bytes as they come, get complete tags.
    Checks the signature, the header size, every tag's stream id and every
    PreviousTagSize, so a stream damaged in transit fails loudly."""

    def __init__(self, now=None):
        self.buf = bytearray()
        self.header = None  # the 9 header bytes
        self.flags = None
        self._pos = 0  # stream offset of buf[0]
        self._got_prev0 = False
        self._now = now

    def feed(self, data):
        self.buf += data
        tags = []
        while True:
            if self.header is None:
                if len(self.buf) < FLV_HEADER_LEN:
                    return tags
                if bytes(self.buf[:3]) != b"FLV":
                    raise FlvError(f"bad FLV signature {bytes(self.buf[:3])!r}")
                size = struct.unpack(">I", self.buf[5:9])[0]
                if size != 9:
                    raise FlvError(f"FLV header size {size}")
                self.header = bytes(self.buf[:9])
                self.flags = self.buf[4]
                self._consume(9)
            if not self._got_prev0:
                if len(self.buf) < 4:
                    return tags
                if struct.unpack(">I", self.buf[:4])[0] != 0:
                    raise FlvError("PreviousTagSize0 is not 0")
                self._consume(4)
                self._got_prev0 = True
            if len(self.buf) < 11:
                return tags
            ttype = self.buf[0] & 0x1F
            size = int.from_bytes(self.buf[1:4], "big")
            if len(self.buf) < 11 + size + 4:
                return tags
            ts = int.from_bytes(self.buf[4:7], "big") | (self.buf[7] << 24)
            sid = int.from_bytes(self.buf[8:11], "big")
            if sid != 0:
                raise FlvError(f"tag at {self._pos}: stream id {sid}")
            if ttype not in (AUDIO, VIDEO, SCRIPT):
                raise FlvError(f"tag at {self._pos}: type {ttype}")
            body = bytes(self.buf[11:11 + size])
            prev = struct.unpack(">I", self.buf[11 + size:15 + size])[0]
            if prev != 11 + size:
                raise FlvError(f"tag at {self._pos}: PreviousTagSize {prev}, want {11 + size}")
            tag = FlvTag(ttype, ts, body, self._pos, self._now() if self._now else 0.0)
            self._consume(15 + size)
            tags.append(tag)

    def _consume(self, n):
        del self.buf[:n]
        self._pos += n

    @property
    def leftover(self):
        return len(self.buf)


def parse_flv(data):
    """(header bytes, [FlvTag]) for a complete FLV byte string; a trailing
    partial tag (a stream cut mid-tag) is ignored."""
    p = FlvParser()
    tags = p.feed(data)
    return p.header, tags


def read_flv_file(path):
    with open(path, "rb") as f:
        return parse_flv(f.read())


def video_frames(tags):
    return [t for t in tags if t.is_video_frame]


def audio_frames(tags):
    return [t for t in tags if t.is_audio_frame]
