"""LL-HLS (RFC 8216bis) on /{app}/{stream}/llhls.m3u8: blocking playlist
reload, preload hints, partial segments (byte-identical to their segment,
INDEPENDENT on keyframes, durations against PART-TARGET), delta updates,
and the bounds on held requests (400 far ahead, 503 on timeout and past
hls.max_blocking_requests)."""

import socket
import threading
import time

import pytest

from weirtest import hls, httpc, media

FPS = 25
GOP2 = 24  # frames: see the gop2 app below

# live: 1 s segments (1 s GOP), 300 ms parts, a 12-segment window (long
# enough for delta updates). gop2: 1.92 s segments with a keyframe every 0.96 s
# (a keyframe inside each segment), default 500 ms parts.
APPS = {
    "live": {"hls": {"segment_ms": 1000, "part_ms": 300, "window_segments": 12}},
    # A 24-frame GOP (0.96 s) with 1.92 s segments puts the mid-segment
    # keyframe on a 480 ms part boundary. With a 25-frame GOP no cut can give
    # an INDEPENDENT part there: the part before it would be 40 ms, under the
    # 85% of PART-TARGET that RFC 8216bis 4.4.4.9 asks of every part but the
    # last of a segment (and the server keeps to that rule).
    "gop2": {"hls": {"segment_ms": 1920, "part_ms": 500}},
    # 2 s segments with a 25-frame (1 s) GOP: the case where a keyframe comes
    # 40 ms into a part; the part must not be cut into a sliver there.
    "gop1": {"hls": {"segment_ms": 2000, "part_ms": 500}},
}
LL = "/live/s/llhls.m3u8"


class Env:
    def __init__(self, server, pubs):
        self.s = server
        self.pubs = pubs
        self.t_start = time.monotonic()

    def wait_age(self, seconds):
        left = self.t_start + seconds - time.monotonic()
        if left > 0:
            time.sleep(left)


@pytest.fixture(scope="module")
def env(weir_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("llpub")
    s = weir_module({"apps": APPS})
    pubs = [media.start_publisher(s.rtmp_url("live", "s"), d, "pub_live", duration=120, gop=FPS),
            media.start_publisher(s.rtmp_url("gop2", "s"), d, "pub_gop2", duration=120, gop=GOP2),
            media.start_publisher(s.rtmp_url("gop1", "s"), d, "pub_gop1", duration=120, gop=FPS)]
    s.wait_stream("live", "s", pred=lambda i: i["video_frames"] >= 2 * FPS)
    s.wait_stream("gop2", "s", pred=lambda i: i["video_frames"] >= 2 * FPS)
    s.wait_stream("gop1", "s", pred=lambda i: i["video_frames"] >= 2 * FPS)
    # Start packaging now (the first request does), so the window fills while
    # the tests run.
    hls.playlist(s, LL)
    hls.playlist(s, "/gop2/s/llhls.m3u8")
    hls.playlist(s, "/gop1/s/llhls.m3u8")
    e = Env(s, pubs)
    yield e
    for p in pubs:
        p.stop()


def hint_of(pl):
    assert pl.preload_hint is not None, f"no EXT-X-PRELOAD-HINT:\n{pl.text}"
    assert pl.preload_hint.get("TYPE") == "PART", pl.preload_hint
    return hls.part_name(pl.preload_hint["URI"])


class Poller(threading.Thread):
    """Polls the (non-blocking) playlist every 20 ms and notes when a part or
    a segment first shows up."""

    def __init__(self, server, path):
        super().__init__(daemon=True)
        self.server, self.path = server, path
        self.first_seen = {}  # ("part", msn, i) / ("seg", msn) -> monotonic time
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            r = hls.get(self.server, self.path)
            now = time.monotonic()
            if r.status == 200:
                pl = hls.Playlist(r.body.decode())
                for sg in pl.segments:
                    if sg.complete:
                        self.first_seen.setdefault(("seg", sg.msn), now)
                    for i, _ in enumerate(sg.parts):
                        self.first_seen.setdefault(("part", sg.msn, i), now)
            self._halt.wait(0.02)

    def stop(self):
        self._halt.set()
        self.join(5)


def test_blocking_reload_returns_when_the_part_exists(env):
    s = env.s
    poller = Poller(s, LL)
    poller.start()
    try:
        for _ in range(4):
            pl = hls.playlist(s, LL)
            msn, part = hint_of(pl)  # the part being built: it does not exist yet
            target = pl.target
            t0 = time.monotonic()
            r = hls.get(s, f"{LL}?_HLS_msn={msn}&_HLS_part={part}", timeout=10)
            t1 = time.monotonic()
            assert r.status == 200, f"blocking reload for {msn}.{part}: {r.status} {r.body[:200]!r}"
            got = hls.Playlist(r.body.decode())
            sg = got.segment(msn)
            # The answer holds the part asked for (or the segment, if it was cut
            # before that part: then the next one is the first of the next segment).
            assert sg is not None and (len(sg.parts) > part or sg.complete), \
                f"blocking reload for part {msn}.{part} answered without it:\n{got.text}"
            assert t1 - t0 < 1.5 * target, \
                f"blocking reload for the next part took {t1 - t0:.2f} s (target duration {target} s)"
            key = ("part", msn, part) if len(sg.parts) > part else ("seg", msn)
            deadline = time.monotonic() + 2
            while key not in poller.first_seen and time.monotonic() < deadline:
                time.sleep(0.01)
            seen = poller.first_seen.get(key)
            assert seen is not None, f"poller never saw {key}"
            # It came back as soon as the part existed: not long after a 20 ms
            # poller saw it appear.
            assert t1 <= seen + 0.5, \
                f"blocking reload returned {t1 - seen:.2f} s after the part {key} showed up in the playlist"
            # A request for the next segment waits for that segment.
            nxt = msn + 1
            r = hls.get(s, f"{LL}?_HLS_msn={nxt}", timeout=10)
            assert r.status == 200, f"blocking reload for segment {nxt}: {r.status} {r.body[:200]!r}"
            got = hls.Playlist(r.body.decode())
            assert got.segment(nxt) is not None and got.segment(nxt).complete, \
                f"blocking reload for segment {nxt} answered before it was complete:\n{got.text}"
    finally:
        poller.stop()


def test_preload_hint_part_is_held_until_it_exists(env):
    s = env.s
    for _ in range(3):
        pl = hls.playlist(s, LL)
        msn, part = hint_of(pl)
        t0 = time.monotonic()
        r = hls.get(s, f"/live/s/part{msn}.{part}.m4s", timeout=10)
        took = time.monotonic() - t0
        assert took < 1.5, f"hinted part took {took:.2f} s"
        if r.status == 404:
            # Allowed: the segment was cut before this part existed.
            assert "was not produced" in hls.one_line_reason(r), r.body
            continue
        assert r.status == 200, f"hinted part {msn}.{part}: {r.status} {r.body[:200]!r}"
        assert r.header("cache-control") == "public, max-age=86400, immutable"
        # The same bytes once listed.
        again = hls.get_ok(s, f"/live/s/part{msn}.{part}.m4s")
        assert again.body == r.body, "hinted part bytes differ from the listed part"
        hls.boxes(r.body)  # whole boxes


def test_parts_concatenate_to_their_segment(env):
    s = env.s
    env.wait_age(4)
    pl = hls.playlist(s, LL)
    with_parts = [sg for sg in pl.complete_segments if sg.parts]
    assert len(with_parts) >= 2, f"parts listed for {len(with_parts)} complete segments:\n{pl.text}"
    for sg in with_parts:
        parts = [hls.get_ok(s, "/live/s/" + p.uri).body for p in sg.parts]
        seg = hls.get_ok(s, "/live/s/" + sg.uri).body
        joined = b"".join(parts)
        assert joined == seg, \
            f"segment {sg.msn}: its {len(parts)} parts ({len(joined)} bytes) are not the segment ({len(seg)} bytes)"
        total = sum(p.duration for p in sg.parts)
        assert abs(total - sg.duration) <= 0.0006 * len(sg.parts), \
            f"segment {sg.msn}: parts last {total:.3f} s, EXTINF {sg.duration}"


def test_independent_parts_start_with_a_keyframe(env, tmp_path):
    s = env.s
    env.wait_age(4)
    for path, base in ((LL, "/live/s/"), ("/gop2/s/llhls.m3u8", "/gop2/s/")):
        pl = hls.playlist(s, path)
        init = hls.get_ok(s, base + pl.segments[0].map).body
        info = hls.InitInfo(init)
        vid = info.track_of("vide")
        assert vid is not None and info.track_of("soun") is not None, f"init tracks {info.tracks}"
        checked = independent = 0
        for sg in pl.segments:
            for i, p in enumerate(sg.parts):
                data = hls.get_ok(s, base + p.uri).body
                samples = hls.fragment_samples(data, info)
                video = samples.get(vid, [])
                assert video, f"{base}{p.uri}: no video samples"
                starts_sync = video[0][0]
                assert p.independent == starts_sync, \
                    f"{base}{p.uri}: INDEPENDENT={'YES' if p.independent else 'absent'} but its first video sample " \
                    f"is {'a' if starts_sync else 'not a'} sync sample"
                if i == 0:
                    assert p.independent, f"{base}{p.uri}: first part of a segment is not INDEPENDENT"
                checked += 1
                if p.independent:
                    independent += 1
                    if independent <= 2:
                        # Decodes on its own with the init segment.
                        f = tmp_path / f"alone{independent}.mp4"
                        f.write_bytes(init + data)
                        rc, n, err = media.decode_count(f, "mp4")
                        assert rc == 0 and n == len(video) and not err.strip(), \
                            f"{base}{p.uri} with the init: rc {rc}, {n} of {len(video)} frames, {err[-500:]}"
        assert checked >= 6 and independent >= 2, f"{path}: {checked} parts, {independent} independent"
    # The 1.92 s segments of gop2 have a keyframe in the middle: an INDEPENDENT part there too.
    pl = hls.playlist(s, "/gop2/s/llhls.m3u8")
    mid = [p for sg in pl.complete_segments for p in sg.parts[1:] if p.independent]
    assert mid, f"no INDEPENDENT part inside a 1.92 s segment with a 0.96 s GOP:\n{pl.text}"


def check_ll_tags(pl, part_target, what):
    assert pl.version == 9, f"{what}: EXT-X-VERSION {pl.version}"
    sc = pl.server_control
    assert sc is not None, f"{what}: no EXT-X-SERVER-CONTROL"
    assert sc.get("CAN-BLOCK-RELOAD") == "YES", f"{what}: {sc}"
    assert pl.part_inf is not None and abs(float(pl.part_inf["PART-TARGET"]) - part_target) < 1e-6, \
        f"{what}: EXT-X-PART-INF {pl.part_inf}, want PART-TARGET={part_target}"
    assert float(sc["PART-HOLD-BACK"]) >= 3 * part_target - 1e-6, f"{what}: PART-HOLD-BACK {sc}"
    assert float(sc["CAN-SKIP-UNTIL"]) >= 6 * pl.target - 1e-6, f"{what}: CAN-SKIP-UNTIL {sc} < 6 x {pl.target}"
    # Preload hint: the next part after the last one listed.
    last = pl.segments[-1]
    want = (last.msn, len(last.parts)) if not last.complete else (last.msn + 1, 0)
    assert hint_of(pl) == want, f"{what}: PRELOAD-HINT {pl.preload_hint['URI']}, next part is {want}\n{pl.text}"
    # Parts are listed for the open segment and the last ones (3 target durations).
    tail = 0.0
    for sg in reversed(pl.complete_segments):
        if tail + sg.duration <= 3 * pl.target + 1e-6:
            assert sg.parts, f"{what}: segment {sg.msn} within 3 target durations of the end lists no parts"
        tail += sg.duration
    assert pl.open_segment is None or pl.open_segment.parts, f"{what}: open segment without parts"
    for sg in pl.segments:
        for p in sg.parts:
            assert p.duration <= part_target + 0.0005, \
                f"{what}: part {p.uri} lasts {p.duration} s, PART-TARGET is {part_target}"
        if sg.complete and sg.parts:
            assert abs(sum(p.duration for p in sg.parts) - sg.duration) <= 0.0006 * len(sg.parts), \
                f"{what}: parts of {sg.msn} do not add up to its EXTINF"


def check_part_floor(pl, part_target, what):
    """RFC 8216bis 4.4.4.9: every part lasts at least 85% of PART-TARGET,
    except INDEPENDENT ones and the last part of a segment."""
    for sg in pl.complete_segments:
        for i, p in enumerate(sg.parts):
            if i == len(sg.parts) - 1 or p.independent:
                continue
            assert p.duration >= 0.85 * part_target - 0.0005, \
                f"{what}: part {p.uri} lasts {p.duration} s, under 85% of PART-TARGET {part_target} s and neither " \
                f"INDEPENDENT nor the last part of segment {sg.msn} (RFC 8216bis 4.4.4.9); its parts: {sg.parts}"


def test_ll_tags_and_part_durations(env):
    s = env.s
    env.wait_age(4)
    for _ in range(5):
        pl = hls.playlist(s, LL)
        check_ll_tags(pl, 0.3, "live")
        check_part_floor(pl, 0.3, "live")
        time.sleep(0.25)
    init = hls.get_ok(s, "/live/s/" + pl.segments[0].map)
    assert init.header("content-type") == "video/mp4"
    assert init.header("cache-control") == "public, max-age=86400, immutable"
    info = hls.InitInfo(init.body)
    assert sorted(info.tracks.values()) == ["soun", "vide"] and "avc1" in info.codecs.values(), info.codecs


def test_part_durations_with_keyframes_inside_segments(env):
    """2 s segments, 1 s GOP, 500 ms parts (the default part target): the
    part before a mid-segment keyframe must not be a sliver."""
    s = env.s
    env.wait_age(5)
    pl = hls.playlist(s, "/gop1/s/llhls.m3u8")
    check_ll_tags(pl, 0.5, "gop1")
    check_part_floor(pl, 0.5, "gop1")
    # 500 ms is 12.5 frames at 25 fps: each segment ends with an 80 ms part,
    # which the server names in its log (once) with the advice.
    s.wait_log(r"hls gop1/s: segment \d+ ends with a 80 ms part \(part_ms 500, about 40\.0 ms per frame\)",
               timeout=5)


def test_delta_update_skips_old_segments(env):
    s = env.s
    env.wait_age(10)
    for attempt in range(10):
        full1 = hls.playlist(s, LL)
        delta = hls.playlist(s, LL + "?_HLS_skip=YES")
        full2 = hls.playlist(s, LL)
        if full1.text == full2.text:
            break
    else:
        raise AssertionError("playlist kept changing")
    full = full1
    assert delta.skip is not None, f"no EXT-X-SKIP in the delta playlist ({len(full.complete_segments)} segments, " \
                                   f"CAN-SKIP-UNTIL {full.server_control}):\n{delta.text}"
    n = int(delta.skip["SKIPPED-SEGMENTS"])
    assert n > 0
    assert delta.media_sequence == full.media_sequence, "delta MEDIA-SEQUENCE differs"
    assert delta.disc_sequence == full.disc_sequence
    assert delta.version >= 9 and delta.server_control == full.server_control and delta.part_inf == full.part_inf
    assert n + len(delta.complete_segments) == len(full.complete_segments), \
        f"{n} skipped + {len(delta.complete_segments)} listed != {len(full.complete_segments)} in the full playlist"
    assert [x.uri for x in delta.segments] == [x.uri for x in full.segments[n:]], "delta tail differs"
    assert [len(x.parts) for x in delta.segments] == [len(x.parts) for x in full.segments[n:]]
    assert delta.segments[0].map, "delta playlist: no EXT-X-MAP before the first listed segment"
    assert delta.preload_hint == full.preload_hint
    # Only segments older than CAN-SKIP-UNTIL from the end are skipped.
    skip_until = float(full.server_control["CAN-SKIP-UNTIL"])
    kept = sum(x.duration for x in delta.complete_segments)
    assert kept >= skip_until - 0.001, f"delta keeps {kept:.3f} s of segments, CAN-SKIP-UNTIL is {skip_until}"
    # With the last skipped one it would be over the limit the other way round.
    assert kept - delta.complete_segments[0].duration < skip_until, "skipped fewer segments than allowed"
    # v2 (skip date ranges as well) is the same here, and it combines with a blocking reload.
    v2 = hls.playlist(s, LL + "?_HLS_skip=v2")
    assert v2.skip is not None
    msn, part = hint_of(full)
    r = hls.get(s, f"{LL}?_HLS_msn={msn}&_HLS_part={part}&_HLS_skip=YES", timeout=10)
    assert r.status == 200, f"blocking delta reload: {r.status} {r.body[:200]!r}"
    assert hls.Playlist(r.body.decode()).skip is not None


def test_msn_far_ahead_is_400_at_once(env):
    s = env.s
    pl = hls.playlist(s, LL)
    msn, _ = hint_of(pl)
    open_msn = pl.segments[-1].msn if not pl.segments[-1].complete else pl.segments[-1].msn + 1
    for ahead in (2, 3, 100):
        t0 = time.monotonic()
        r = hls.get(s, f"{LL}?_HLS_msn={open_msn + ahead}&_HLS_part=0")
        took = time.monotonic() - t0
        assert r.status == 400, f"_HLS_msn open+{ahead}: {r.status} {r.body[:200]!r}"
        assert took < 0.5, f"400 for a far msn took {took:.2f} s"
        assert "_HLS_msn" in hls.one_line_reason(r)
    # Already past: answered at once with the current playlist.
    t0 = time.monotonic()
    r = hls.get(s, f"{LL}?_HLS_msn={pl.media_sequence}&_HLS_part=0")
    assert r.status == 200 and time.monotonic() - t0 < 0.5, f"{r.status} {r.body[:200]!r}"


def test_held_request_times_out_with_503(weir, tmp_path):
    """Nothing new comes (the publisher left; the stream waits out its
    reconnect grace): blocking requests end with 503 after three target
    durations, the hinted part after its own bound."""
    s = weir({"apps": {"live": {"reconnect_grace_ms": 30000, "hls": {"segment_ms": 1000, "part_ms": 300}}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=4, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= FPS)
    hls.playlist(s, LL)
    assert pub.wait(20) == 0, pub.log()
    time.sleep(0.5)
    pl = hls.playlist(s, LL)
    msn, part = hint_of(pl)
    target = pl.target
    results = {}

    def ask(key, path):
        t0 = time.monotonic()
        r = hls.get(s, path, timeout=20)
        results[key] = (r, time.monotonic() - t0)

    threads = [threading.Thread(target=ask, args=("next segment", f"{LL}?_HLS_msn={msn + 1}")),
               threading.Thread(target=ask, args=("hinted part reload", f"{LL}?_HLS_msn={msn}&_HLS_part={part}")),
               threading.Thread(target=ask, args=("hinted part", f"/live/s/part{msn}.{part}.m4s"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(25)
    for key in ("next segment", "hinted part reload"):
        r, took = results[key]
        assert r.status == 503, f"{key}: {r.status} after {took:.2f} s: {r.body[:200]!r}"
        assert 3 * target - 0.3 <= took <= 3 * target + 1.5, \
            f"{key}: 503 after {took:.2f} s, the bound is 3 target durations = {3 * target} s"
        assert "three target durations" in hls.one_line_reason(r)
    r, took = results["hinted part"]
    bound = 3 * 0.3 + 1.0
    assert r.status == 503 and bound - 0.3 <= took <= bound + 1.5, \
        f"hinted part: {r.status} after {took:.2f} s (bound {bound} s): {r.body[:200]!r}"
    hls.one_line_reason(r)
    # Nothing is left held: the stream still answers plain reloads.
    assert hls.get(s, LL).status == 200


def _send_held(s, path):
    sock = socket.create_connection(s.http_addr, timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    return sock


def _answered(sock, wait):
    sock.settimeout(wait)
    try:
        data = sock.recv(1)
        return data != b""
    except socket.timeout:
        return False


def _read_response(sock, timeout):
    deadline = time.monotonic() + timeout
    head, rest = httpc.read_head(sock, deadline)
    status, _, headers, _ = httpc.parse_head(head)
    body = bytearray(rest)
    want = int(headers.get("content-length", 0))
    while len(body) < want:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        data = sock.recv(65536)
        if not data:
            break
        body += data
    return status, bytes(body)


def test_max_blocking_requests_and_client_disconnects(weir, tmp_path):
    cap = 3
    s = weir({"apps": {"live": {"hls": {"segment_ms": 2000, "part_ms": 500, "max_blocking_requests": cap}}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=30, gop=2 * FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 2 * FPS)
    hls.playlist(s, LL)
    pl = hls.playlist(s, LL)
    msn, _ = hint_of(pl)
    target_msn = msn + 1  # completes in 2..4 s; the hold bound is 6 s
    path = f"{LL}?_HLS_msn={target_msn}"
    held = [_send_held(s, path) for _ in range(cap)]
    time.sleep(0.3)
    for i, sock in enumerate(held):
        assert not _answered(sock, 0.05), f"held request {i} was answered at once"
    t0 = time.monotonic()
    r = hls.get(s, path)
    assert r.status == 503 and time.monotonic() - t0 < 0.5, \
        f"request {cap + 1} with {cap} held: {r.status} {r.body[:200]!r} (max_blocking_requests {cap})"
    assert "too many held requests" in hls.one_line_reason(r)
    # A held client goes away: its slot is free again, the others are not disturbed.
    held[0].close()
    time.sleep(0.3)
    extra = _send_held(s, path)
    time.sleep(0.2)
    assert not _answered(extra, 0.05), "request after a held client left was answered at once (still counted?)"
    for i, sock in enumerate(held[1:] + [extra]):
        status, body = _read_response(sock, 10)
        sock.close()
        assert status == 200, f"held request {i}: {status} {body[:200]!r}"
        got = hls.Playlist(body.decode())
        assert got.segment(target_msn) is not None and got.segment(target_msn).complete, \
            f"held request {i} answered without segment {target_msn}:\n{got.text}"
    # Every slot is free again.
    pl = hls.playlist(s, LL)
    msn, part = hint_of(pl)
    socks = [_send_held(s, f"{LL}?_HLS_msn={msn}&_HLS_part={part}") for _ in range(cap)]
    for i, sock in enumerate(socks):
        status, body = _read_response(sock, 10)
        sock.close()
        assert status == 200, f"after the burst, held request {i}: {status} {body[:200]!r}"
    pub.stop()


@pytest.mark.parametrize("fps", [30, 60])
def test_default_parts_are_whole_at_30_and_60_fps(weir, tmp_path, fps):
    """The default 400 ms part holds 12 (24) frames at 30 (60) fps although FLV's
    ms timestamps make the frame interval 33/34 (16/17) ms: every part of a
    2 s segment is 400 ms, none is a sliver (and nothing is logged about one)."""
    s = weir({"apps": {"live": {}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=20, fps=fps, gop=2 * fps)
    s.wait_stream(pred=lambda i: i["video_frames"] >= fps)
    hls.playlist(s, LL)
    deadline = time.monotonic() + 20
    while True:
        pl = hls.playlist(s, LL)
        done = [sg for sg in pl.complete_segments if sg.parts]
        if len(done) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    pub.stop()
    assert len(done) >= 2, pl.text
    check_ll_tags(pl, 0.4, f"{fps} fps")
    for sg in done:
        assert [round(p.duration, 3) for p in sg.parts] == [0.4] * 5, f"{fps} fps: segment {sg.msn} parts {sg.parts}"
    assert "ends with a" not in s.log(), "a sliver part was logged"
