"""viewer_audio_hold_ms: at the live edge an audio frame that arrives alone
waits (at most the hold) for the next video frame and goes out with it; a
video frame is never held, not even when audio arrived right behind it; with
the hold at 0 audio goes out at once. A scripted RTMP publisher replays a real
H.264/AAC FLV with controlled gaps; an HTTP-FLV viewer stamps arrivals."""

import time

from weirtest import media
from weirtest.flv import AUDIO, SCRIPT, VIDEO, read_flv_file
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient

HOLD_MS = 200


def make_clip(tmp_path):
    path = tmp_path / "clip.flv"
    media.run(media.publisher_args(str(path), duration=2.0, realtime=False), timeout=60)
    tags = read_flv_file(path)[1]
    meta = next(t for t in tags if t.type == SCRIPT)
    vcfg = next(t for t in tags if t.is_video_config)
    acfg = next(t for t in tags if t.type == AUDIO and t.is_aac_seq_header)
    video = [t for t in tags if t.is_video_frame]
    audio = [t for t in tags if t.is_audio_frame]
    assert video[0].is_keyframe and len(video) >= 40 and len(audio) >= 40
    return meta, vcfg, acfg, video, audio


class Script:
    """Publishes live/{name} tag by tag; timestamps follow the clip."""

    def __init__(self, s, name, clip):
        self.meta, self.vcfg, self.acfg, self.video, self.audio = clip
        self.c = RtmpClient.open(s.rtmp_addr)
        self.c.start_publish("live", name)
        self.c.send_metadata(self.meta.script_values()[1])
        self.c.send_video(0, self.vcfg.body)
        self.c.send_audio(0, self.acfg.body)
        self.vi = self.ai = 0

    def video_frame(self):
        t = self.video[self.vi]
        self.vi += 1
        self.c.send_video(t.timestamp, t.body)
        return t

    def audio_frame(self):
        t = self.audio[self.ai]
        self.ai += 1
        self.c.send_audio(t.timestamp, t.body)
        return t

    def close(self):
        self.c.close()


def arrival(viewer, tag, timeout=5.0):
    """Monotonic arrival time of the viewer's copy of `tag` (same type and body)."""
    got = viewer.wait(lambda tags: any(t.type == tag.type and t.body == tag.body for t in tags), timeout,
                      f"{'video' if tag.type == VIDEO else 'audio'} tag at {tag.timestamp} ms")
    return next(t.arrival for t in got if t.type == tag.type and t.body == tag.body)


def start(weir, tmp_path, hold_ms):
    clip = make_clip(tmp_path)
    s = weir({"apps": {"live": {"viewer_audio_hold_ms": hold_ms, "reconnect_grace_ms": 0}}})
    pub = Script(s, "s", clip)
    for _ in range(5):
        pub.video_frame()
        pub.audio_frame()
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    viewer = FlvViewer(s.http_addr, "/live/s.flv")
    viewer.start()
    viewer.wait(lambda tags: sum(1 for t in tags if t.is_video_frame) >= 5, 5, "the GOP cache")
    time.sleep(0.3)  # at the live edge now
    return s, pub, viewer


def test_lone_audio_waits_for_video_or_the_hold(weir, tmp_path):
    s, pub, viewer = start(weir, tmp_path, HOLD_MS)
    # Audio alone, video 100 ms later: both arrive together, with the video.
    sent = time.monotonic()
    a = pub.audio_frame()
    time.sleep(0.1)
    v = pub.video_frame()
    ta, tv = arrival(viewer, a), arrival(viewer, v)
    assert ta - sent >= 0.08, f"audio arrived {1000 * (ta - sent):.0f} ms after sending, before its video"
    assert abs(tv - ta) < 0.02, f"audio and the video after it arrived {1000 * (tv - ta):.0f} ms apart"

    # Audio alone, no video within the hold: it goes out when the hold ends.
    sent = time.monotonic()
    a = pub.audio_frame()
    ta = arrival(viewer, a)
    waited = ta - sent
    assert HOLD_MS / 1000 * 0.8 <= waited <= HOLD_MS / 1000 + 0.15, f"lone audio waited {1000 * waited:.0f} ms"

    # Video with audio right behind it (one TCP write): the video is not held.
    for _ in range(3):
        pub.c.sock.setsockopt(6, 3, 1)  # TCP_CORK: video + audio leave in one segment
        sent = time.monotonic()
        v = pub.video_frame()
        a = pub.audio_frame()
        pub.c.sock.setsockopt(6, 3, 0)
        tv = arrival(viewer, v)
        assert tv - sent < 0.1, f"a video frame with audio behind it arrived {1000 * (tv - sent):.0f} ms late"
        time.sleep(0.05)
    pub.close()
    viewer.stop()
    assert viewer.parse_error is None, viewer.parse_error


def test_hold_zero_sends_audio_at_once(weir, tmp_path):
    s, pub, viewer = start(weir, tmp_path, 0)
    for _ in range(3):
        sent = time.monotonic()
        a = pub.audio_frame()
        ta = arrival(viewer, a)
        assert ta - sent < 0.1, f"audio arrived {1000 * (ta - sent):.0f} ms after sending with the hold off"
        time.sleep(0.05)
    pub.close()
    viewer.stop()
