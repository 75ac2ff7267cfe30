"""Edge in front of an origin that requires signed play URLs: the edge signs
each upstream URL with the origin's play key (apps.<app>.upstream.sign_key),
so its viewers need no token of the origin's; an edge with a wrong key is
refused by the origin and its viewers get 404 naming the refusal."""

from weirtest import checks, media
from weirtest.httpc import FlvViewer, get

from test_edge import edge_config, rtmp_tmpl, video_frames, viewers_of

PLAY_KEY = "origin-play-key-0001"


def test_edge_signs_upstream_urls_for_a_signed_origin(weir, tmp_path):
    a = weir({"workers": 1, "apps": {"live": {"play_wait_ms": 0, "hls": {"enabled": False},
                                              "sign": {"play_keys": PLAY_KEY}}}}, name="origin")
    pub = media.start_publisher(a.rtmp_url(), tmp_path, "pub", duration=None, size="320x240", gop=25)
    a.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    # Unsigned plays at the origin are refused: the key is what lets the edge in.
    assert get(a.http_addr, "/live/s.flv", timeout=5).status == 403

    good = weir(edge_config([rtmp_tmpl(a)], sign_key=PLAY_KEY, sign_ttl_s=60), name="edge_good")
    v = FlvViewer(good.http_addr, "/live/s.flv")
    v.start()
    v.wait(lambda t: len(video_frames(t)) >= 25, 20, "25 video frames through the signing edge")
    cap = tmp_path / "edge.flv"
    cap.write_bytes(bytes(v.raw))
    checks.assert_decodes_cleanly(cap)
    assert viewers_of(a) == 1
    # The token is a secret: the edge's log never shows it.
    assert "token=" not in good.log(), good.log_tail(50)
    v.stop()

    bad = weir(edge_config([rtmp_tmpl(a)], sign_key="not-the-origin-key", connect_timeout_ms=1500),
               name="edge_bad")
    r = get(bad.http_addr, "/live/s.flv", timeout=10)
    assert r.status == 404, (r.status, r.body[:300])
    assert b"every origin failed" in r.body, r.body
    bad.wait_log("every origin failed", timeout=5)
    pub.stop()
