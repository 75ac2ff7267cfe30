"""Transcoding (src/transcode): ABR renditions made in-process with FFmpeg's
libraries, started by the first viewer of a rendition, stopped when idle,
capped by transcode.max_jobs, failing alone on an undecodable source.

Real processes: ffmpeg publishes 720p30 H.264/AAC over RTMP; viewers are
HTTP-FLV clients (weirtest.httpc.FlvViewer) and ffprobe reads what they got."""

import time

from weirtest import media
from weirtest.httpc import FlvViewer, get
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

RENDITION_KBPS = 800


def config(**transcode):
    tc = {"threads": 2, "max_jobs": 2, "idle_ms": 2000, "encoder_threads": 1}
    tc.update(transcode)
    return {"workers": 2, "transcode": tc,
            "apps": {"live": {"reconnect_grace_ms": 2000, "hls": {"enabled": False},
                              "renditions": {"360p": {"height": 360, "fps": 30, "preset": "veryfast",
                                                      "bitrate_kbps": RENDITION_KBPS,
                                                      "maxrate_kbps": RENDITION_KBPS}}}}}


def publish_720p(s, tmp_path, name="s", **kw):
    args = dict(duration=None, size="1280x720", fps=30, gop=60, bitrate="2500k")
    args.update(kw)
    p = media.start_publisher(s.rtmp_url("live", name), tmp_path, name=f"pub-{name}", **args)
    s.wait_stream("live", name, timeout=20)
    return p


def keyframes(tags):
    return [t.timestamp for t in tags if t.is_video and t.frame_type == 1 and not t.is_video_config]


def jobs(s):
    return s.metric("weir_transcode_jobs")


def test_rendition_size_rate_bitrate_and_keyframes(weir, tmp_path):
    s = weir(config())
    pub = publish_720p(s, tmp_path)
    try:
        src = FlvViewer(s.http_addr, "/live/s.flv")
        src.start()
        rend = FlvViewer(s.http_addr, "/live/s_360p.flv", connect_timeout=30)
        rend.start()
        assert rend.started.wait(30), "no answer for the rendition"
        assert rend.status == 200, (rend.status, bytes(rend.error_body))
        wait_until(lambda: len([t for t in rend.tags if t.is_video]) >= 14 * 30, 90, "14 s of rendition video")
        rend.stop()
        src.stop()
    finally:
        pub.stop()
    path = tmp_path / "rendition.flv"
    path.write_bytes(bytes(rend.raw))
    v = media.streams(path)["video"]
    assert (v["width"], v["height"]) == (640, 360)
    assert v["codec_name"] == "h264"
    assert "audio" in media.streams(path)
    pk = [p for p in media.packets(path) if p["type"] == "video" and p["dts"] is not None]
    # Rate and bitrate over the steady part (the first 2 s skipped).
    t0 = pk[0]["dts"] + 2.0
    steady = [p for p in pk if p["dts"] >= t0]
    span = steady[-1]["dts"] - steady[0]["dts"]
    assert span >= 10.0, span
    fps = (len(steady) - 1) / span
    assert 28.5 <= fps <= 31.5, fps
    kbps = sum(p["size"] for p in steady[:-1]) * 8 / span / 1000
    assert 0.8 * RENDITION_KBPS <= kbps <= 1.2 * RENDITION_KBPS, kbps
    # Keyframes of the rendition are the source's (same timestamps), and
    # every source keyframe the rendition covers is one of its keyframes.
    src_keys, rend_keys = set(keyframes(src.tags)), keyframes(rend.tags)
    assert len(rend_keys) >= 5, rend_keys
    assert set(rend_keys) <= src_keys, (rend_keys, sorted(src_keys))
    last = max(t.timestamp for t in rend.tags if t.is_video)
    covered = [k for k in src_keys if rend_keys[0] <= k <= last - 1000]
    assert set(covered) <= set(rend_keys), (sorted(covered), rend_keys)


def test_job_stops_when_idle_and_max_jobs_refuses_with_503(weir, tmp_path):
    s = weir(config(max_jobs=1, idle_ms=1500))
    pubs = [publish_720p(s, tmp_path, "a", size="640x360", bitrate="800k"),
            publish_720p(s, tmp_path, "b", size="640x360", bitrate="800k")]
    try:
        v = FlvViewer(s.http_addr, "/live/a_360p.flv", connect_timeout=30)
        v.start()
        wait_until(lambda: len([t for t in v.tags if t.is_video]) >= 30, 60, "rendition video of a")
        assert jobs(s) == 1
        # b's rendition would need a second job.
        r = get(s.http_addr, "/live/b_360p.flv", timeout=10, read_body=False)
        assert r.status == 503, r.status
        s.wait_log(r"transcode: play of live/b_360p .* refused: transcode.max_jobs \(1\) reached", timeout=5)
        assert s.metric("weir_transcode_frames_out_total{app=\"live\",stream=\"a\"}") > 0
        # The last viewer leaves: the job stops idle_ms later, and its output with it.
        v.stop()
        left = time.monotonic()
        wait_until(lambda: jobs(s) == 0, 15, "the idle job to stop")
        assert time.monotonic() - left >= 1.0
        s.wait_log(r"transcode live/a: no viewer for 1500 ms; stopping", timeout=5)
        wait_until(lambda: s.stream_info("live", "a_360p") is None, 10, "the output to end")
        # Now b's rendition can start.
        w = FlvViewer(s.http_addr, "/live/b_360p.flv", connect_timeout=30)
        w.start()
        wait_until(lambda: len([t for t in w.tags if t.is_video]) >= 30, 60, "rendition video of b")
        w.stop()
    finally:
        for p in pubs:
            p.stop()


def test_undecodable_source_fails_its_job_alone(weir, tmp_path):
    s = weir(config())
    good = publish_720p(s, tmp_path, "good", size="640x360", bitrate="800k")
    bad = RtmpClient.open(s.rtmp_addr)
    try:
        bad.start_publish("live", "bad")
        # An AVC sequence header whose avcC is garbage, then "frames".
        bad.send_video(0, bytes([0x17, 0, 0, 0, 0]) + b"\x01\x64\x00" + b"\xff" * 20)
        for i in range(1, 60):
            bad.send_video(i * 33, bytes([0x17 if i % 30 == 0 else 0x27, 1, 0, 0, 0]) + b"\x00\x00\x00\x05garbage")
        s.wait_stream("live", "bad", timeout=10)
        mark = s.log_offset()
        r = get(s.http_addr, "/live/bad_360p.flv", timeout=30, read_body=False)
        s.wait_log(r"transcode live/bad: (failed|not started): .*", timeout=20, start=mark)
        # The good source transcodes meanwhile.
        v = FlvViewer(s.http_addr, "/live/good_360p.flv", connect_timeout=30)
        v.start()
        wait_until(lambda: len([t for t in v.tags if t.is_video]) >= 30, 60, "rendition video of good")
        v.stop()
        assert s.stream_info("live", "good") is not None
        assert r.status in (200, 404), r.status
    finally:
        bad.close()
        good.stop()
