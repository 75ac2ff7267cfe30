"""Enhanced RTMP (Veovera E-RTMP v1): HEVC published with the test RTMP client
(ffmpeg 5.1 cannot send E-RTMP) must come out byte-identical over HTTP-FLV and
RTMP, and decode.

Video tag layout (E-RTMP "ExVideoTagHeader"): byte 0 = IsExHeader (0x80) |
FrameType << 4 | VideoPacketType; then the FourCC ('hvc1'); then for
SequenceStart the HEVCDecoderConfigurationRecord, for CodedFrames an SI24
composition time offset and the length-prefixed NAL units, for CodedFramesX
the NAL units alone (composition time 0)."""

import json
import struct
import subprocess
import threading
import time

import pytest

from weirtest import media
from weirtest.flv import AUDIO, SCRIPT, VIDEO, FlvTag
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient

FOURCC_HVC1 = 0x68766331
SEQUENCE_START, CODED_FRAMES, CODED_FRAMES_X = 0, 1, 3
KEY, INTER = 1, 2


class Source:
    """The HEVC+AAC test clip split into what an E-RTMP publisher sends."""

    def __init__(self, hvcc, asc, video, audio):
        self.hvcc = hvcc
        self.asc = asc
        self.video = video  # [(dts_ms, cts_ms, keyframe, sample bytes)]
        self.audio = audio  # [(dts_ms, raw AAC frame)]

    def tags(self):
        """[(type, timestamp, body)] in send order: metadata, configs, then media by DTS."""
        meta = {"width": 320.0, "height": 240.0, "framerate": 25.0, "videocodecid": float(FOURCC_HVC1),
                "audiocodecid": 10.0, "audiosamplerate": 44100.0, "stereo": True}
        out = [(SCRIPT, 0, meta),
               (VIDEO, 0, bytes([0x80 | KEY << 4 | SEQUENCE_START]) + b"hvc1" + self.hvcc),
               (AUDIO, 0, b"\xaf\x00" + self.asc)]
        mediatags = []
        for dts, cts, key, sample in self.video:
            ft = KEY if key else INTER
            if cts:
                body = bytes([0x80 | ft << 4 | CODED_FRAMES]) + b"hvc1" + (cts & 0xFFFFFF).to_bytes(3, "big") + sample
            else:
                body = bytes([0x80 | ft << 4 | CODED_FRAMES_X]) + b"hvc1" + sample
            mediatags.append((dts, 0, VIDEO, body))
        for dts, frame in self.audio:
            mediatags.append((dts, 1, AUDIO, b"\xaf\x01" + frame))
        mediatags.sort(key=lambda t: (t[0], t[1]))
        return out + [(t, ts, body) for ts, _, t, body in mediatags]


@pytest.fixture(scope="module")
def hevc_source(tmp_path_factory):
    d = tmp_path_factory.mktemp("hevc")
    mp4 = d / "hevc.mp4"
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2",
                        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:log-level=error",
                        "-tag:v", "hvc1", "-c:a", "aac", "-ac", "2", str(mp4)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    info = media.ffprobe_json(mp4, "-show_streams", "-show_packets", "-show_data")
    streams = {s["index"]: s for s in info["streams"]}
    vidx = next(i for i, s in streams.items() if s["codec_type"] == "video")
    aidx = next(i for i, s in streams.items() if s["codec_type"] == "audio")
    assert streams[vidx]["codec_name"] == "hevc"
    hvcc = media.hexdump_to_bytes(streams[vidx]["extradata"])
    asc = media.hexdump_to_bytes(streams[aidx]["extradata"])
    assert len(hvcc) == int(streams[vidx]["extradata_size"]) and hvcc[0] == 1, "hvcC"
    assert len(asc) == int(streams[aidx]["extradata_size"])

    def ms(x):
        return round(float(x) * 1000)

    pk = info["packets"]
    shift = max(0, -min(ms(p["dts_time"]) for p in pk))  # FLV timestamps cannot be negative
    video, audio = [], []
    for p in pk:
        data = media.hexdump_to_bytes(p["data"])
        assert len(data) == int(p["size"])
        dts = ms(p["dts_time"]) + shift
        if p["stream_index"] == vidx:
            video.append((dts, ms(p["pts_time"]) + shift - dts, "K" in p["flags"], data))
        elif p["stream_index"] == aidx:
            audio.append((dts, data))
    assert len(video) == 50 and any(c for _, c, _, _ in video), "want 50 frames, some with reordering"
    assert sum(1 for v in video if v[2]) == 2
    return Source(hvcc, asc, video, audio)


def hvcc_to_annexb(hvcc):
    """(length size, Annex B bytes of every NAL unit in the hvcC arrays)."""
    length_size = (hvcc[21] & 3) + 1
    n_arrays = hvcc[22]
    pos = 23
    out = bytearray()
    for _ in range(n_arrays):
        pos += 1  # completeness + NAL unit type
        count = struct.unpack(">H", hvcc[pos:pos + 2])[0]
        pos += 2
        for _ in range(count):
            n = struct.unpack(">H", hvcc[pos:pos + 2])[0]
            pos += 2
            out += b"\x00\x00\x00\x01" + hvcc[pos:pos + n]
            pos += n
    assert pos == len(hvcc), f"hvcC parse ended at {pos} of {len(hvcc)}"
    return length_size, bytes(out)


def sample_to_annexb(sample, length_size):
    out = bytearray()
    pos = 0
    while pos < len(sample):
        n = int.from_bytes(sample[pos:pos + length_size], "big")
        pos += length_size
        assert pos + n <= len(sample), "NAL length runs past the sample"
        out += b"\x00\x00\x00\x01" + sample[pos:pos + n]
        pos += n
    return bytes(out)


class RtmpPlayer(threading.Thread):
    def __init__(self, addr, name):
        super().__init__(daemon=True)
        self.client = RtmpClient.open(addr)
        self.client.handshake()
        assert self.client.connect("live", extra={"fourCcList": ["hvc1"]}).command()[0] == "_result"
        sid = self.client.create_stream()
        self.client.send_command("play", 0.0, None, name, -2000.0, stream_id=sid)
        self.media, self.end = [], None

    def run(self):
        self.media, self.end = self.client.read_media(timeout=60)


def publish(s, source, name):
    c = RtmpClient.open(s.rtmp_addr)
    c.start_publish("live", name, chunk_size=65536, extra_connect={"fourCcList": ["hvc1"]})
    sent = []
    for t, ts, body in source.tags():
        if t == SCRIPT:
            c.send_metadata(body)
        elif t == VIDEO:
            c.send_video(ts, body)
            sent.append((VIDEO, ts, body))
        else:
            c.send_audio(ts, body)
            sent.append((AUDIO, ts, body))
    c.call("FCUnpublish", name)
    c.send_command("deleteStream", 0.0, None, 1.0)
    return c, sent


def test_hevc_enhanced_rtmp_passthrough(weir, tmp_path, hevc_source):
    s = weir({"apps": {"live": {"play_wait_ms": 10000, "reconnect_grace_ms": 0}}})
    viewer = FlvViewer(s.http_addr, "/live/hevc.flv")
    viewer.start()
    player = RtmpPlayer(s.rtmp_addr, "hevc")
    player.start()
    time.sleep(0.5)  # both are held by play_wait_ms now
    pub, sent = publish(s, hevc_source, "hevc")
    assert viewer.wait_end(15) == "eof", f"HTTP-FLV viewer: {viewer.end}"
    player.join(15)
    assert player.end in ("eof", "reset"), f"RTMP player: {player.end}"
    pub.close()
    assert viewer.parse_error is None, viewer.parse_error

    sent_video = [(ts, body) for t, ts, body in sent if t == VIDEO]
    sent_audio = [(ts, body) for t, ts, body in sent if t == AUDIO]
    http_tags = viewer.snapshot()
    rtmp_tags = [FlvTag(m.type_id, m.timestamp, m.payload) for m in player.media]
    for what, tags in (("http-flv", http_tags), ("rtmp", rtmp_tags)):
        meta = [t for t in tags if t.script_name == "onMetaData"]
        assert len(meta) == 1, f"{what}: {len(meta)} onMetaData tags"
        assert meta[0].script_values()[1]["videocodecid"] == FOURCC_HVC1
        got_video = [(t.timestamp, t.body) for t in tags if t.is_video]
        got_audio = [(t.timestamp, t.body) for t in tags if t.is_audio]
        assert len(got_video) == len(sent_video), f"{what}: {len(got_video)} video tags, sent {len(sent_video)}"
        for i, (g, w) in enumerate(zip(got_video, sent_video)):
            assert g[0] == w[0], f"{what}: video tag {i} timestamp {g[0]}, sent {w[0]}"
            assert g[1] == w[1], f"{what}: video tag {i} body differs (first bytes {g[1][:12].hex()} vs " \
                                 f"{w[1][:12].hex()}, lengths {len(g[1])} vs {len(w[1])})"
        assert got_audio == sent_audio, f"{what}: audio tags differ ({len(got_audio)} vs {len(sent_audio)})"
        v0 = next(t for t in tags if t.is_video)
        assert v0.enhanced and v0.fourcc == "hvc1" and v0.packet_type == SEQUENCE_START
        assert v0.video_payload() == hevc_source.hvcc

        # Decode what came out: hvcC parameter sets + samples as Annex B.
        length_size, params = hvcc_to_annexb(v0.video_payload())
        stream = bytearray(params)
        frames = [t for t in tags if t.is_video_frame]
        assert len(frames) == len(hevc_source.video)
        for t in frames:
            stream += sample_to_annexb(t.video_payload(), length_size)
        rc, n, err = media.decode_count(bytes(stream), "hevc")
        assert rc == 0, f"{what}: ffmpeg failed to decode the HEVC elementary stream: {err[-2000:]}"
        assert n == len(hevc_source.video), f"{what}: decoded {n} frames of {len(hevc_source.video)}: {err[-1000:]}"
        assert not err.strip(), f"{what}: decoder errors: {err[-2000:]}"
    info = s.api()
    assert info == []


def test_connect_fourcc_list_echo(weir):
    s = weir({})
    c = RtmpClient.open(s.rtmp_addr)
    c.handshake()
    reply = c.connect("live", extra={"fourCcList": ["hvc1", "av01", "vp09"]})
    name, _, args = reply.command()
    assert name == "_result"
    props = args[0]
    assert props.get("fourCcList") == ["hvc1", "av01", "vp09"], f"connect _result properties: {json.dumps(props)}"
    # An unknown FourCC is not echoed.
    c2 = RtmpClient.open(s.rtmp_addr)
    c2.handshake()
    reply = c2.connect("live", extra={"fourCcList": ["hvc1", "zzzz"]})
    assert reply.command()[2][0].get("fourCcList") == ["hvc1"], reply.command()[2][0]
    # Without a list, none comes back.
    c3 = RtmpClient.open(s.rtmp_addr)
    c3.handshake()
    reply = c3.connect("live")
    assert "fourCcList" not in reply.command()[2][0]
