"""Two event loops: viewers spread over both loops all get the stream."""

import time

from weirtest import checks, media
from weirtest.httpc import FlvViewer

HTTP_VIEWERS = 16
RTMP_VIEWERS = 4
DURATION = 5.0


def test_many_viewers_across_two_loops(weir, tmp_path):
    s = weir({"workers": 2, "apps": {"live": {"play_wait_ms": 15000, "reconnect_grace_ms": 0}}})
    assert s.info["workers"] == 2
    viewers = [FlvViewer(s.http_addr, "/live/s.flv") for _ in range(HTTP_VIEWERS)]
    for v in viewers:
        v.start()
    recorders = [media.start_recorder(s.rtmp_url(), tmp_path / f"rtmp{i}.flv", tmp_path, f"rtmp-viewer{i}")
                 for i in range(RTMP_VIEWERS)]
    time.sleep(1.0)  # all requests are held by play_wait_ms now
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=DURATION, gop=25)
    # The listening sockets use SO_REUSEPORT, so the kernel spreads connections
    # by a hash of the address pair: 20 connections all landing on one of the
    # two loops has probability about 2^-19, small enough to treat as a failure.
    info = s.wait_stream(pred=lambda i: i["loops_attached"] == 2 and i["video_frames"] > 10, timeout=15,
                         what="both loops attached")
    assert info["loops_attached"] == 2
    assert s.metric("weir_viewers") == HTTP_VIEWERS + RTMP_VIEWERS
    assert pub.wait(30) == 0, pub.log()
    for i, r in enumerate(recorders):
        assert r.wait(20) == 0, f"RTMP viewer {i}: {r.log()}"
    for i, v in enumerate(viewers):
        assert v.wait_end(15) == "eof", f"HTTP viewer {i}: {v.end}"
        assert v.status == 200 and v.parse_error is None, (i, v.status, v.parse_error)
    files = []
    for i, v in enumerate(viewers):
        p = tmp_path / f"http{i}.flv"
        p.write_bytes(v.raw)
        files.append(p)
    files += [tmp_path / f"rtmp{i}.flv" for i in range(RTMP_VIEWERS)]
    expected = DURATION * 25
    for p in files:
        rc, frames, err = media.decode_count(p, "flv")
        assert rc == 0 and not err.strip(), f"{p.name}: rc {rc}: {err[-2000:]}"
        checks.within(frames, expected, 0.04, f"{p.name} decoded video frames")
    checks.assert_av_basics(files[0])
    checks.assert_av_basics(files[-1])
    assert s.api() == []
    assert s.metric("weir_viewers") == 0
