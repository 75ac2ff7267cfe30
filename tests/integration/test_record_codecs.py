"""Recording VP9 and MP3 into VOD assets (fMP4 'vp09' + 'vpcC', 'mp4a' + esds
objectTypeIndication 0x6B).

One server; both publishers start when the module starts and run side by
side in real time:
- `rec/evp9`: 6 s of VP9 (libvpx-vp9, realtime) over Enhanced RTMP with the
  test RTMP client (ffmpeg 5.1 cannot send E-RTMP): FourCC 'vp09', the
  SequenceStart carries the VPCodecConfigurationRecord (the vpcC body
  FFmpeg wrote into an MP4), the CodedFrames the VP9 frames (superframes
  whole), paced on their timestamps;
- `rec/mp3`: 6 s of H.264 + MP3 (libmp3lame) pushed by ffmpeg as FLV (MP3
  is SoundFormat 2, no config packet: the first frame configures it).
While they are live, their LL-HLS (fMP4) output is checked too: one init with
every track, segments that decode."""

import subprocess
import threading
import time

import pytest

from weirtest import hls, media
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

from test_record import REC, fetch, probe, wait_assets

SEQUENCE_START, CODED_FRAMES = 0, 1
KEY, INTER = 1, 2
SECONDS = 6


def vpcc_body(mp4):
    """The 12-byte body (FullBox header + fields) of the vpcC box in `mp4`."""
    data = mp4.read_bytes()
    at = data.find(b"vpcC")
    assert at >= 4, "no vpcC box"
    size = int.from_bytes(data[at - 4:at], "big")
    assert size == 20, f"vpcC of {size} bytes"
    return data[at + 4:at - 4 + size]


@pytest.fixture(scope="module")
def vp9_clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("vp9")
    mp4 = d / "vp9.mp4"
    r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", str(SECONDS),
                        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "25",
                        "-b:v", "300k", "-an", str(mp4)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    record = vpcc_body(mp4)
    assert record[0] == 1, "vpcC version 1"
    info = media.ffprobe_json(mp4, "-show_packets", "-show_data")
    frames = []
    for p in info["packets"]:
        data = media.hexdump_to_bytes(p["data"])
        assert len(data) == int(p["size"])
        frames.append((round(float(p["dts_time"]) * 1000), "K" in p["flags"], data))
    assert len(frames) == SECONDS * 25 and frames[0][1]
    return record, frames


def _evp9_publisher(s, clip, done):
    record, frames = clip
    c = RtmpClient.open(s.rtmp_addr)
    c.start_publish("rec", "evp9", chunk_size=65536, extra_connect={"fourCcList": ["vp09"]})
    c.send_metadata({"width": 320.0, "height": 240.0, "framerate": 25.0,
                     "videocodecid": float(int.from_bytes(b"vp09", "big"))})
    c.send_video(0, bytes([0x80 | KEY << 4 | SEQUENCE_START]) + b"vp09" + record)
    t0 = time.monotonic()
    for dts, key, data in frames:
        ahead = dts / 1000.0 - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
        # E-RTMP: CodedFrames carries a composition time only for avc1/hvc1.
        c.send_video(dts, bytes([0x80 | (KEY if key else INTER) << 4 | CODED_FRAMES]) + b"vp09" + data)
    c.call("FCUnpublish", "evp9")
    c.send_command("deleteStream", 0.0, None, 1.0)
    time.sleep(0.5)
    c.close()
    done.set()


def h264_mp3_args(url):
    return [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(SECONDS),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-b:v", "500k",
            "-c:a", "libmp3lame", "-ar", "44100", "-ac", "2", "-b:a", "128k", "-f", "flv", url]


@pytest.fixture(scope="module")
def rec(weir_module, tmp_path_factory, vp9_clip):
    s = weir_module({"workers": 2, "apps": {"rec": REC}}, name="reccodecs")
    logdir = tmp_path_factory.mktemp("codecpubs")
    done = threading.Event()
    t = threading.Thread(target=_evp9_publisher, args=(s, vp9_clip, done), daemon=True)
    t.start()
    mp3 = media.Proc(h264_mp3_args(s.rtmp_url("rec", "mp3")), logdir, "mp3")
    # The first request starts each stream's packager (from its oldest keyframe).
    for name in ("evp9", "mp3"):
        s.wait_stream("rec", name, pred=lambda i: i["video_frames"] >= 10)
        hls.playlist(s, f"/rec/{name}/llhls.m3u8")
    yield s
    mp3.stop()
    t.join(timeout=30)


@pytest.mark.parametrize("name,codecs", [("evp9", ["vp9"]), ("mp3", ["h264", "mp3"])])
def test_llhls_fmp4_carries_vp9_and_mp3(rec, tmp_path, name, codecs):
    s = rec
    base = f"/rec/{name}/"
    pl = None

    def two_segments():
        nonlocal pl
        pl = hls.playlist(s, base + "llhls.m3u8")
        return len(pl.complete_segments) >= 2

    wait_until(two_segments, 10, f"two complete LL-HLS segments of rec/{name}", interval=0.2)
    segs = pl.complete_segments
    assert len({sg.map for sg in segs}) == 1 and not any(sg.discontinuity for sg in segs), pl.text
    init = hls.get_ok(s, base + segs[0].map).body
    data = init + b"".join(hls.get_ok(s, base + sg.uri).body for sg in segs)
    f = tmp_path / f"{name}.mp4"
    f.write_bytes(data)
    info = media.ffprobe_json(f, "-show_streams")
    assert sorted(x["codec_name"] for x in info["streams"]) == codecs, info["streams"]
    rc, err = media.decode_errors(f)
    assert rc == 0 and not err.strip(), err[-2000:]


def test_vp9_over_enhanced_rtmp_is_recorded(rec, tmp_path):
    s = rec
    [a] = wait_assets(s, 1, timeout=45, app="rec", stream="evp9", state="ready")
    assert a["video"]["codec"] == "vp9" and not a.get("audio"), a
    assert a["video"]["width"] == 320 and a["video"]["height"] == 240, a
    assert abs(a["duration_s"] - SECONDS) <= 0.5, a
    mp4 = tmp_path / "vp9.mp4"
    mp4.write_bytes(fetch(s, a["urls"]["mp4"]).body)
    dur, streams = probe(mp4)
    v = streams["video"]
    assert v["codec_name"] == "vp9" and v["codec_tag_string"] == "vp09", v
    assert int(v["width"]) == 320 and int(v["height"]) == 240, v
    assert abs(dur - SECONDS) <= 0.5, dur
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]
    assert media.count_frames(mp4)["video"] == SECONDS * 25
    # The cover is decoded from the first VP9 key frame.
    r = fetch(s, a["urls"]["cover"])
    assert r.status == 200 and r.headers["content-type"] == "image/jpeg"
    assert "left out" not in s.log(), s.log()[-3000:]


def test_h264_and_mp3_over_rtmp_are_recorded(rec, tmp_path):
    s = rec
    [a] = wait_assets(s, 1, timeout=45, app="rec", stream="mp3", state="ready")
    assert a["video"]["codec"] == "h264" and a["audio"]["codec"] == "mp3", a
    assert abs(a["duration_s"] - SECONDS) <= 0.5, a
    mp4 = tmp_path / "mp3.mp4"
    mp4.write_bytes(fetch(s, a["urls"]["mp4"]).body)
    dur, streams = probe(mp4)
    assert streams["video"]["codec_name"] == "h264", streams
    au = streams["audio"]
    assert au["codec_name"] == "mp3" and au["codec_tag_string"] == "mp4a", au
    assert int(au["sample_rate"]) == 44100 and int(au["channels"]) == 2, au
    assert abs(dur - SECONDS) <= 0.5, dur
    assert abs(float(au["duration"]) - SECONDS) <= 0.5, au
    rc, err = media.decode_errors(mp4)
    assert rc == 0 and not err.strip(), err[-2000:]
    # Every segment's init has both tracks: the MP3 track joined the first one.
    segs = [p for p in (s.workdir / "weir-data").rglob("*" + a["id"]) if p.is_dir()]
    assert segs
    seg_files = sorted(segs[0].glob("seg-*.mp4"))
    assert seg_files, list(segs[0].iterdir())
    for seg in seg_files:
        info = media.ffprobe_json(seg, "-show_streams")
        assert sorted(x["codec_name"] for x in info["streams"]) == ["h264", "mp3"], (seg, info["streams"])
    # No packet was left out on the way (the log would say so).
    log = s.log()
    assert "left out" not in log, log[-3000:]
