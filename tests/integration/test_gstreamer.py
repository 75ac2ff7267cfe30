"""GStreamer as a real RTMP client: rtmp2sink publishes (its connect /
releaseStream / FCPublish / createStream / publish sequence differs from
ffmpeg's and OBS's) and rtmp2src plays. Both are Debian's GStreamer 1.22
plugins (gstreamer1.0-plugins-bad), encoding with x264enc (plugins-ugly) and
avenc_aac (gstreamer1.0-libav)."""

import shutil
import subprocess

import pytest

from weirtest import media

GST = shutil.which("gst-launch-1.0")



@pytest.fixture(autouse=True)
def _need_gstreamer():
    # tools/dev.sh test installs it; a missing tool is a failure, not a skip.
    assert GST is not None, "gst-launch-1.0 is not installed (tools/dev.sh test installs GStreamer)"


def gst_publish_args(url, frames=125):
    # num-buffers on both sources ends the pipeline (EOS) after `frames` video
    # frames and the matching audio (1024-sample buffers at 44.1 kHz).
    audio_buffers = int(frames / 25 * 44100 / 1024) + 1
    return [GST, "-q",
            "videotestsrc", "is-live=true", f"num-buffers={frames}", "!",
            "video/x-raw,width=320,height=240,framerate=25/1", "!",
            "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=25", "!", "h264parse", "!",
            "flvmux", "name=m", "streamable=true", "!", "rtmp2sink", f"location={url}",
            "audiotestsrc", "is-live=true", "samplesperbuffer=1024", f"num-buffers={audio_buffers}", "!",
            "audio/x-raw,rate=44100,channels=2", "!", "audioconvert", "!", "avenc_aac", "!", "aacparse", "!", "m."]


def test_gstreamer_publishes_and_ffmpeg_plays(weir, tmp_path):
    s = weir()
    pub = subprocess.Popen(gst_publish_args(s.rtmp_url(stream="gst"), frames=150), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        s.wait_stream(name="gst", pred=lambda i: i["video_frames"] >= 10, timeout=15)
        out = tmp_path / "gst.flv"
        r = media.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                       s.http_url("/live/gst.flv"), "-t", "3", "-c", "copy", "-f", "flv", str(out)], timeout=30)
        assert r.returncode == 0, r.stderr
        info = media.streams(out)
        assert info["video"]["codec_name"] == "h264" and info["video"]["width"] == 320
        assert info["audio"]["codec_name"] == "aac"
        counts = media.count_frames(out)
        assert counts["video"] >= 60, counts  # 3 s at 25 fps, plus the cached GOP
        # Video must decode without a single error. Audio is checked by frame
        # count only: a live GStreamer pipeline stamps AAC frames with clock
        # jitter (frames 6-9 ms apart in its own FLV, before Weir sees them),
        # which ffmpeg's null muxer reports as non-monotonic dts.
        r = media.run([media.FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", str(out), "-an",
                       "-enc_time_base:v", "1:1000", "-f", "null", "-"], timeout=60)
        assert r.returncode == 0 and r.stderr == "", f"decoding GStreamer's video through Weir: {r.stderr}"
        assert counts["audio"] >= 100, counts
        assert pub.wait(30) == 0, pub.stdout.read().decode(errors="replace")
    finally:
        if pub.poll() is None:
            pub.kill()
    assert "publishing live/gst" in s.log()


def test_gstreamer_plays_rtmp(weir, tmp_path):
    s = weir()
    pub = media.start_publisher(s.rtmp_url(stream="p"), tmp_path, duration=8.0)
    s.wait_stream(name="p", pred=lambda i: i["video_frames"] >= 10)
    # rtmp2src -> flvdemux -> decode -> count frames; 60 buffers then EOS.
    r = subprocess.run([GST, "-q", "rtmp2src", f"location={s.rtmp_url(stream='p')}", "!", "flvdemux", "name=d",
                        "d.video", "!", "queue", "!", "h264parse", "!", "avdec_h264", "!",
                        "identity", "eos-after=60", "!", "fakesink", "sync=false"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace") + r.stdout.decode(errors="replace")
    pub.stop()
