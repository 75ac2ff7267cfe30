"""transcode_mode `always` and a source that goes away: the job starts with
the source's publish (no viewer needed), outlives a publisher that drops and
comes back within the reconnect grace, even at another resolution (the
decoder reopens, the graph is rebuilt, the encoder and its output go on), and
ends with the source when no publisher comes back.

Real processes: ffmpeg publishes H.264/AAC over RTMP; the viewer is an
HTTP-FLV client; ffprobe reads what it got."""

import time

from weirtest import checks, media
from weirtest.httpc import FlvViewer
from weirtest.server import wait_until

from test_transcode import config, publish_720p


def transcodes(s):
    return s.api("/api/v1/transcodes")


def video_frames(tags):
    return [t for t in tags if t.is_video_frame]


def test_always_job_survives_a_republish_at_another_size_and_ends_with_the_source(weir, tmp_path):
    cfg = config(idle_ms=1000)
    cfg["apps"]["live"]["transcode_mode"] = "always"
    cfg["apps"]["live"]["reconnect_grace_ms"] = 6000
    s = weir(cfg)
    pub = publish_720p(s, tmp_path, size="854x480", bitrate="1200k")
    try:
        # No viewer: the job starts with the publish and its output is live.
        wait_until(lambda: s.stream_info("live", "s_360p") is not None, 30, "the rendition without a viewer")
        s.wait_log(r"transcode live/s: started \(always\)", timeout=5)
        [job] = transcodes(s)
        assert job["mode"] == "always" and job["stream"] == "s", job
        # ...and stays past idle_ms with no viewer.
        time.sleep(2.0)
        assert len(transcodes(s)) == 1

        v = FlvViewer(s.http_addr, "/live/s_360p.flv", connect_timeout=30)
        v.start()
        wait_until(lambda: len(video_frames(v.tags)) >= 60, 60, "rendition video before the republish")
        pub.stop()
        gone = time.monotonic()
        pub = publish_720p(s, tmp_path, name="s", size="1280x720", bitrate="2000k")
        assert time.monotonic() - gone < 6.0, "the republish took longer than the grace"
        before = len(video_frames(v.tags))
        wait_until(lambda: len(video_frames(v.tags)) >= before + 90, 60, "rendition video after the republish")
        assert v.end is None, v.end
        [job] = transcodes(s)
        assert job["frames_dropped"] >= 0 and job["frames_out"] > 150, job
        tags = v.snapshot()
        checks.assert_per_track_monotonic(tags, "rendition viewer across the republish")
        v.stop()
        path = tmp_path / "rendition.flv"
        path.write_bytes(bytes(v.raw))
        # One output stream at the size it started with, decoding cleanly
        # across the source's change of size.
        sizes = {(f["width"], f["height"]) for f in media.ffprobe_json(
            path, "-select_streams", "v", "-show_entries", "frame=width,height")["frames"]}
        assert sizes == {(640, 360)}, sizes
        checks.assert_decodes_cleanly(path)

        # The source goes for good: the job and its output end after the grace.
        pub.stop()
        stopped = time.monotonic()
        wait_until(lambda: not transcodes(s), 20, "the job to end with its source")
        assert time.monotonic() - stopped >= 4.0, "the job ended inside the reconnect grace"
        wait_until(lambda: s.stream_info("live", "s_360p") is None, 10, "the output to end")
        s.wait_log(r"transcode live/s: stopped \(source ended", timeout=5)
    finally:
        pub.stop()
