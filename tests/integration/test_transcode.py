"""Transcoding (src/transcode): ABR renditions made in-process with FFmpeg's
libraries, started by the first viewer of a rendition, stopped when idle,
capped by transcode.max_jobs, failing alone on an undecodable source.

Real processes: ffmpeg publishes 720p30 H.264/AAC over RTMP; viewers are
HTTP-FLV clients (weirtest.httpc.FlvViewer) and ffprobe reads what they got."""

import time

from weirtest import media
from weirtest.httpc import FlvViewer, get
from weirtest.receiver import Receiver
from weirtest.rtmp import RtmpClient
from weirtest.server import wait_until

from test_ingest_limits import rss_kib

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
    """Presentation times (ms: dts + composition time) of the key frames."""
    return [t.timestamp + t.cts for t in tags if t.is_video and t.frame_type == 1 and not t.is_video_config]


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
    assert all(t.timestamp < 1 << 31 for t in rend.tags), "a negative timestamp"
    last = max(t.timestamp for t in rend.tags if t.is_video)
    covered = [k for k in src_keys if rend_keys[0] <= k <= last - 1000]
    assert set(covered) <= set(rend_keys), (sorted(covered), rend_keys)


def test_job_stops_when_idle_and_max_jobs_refuses_with_503(weir, tmp_path):
    rx = Receiver()
    cfg = config(max_jobs=1, idle_ms=1500)
    cfg["events"] = {"url": rx.url}
    s = weir(cfg)
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
        # Events: started by the viewer, stopped idle, with what it made.
        started = rx.events("transcode.started", app="live", stream="a")
        assert len(started) == 1 and started[0]["data"]["cause"] == "on demand", started
        assert {"rendition": "360p", "stream": "a_360p"} in started[0]["data"]["outputs"], started
        wait_until(lambda: rx.events("transcode.stopped", app="live", stream="a"), 10, "transcode.stopped")
        stopped = rx.events("transcode.stopped", app="live", stream="a")[0]["data"]
        assert stopped["reason"] == "idle" and stopped["frames_out"] > 0 and stopped["duration_ms"] > 1000, stopped
        assert not rx.events("transcode.started", app="live", stream="b"), "b's job was refused, not started"
        # Now b's rendition can start.
        w = FlvViewer(s.http_addr, "/live/b_360p.flv", connect_timeout=30)
        w.start()
        wait_until(lambda: len([t for t in w.tags if t.is_video]) >= 30, 60, "rendition video of b")
        w.stop()
    finally:
        for p in pubs:
            p.stop()
        rx.close()


def test_undecodable_source_fails_its_job_alone(weir, tmp_path):
    rx = Receiver()
    cfg = config()
    cfg["events"] = {"url": rx.url}
    s = weir(cfg)
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
        wait_until(lambda: rx.events("transcode.failed", app="live", stream="bad"), 10, "transcode.failed")
        failed = rx.events("transcode.failed", app="live", stream="bad")[0]["data"]
        assert failed["error"]["message"], failed
        assert not rx.events("transcode.failed", app="live", stream="good")
    finally:
        bad.close()
        good.stop()
        rx.close()


def test_master_playlist_lists_source_and_renditions(weir, tmp_path):
    from weirtest import hls
    cfg = config()
    cfg["apps"]["live"]["hls"] = {"enabled": True, "segment_ms": 1000}
    s = weir(cfg)
    pub = publish_720p(s, tmp_path)
    try:
        time.sleep(1.5)  # a measured rate for the source
        r = get(s.http_addr, "/live/s/master.m3u8", timeout=15)
        assert r.status == 200, (r.status, r.body[:200])
        assert r.headers.get("content-type") == "application/vnd.apple.mpegurl"
        lines = r.body.decode().splitlines()
        assert lines[0] == "#EXTM3U"
        variants = []
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF:"):
                variants.append((hls.parse_attrs(line.split(":", 1)[1]), lines[i + 1]))
        assert [uri for _, uri in variants] == ["../s.m3u8", "../s_360p.m3u8"]
        (src, _), (rend, _) = variants
        assert src["RESOLUTION"] == "1280x720" and rend["RESOLUTION"] == "640x360"
        assert int(rend["BANDWIDTH"]) == (RENDITION_KBPS + 128) * 1000
        assert 1_500_000 <= int(src["BANDWIDTH"]) <= 4_000_000, src
        for attrs, _ in variants:
            codecs = attrs["CODECS"].strip('"').split(",")
            assert codecs[0].startswith("avc1.") and codecs[1] == "mp4a.40.2", codecs
            assert float(attrs["FRAME-RATE"]) == 30.0
        # Every variant plays: its media playlist comes (the rendition's on demand).
        for _, uri in variants:
            path = "/live/" + uri[3:]
            text = wait_until(lambda: _playlist_with_segments(s, path), 60, f"segments in {path}")
            assert hls.Playlist(text).complete_segments
    finally:
        pub.stop()


def _playlist_with_segments(s, path):
    r = get(s.http_addr, path, timeout=30)
    if r.status != 200:
        return None
    text = r.body.decode()
    return text if "#EXTINF" in text else None


def test_encoder_that_cannot_keep_up_drops_to_keyframes_with_bounded_memory(weir, tmp_path):
    # 1080p60 at 6 Mbit/s into a 1080p veryslow rendition on one thread: far
    # below real time, so the job's queue fills and it drops to keyframes.
    cfg = config(threads=1, encoder_threads=1, max_queued_packets=64)
    cfg["apps"]["live"]["renditions"] = {"full": {"height": 1080, "preset": "veryslow", "bitrate_kbps": 4000}}
    s = weir(cfg)
    pub = publish_720p(s, tmp_path, size="1920x1080", fps=60, gop=120, bitrate="6000k")
    try:
        v = FlvViewer(s.http_addr, "/live/s_full.flv", connect_timeout=30)
        v.start()
        drops = 'weir_transcode_frames_dropped_total{app="live",stream="s"}'
        wait_until(lambda: (s.metric(drops) or 0) > 0, 60, "dropped frames")
        s.wait_log(r"transcode live/s: .* dropping to the next keyframe", timeout=5)
        samples = []
        for _ in range(15):
            samples.append(rss_kib(s.proc.pid))
            time.sleep(1)
        s.wait_log(r"transcode live/s: resumed at the source keyframe", timeout=30)
        v.stop()
        assert max(samples) < 1_500_000, samples  # KiB
        assert samples[-1] < samples[4] * 1.3 + 50_000, samples  # not growing
        assert any(t.is_video and not t.is_video_config for t in v.tags), "no rendition frame reached the viewer"
        assert s.metric('weir_transcode_frames_out_total{app="live",stream="s"}') > 0
    finally:
        pub.stop()
