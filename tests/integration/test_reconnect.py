"""Publisher reconnect: viewers survive a short drop, and are closed past the grace."""

import threading
import time

from weirtest import checks, media
from weirtest.flv import FlvTag, parse_flv
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient


class RtmpViewer(threading.Thread):
    """Plays live/{name} with the test RTMP client until the server closes it."""

    def __init__(self, addr, app, name):
        super().__init__(daemon=True)
        self.client = RtmpClient.open(addr)
        self.status = self.client.start_play(app, name)
        self.media = []
        self.end = None

    def run(self):
        self.media, self.end = self.client.read_media(timeout=60)

    def tags(self):
        return [FlvTag(m.type_id, m.timestamp, m.payload) for m in self.media]

    def status_codes(self):
        return [m.status_code() for m in getattr(self.client, "commands", [])]


def test_viewers_survive_publisher_reconnect_within_grace(weir, tmp_path):
    grace = 3000
    s = weir({"apps": {"live": {"reconnect_grace_ms": grace}}})
    pub1 = media.start_publisher(s.rtmp_url(), tmp_path, "pub1", duration=3.0, gop=25)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    rv = RtmpViewer(s.rtmp_addr, "live", "s")
    assert rv.status.status_code() == "NetStream.Play.Start"
    rv.start()
    assert pub1.wait(20) == 0, pub1.log()
    time.sleep(0.5)  # gap well inside the grace
    assert viewer.end is None and rv.is_alive(), "viewer closed while the publisher was away within the grace"
    tags_before = viewer.snapshot()
    assert s.stream_info()["live"] is False
    pub2 = media.start_publisher(s.rtmp_url(), tmp_path, "pub2", duration=3.0, gop=25)
    assert pub2.wait(20) == 0, pub2.log()
    assert s.metric("weir_republish_total") == 1
    assert s.stream_info()["publishes"] == 2
    # After the second publisher leaves, the grace runs out and viewers are closed.
    assert viewer.wait_end(grace / 1000 + 10) == "eof", f"HTTP-FLV viewer: {viewer.end}"
    rv.join(10)
    assert rv.end in ("eof", "reset"), f"RTMP viewer: {rv.end}"

    for name, tags in (("http-flv", viewer.snapshot()), ("rtmp", rv.tags())):
        checks.assert_per_track_monotonic(tags, name)
        configs = [i for i, t in enumerate(tags) if t.is_avc_seq_header]
        assert len(configs) >= 2, f"{name}: codec config not re-sent after the reconnect ({len(configs)})"
        assert len([t for t in tags if t.is_aac_seq_header]) >= 2, f"{name}: AAC config not re-sent"
        before = [t for t in tags[:configs[-1]] if t.is_video_frame]
        after = [t for t in tags[configs[-1]:] if t.is_video_frame]
        assert before and after, name
        assert after[0].is_keyframe, f"{name}: first frame after reconnect is not a keyframe"
        assert after[0].timestamp > before[-1].timestamp, \
            f"{name}: timestamps restarted at the reconnect ({before[-1].timestamp} -> {after[0].timestamp})"
        assert len(after) >= 73, f"{name}: only {len(after)} frames of the second publisher's 75"
    assert len(tags_before) > 0
    assert "NetStream.Play.UnpublishNotify" in rv.status_codes(), rv.status_codes()

    path = tmp_path / "reconnect.flv"
    path.write_bytes(viewer.raw)
    checks.assert_av_basics(path)
    checks.assert_decodes_cleanly(path)
    # ffmpeg, not ffprobe -count_frames: ffprobe 5.1 segfaulted counting the
    # audio of such a file when the repeated onMetaData had a non-zero
    # timestamp (libavformat's flvdec then takes it for a subtitle packet).
    rc, frames, err = media.decode_count(path, "flv")
    assert rc == 0, err
    assert frames == len([t for t in viewer.snapshot() if t.is_video_frame]), (frames, err)
    assert s.api() == [], "stream still listed after the grace ran out"


def test_stream_ends_past_grace(weir, tmp_path):
    grace = 1000
    s = weir({"apps": {"live": {"reconnect_grace_ms": grace}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub1", duration=2.0)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    rv = RtmpViewer(s.rtmp_addr, "live", "s")
    rv.start()
    assert pub.wait(20) == 0, pub.log()
    left = time.monotonic()
    assert viewer.wait_end(grace / 1000 + 10) == "eof", f"HTTP-FLV response did not end: {viewer.end}"
    assert viewer.end_time - left >= grace / 1000 * 0.8, \
        f"viewer closed {viewer.end_time - left:.2f} s after the publisher left, before the grace ({grace} ms)"
    rv.join(10)
    assert rv.end in ("eof", "reset"), rv.end
    assert "NetStream.Play.UnpublishNotify" in rv.status_codes(), rv.status_codes()
    assert s.api() == []
    m = s.metrics()
    assert m["weir_streams"] == 0 and m["weir_viewers"] == 0 and m["weir_republish_total"] == 0
    assert m["weir_streams_ended_total"] == 1
    # Publishing the same name again starts a new stream.
    pub2 = media.start_publisher(s.rtmp_url(), tmp_path, "pub2", duration=1.5)
    info = s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    assert info["publishes"] == 1
    assert pub2.wait(20) == 0
    assert s.metric("weir_republish_total") == 0
    header, tags = parse_flv(bytes(viewer.raw))
    checks.assert_per_track_monotonic(tags)
