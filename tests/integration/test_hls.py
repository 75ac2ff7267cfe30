"""HLS output (MPEG-TS playlist /{app}/{stream}.m3u8 and fMP4 playlist
/{app}/{stream}/llhls.m3u8): playlist structure over reloads, what ffmpeg
reads from it, frame counts of 20 s of output, audio-only / video-only /
HEVC streams, publisher reconnects (EXT-X-DISCONTINUITY), AES-128, packaging
restart after the idle stop, and the HTTP headers and error answers."""

import threading
import time

from weirtest import hls, media
from weirtest.hls import Follower

FPS = 25
AUDIO_FPS = 44100 / 1024  # AAC frames per second
SEG_MS = 1000

# Short segments and parts keep the tests fast; the GOP (25 frames = 1 s)
# matches the segment length.
HLS_APP = {"hls": {"segment_ms": SEG_MS, "part_ms": 300}}


def ts_path(app="live", name="s"):
    return f"/{app}/{name}.m3u8"


def ll_path(app="live", name="s"):
    return f"/{app}/{name}/llhls.m3u8"


def assert_close(value, expected, frac, what):
    lo, hi = expected * (1 - frac), expected * (1 + frac)
    assert lo <= value <= hi, f"{what}: {value}, expected {expected:.1f} +-{frac * 100:.0f}% ({lo:.1f}..{hi:.1f})"


def check_common(pl, what, window):
    """Checks every media playlist must pass (both kinds)."""
    assert pl.target is not None and pl.media_sequence is not None, f"{what}: no TARGETDURATION/MEDIA-SEQUENCE"
    assert pl.independent_segments, f"{what}: no EXT-X-INDEPENDENT-SEGMENTS"
    assert pl.count("EXT-X-DISCONTINUITY-SEQUENCE") == 1, f"{what}: no EXT-X-DISCONTINUITY-SEQUENCE"
    complete = pl.complete_segments
    assert complete, f"{what}: no complete segment"
    assert len(complete) <= window, f"{what}: {len(complete)} segments listed, window_segments is {window}"
    for s in pl.segments:
        assert s.pdt is not None, f"{what}: segment {s.msn} has no EXT-X-PROGRAM-DATE-TIME"
    for s in complete:
        # RFC 8216 4.3.3.1: EXTINF rounded to the nearest integer <= TARGETDURATION.
        assert round(s.duration) <= pl.target and s.duration <= pl.target + 0.0005, \
            f"{what}: segment {s.msn} lasts {s.duration} s, TARGETDURATION is {pl.target}"
    for a, b in zip(pl.segments, pl.segments[1:]):
        if b.discontinuity:
            continue
        assert abs((b.pdt - a.pdt) - a.duration) <= 0.0015, \
            f"{what}: PROGRAM-DATE-TIME of {b.msn} ({b.pdt_text}) is not that of {a.msn} ({a.pdt_text}) + " \
            f"EXTINF {a.duration}"


def check_ts_playlist(pl, what, window, stream="s"):
    check_common(pl, what, window)
    assert pl.version == 3, f"{what}: EXT-X-VERSION {pl.version}, want 3"
    for s in pl.segments:
        assert s.complete, f"{what}: MPEG-TS playlist lists an incomplete segment"
        assert s.uri == f"{stream}/seg{s.msn}.ts", f"{what}: segment {s.msn} has URI {s.uri!r}"
    assert pl.count("EXT-X-PART") == 0 and pl.preload_hint is None, f"{what}: LL-HLS tags in the TS playlist"


def check_ll_playlist(pl, what, window):
    check_common(pl, what, window)
    assert pl.version == 9, f"{what}: EXT-X-VERSION {pl.version}, want 9"
    assert pl.maps and pl.segments[0].map, f"{what}: no EXT-X-MAP before the first segment"
    for s in pl.complete_segments:
        assert s.uri == f"seg{s.msn}.m4s", f"{what}: segment {s.msn} has URI {s.uri!r}"
        for i, p in enumerate(s.parts):
            assert p.uri == f"part{s.msn}.{i}.m4s", f"{what}: part {i} of {s.msn} has URI {p.uri!r}"


def follow_both(s, app, name, seconds, interval=0.5):
    fts = Follower(s, ts_path(app, name), interval=interval)
    fll = Follower(s, ll_path(app, name), interval=interval)
    fts.start()
    fll.start()
    time.sleep(seconds)
    fts.stop()
    fll.stop()
    for f in (fts, fll):
        assert not f.errors, f"{f.path}: {f.errors[:5]}"
        assert not f.problems, f"{f.path}: {f.problems[:5]}"
    return fts, fll


def check_vod_copy(f, outdir, kinds, what, extra_in=()):
    """Decodes the follower's segments as a local VOD playlist: no warning
    at all, and the frame counts EXTINF promises (+-2%)."""
    vod = f.write_vod(outdir)
    counts, codecs, err = hls.count_frames(vod, extra_in=extra_in)
    assert not err.strip(), f"{what}: ffprobe -v warning reading {len(f.data)} segments printed:\n{err[-3000:]}"
    total = f.total_duration([m for m in f.msns() if m in f.data])
    if "video" in kinds:
        assert_close(counts.get("video", 0), total * FPS, 0.02, f"{what}: video frames in {total:.3f} s")
    else:
        assert "video" not in counts, f"{what}: unexpected video stream {codecs}"
    if "audio" in kinds:
        assert_close(counts.get("audio", 0), total * AUDIO_FPS, 0.02, f"{what}: audio frames in {total:.3f} s")
    else:
        assert "audio" not in counts, f"{what}: unexpected audio stream {codecs}"
    return counts, codecs, total


def test_ts_and_fmp4_playlists_20s(weir, tmp_path):
    s = weir({"apps": {"live": HLS_APP}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=40, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 3 * FPS)
    # The first HLS request starts packaging, backfilled from the GOP cache:
    # the first playlist comes back at once with the cached seconds in it.
    t_first = time.time()
    t0 = time.monotonic()
    first = hls.playlist(s, ts_path())
    took = time.monotonic() - t0
    assert took < 1.5, f"first playlist of a stream that ran 3 s took {took:.2f} s (no GOP-cache backfill?)"
    assert len(first.segments) >= 2, f"first playlist lists {len(first.segments)} segments:\n{first.text}"
    # Media sequence numbers start at the Unix second packaging started.
    assert abs(first.media_sequence - t_first) <= 2, \
        f"first MEDIA-SEQUENCE {first.media_sequence}, packaging started at Unix second {int(t_first)}"

    fts, fll = follow_both(s, "live", "s", 21)
    assert pub.running(), f"publisher ended early: {pub.log()}"

    window = 6
    for _, pl in fts.playlists:
        check_ts_playlist(pl, "TS playlist", window)
    for _, pl in fll.playlists:
        check_ll_playlist(pl, "LL playlist", window)
    # Both playlists number and cut segments the same way.
    common = sorted(set(fts.segments) & set(fll.segments))
    assert len(common) >= 15, f"only {len(common)} segments in both playlists"
    for m in common:
        a, b = fts.segments[m], fll.segments[m]
        assert abs(a.duration - b.duration) < 0.0015 and a.pdt == b.pdt, \
            f"segment {m}: TS {a.duration}/{a.pdt_text}, fMP4 {b.duration}/{b.pdt_text}"
    # Segment lengths: the GOP is 1 s, so every segment is 1 s.
    for m in fts.msns():
        d = fts.segments[m].duration
        assert abs(d - SEG_MS / 1000) <= 0.05, f"segment {m} lasts {d} s, want ~{SEG_MS / 1000}"
    # The follower reloaded often enough to see every segment; none was skipped.
    msns = fts.msns()
    assert msns == list(range(msns[0], msns[-1] + 1)), f"TS msns not contiguous: {msns}"
    # Program date-time tracks the wall clock of the ingest.
    last = hls.playlist(s, ts_path()).segments[-1]
    lag = time.time() - (last.pdt + last.duration)
    assert -0.5 <= lag <= 4, f"live edge PROGRAM-DATE-TIME + EXTINF is {lag:.2f} s behind now"

    for f, what in ((fts, "MPEG-TS"), (fll, "fMP4")):
        assert f.total_duration() >= 20, f"{what}: only {f.total_duration():.1f} s followed"
        counts, codecs, total = check_vod_copy(f, tmp_path / what, ("video", "audio"), what)
        assert codecs == {"video": "h264", "audio": "aac"}, f"{what}: codecs {codecs}"

    # ffprobe on the live playlists themselves.
    for path, what in ((ts_path(), "MPEG-TS"), (ll_path(), "fMP4")):
        st, err = hls.probe_streams(s.http_url(path))
        if what == "fMP4":
            err = hls.warnings_except_live_fmp4_noise(err)
        assert not err.strip(), f"ffprobe -v warning {path} printed:\n{err}"
        assert st["video"]["codec_name"] == "h264" and (st["video"]["width"], st["video"]["height"]) == (320, 240), \
            f"{what}: video {st['video']}"
        assert st["audio"]["codec_name"] == "aac" and int(st["audio"]["sample_rate"]) == 44100, \
            f"{what}: audio {st['audio']}"
    pub.stop()


def test_first_playlist_is_held_until_the_first_segment(weir, tmp_path):
    s = weir({"apps": {"live": HLS_APP}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=20, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 1)
    results = {}

    def ask(path):
        t0 = time.monotonic()
        r = hls.get(s, path, timeout=15)
        results[path] = (r, time.monotonic() - t0)

    threads = [threading.Thread(target=ask, args=(p,)) for p in (ts_path(), ll_path())]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for path, (r, took) in results.items():
        assert r.status == 200, f"{path} right after publish: {r.status} {r.body[:200]!r} after {took:.2f} s"
        pl = hls.Playlist(r.body.decode())
        assert pl.complete_segments, f"{path}: held answer lists no complete segment:\n{pl.text}"
        # Held until the first segment (1 s) was complete, not answered 503 at once.
        assert 0.3 <= took <= 3 * SEG_MS / 1000 + 1, f"{path}: answered after {took:.2f} s"
    pub.stop()


def test_audio_only_and_video_only(weir, tmp_path):
    s = weir({"apps": {"live": HLS_APP}})
    pa = media.start_publisher(s.rtmp_url(stream="a"), tmp_path, "pub_a", duration=30, video=False)
    pv = media.start_publisher(s.rtmp_url(stream="v"), tmp_path, "pub_v", duration=30, audio=False, gop=FPS)
    s.wait_stream(name="a", pred=lambda i: i["audio_frames"] >= 2 * AUDIO_FPS)
    s.wait_stream(name="v", pred=lambda i: i["video_frames"] >= 2 * FPS)
    followers = {}
    for name in ("a", "v"):
        followers[name] = (Follower(s, ts_path("live", name)), Follower(s, ll_path("live", name)))
        for f in followers[name]:
            f.start()
    time.sleep(7)
    for name, kinds in (("a", ("audio",)), ("v", ("video",))):
        for f, what in zip(followers[name], ("MPEG-TS", "fMP4")):
            f.stop()
            label = f"{what} of the {kinds[0]}-only stream"
            assert not f.errors and not f.problems, f"{label}: {f.errors[:3]} {f.problems[:3]}"
            assert len(f.data) >= 5, f"{label}: only {len(f.data)} segments in 7 s"
            for _, pl in f.playlists:
                if what == "MPEG-TS":
                    check_ts_playlist(pl, label, 6, name)
                else:
                    check_ll_playlist(pl, label, 6)
            for m in f.msns():
                d = f.segments[m].duration
                assert 0.9 <= d <= 1.1, f"{label}: segment {m} lasts {d} s, want ~1 s"
            counts, codecs, _ = check_vod_copy(f, tmp_path / f"{name}-{what}", kinds, label)
            assert set(codecs.values()) == {"aac" if name == "a" else "h264"}, f"{label}: codecs {codecs}"
    pa.stop()
    pv.stop()


def test_hevc_from_enhanced_rtmp(weir, tmp_path):
    clip = hls.HevcClip(tmp_path / "clip", seconds=12)
    s = weir({"apps": {"live": HLS_APP}})
    pub = hls.HevcPublisher(s, clip, name="hevc")
    pub.start()
    s.wait_stream(name="hevc", pred=lambda i: i["video_frames"] >= 2 * FPS)
    fts, fll = follow_both(s, "live", "hevc", 7)
    assert pub.error is None, f"publisher: {pub.error!r}"
    for f, what in ((fts, "MPEG-TS"), (fll, "fMP4")):
        assert len(f.data) >= 5, f"HEVC {what}: only {len(f.data)} segments"
        counts, codecs, _ = check_vod_copy(f, tmp_path / what, ("video", "audio"), f"HEVC {what}")
        assert codecs == {"video": "hevc", "audio": "aac"}, f"HEVC {what}: codecs {codecs}"
    init = next(iter(fll.inits.values()))
    info = hls.InitInfo(init)
    assert "hvc1" in info.codecs.values(), f"fMP4 init sample entries {info.codecs}, want hvc1"
    pub.stop()


def test_republish_inserts_discontinuity(weir, tmp_path):
    s = weir({"apps": {"live": dict(HLS_APP, reconnect_grace_ms=4000)}})
    pub1 = media.start_publisher(s.rtmp_url(), tmp_path, "pub1", duration=6, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= FPS)
    fts = Follower(s, ts_path(), interval=0.3)
    fll = Follower(s, ll_path(), interval=0.3)
    fts.start()
    fll.start()
    assert pub1.wait(20) == 0, pub1.log()
    time.sleep(0.7)  # away for a moment, well within the grace
    t_pub2 = time.time()
    pub2 = media.start_publisher(s.rtmp_url(), tmp_path, "pub2", duration=6, gop=FPS)
    assert pub2.wait(20) == 0, pub2.log()
    time.sleep(1.0)
    fts.stop()
    fll.stop()
    assert s.stream_info()["publishes"] == 2

    for f, what in ((fts, "MPEG-TS"), (fll, "fMP4")):
        assert not f.errors, f"{what}: {f.errors[:5]}"
        segs = [f.segments[m] for m in f.msns()]
        disc = [sg for sg in segs if sg.discontinuity]
        assert len(disc) == 1, f"{what}: {len(disc)} EXT-X-DISCONTINUITY segments, want 1 " \
                               f"(msns {[sg.msn for sg in disc]}); last playlist:\n{f.playlists[-1][1].text}"
        d = disc[0]
        before = [sg for sg in segs if sg.msn < d.msn]
        after = [sg for sg in segs if sg.msn >= d.msn]
        assert len(before) >= 4 and len(after) >= 4, f"{what}: {len(before)} segments before, {len(after)} after"
        assert all(sg.disc_seq == before[0].disc_seq for sg in before), f"{what}: discontinuity numbers before"
        assert all(sg.disc_seq == before[0].disc_seq + 1 for sg in after), \
            f"{what}: segments after the discontinuity have discontinuity numbers {[sg.disc_seq for sg in after]}"
        # The media sequence keeps counting through the reconnect.
        assert [sg.msn for sg in segs] == list(range(segs[0].msn, segs[-1].msn + 1)), f"{what}: msns not contiguous"
        # Date-time is re-anchored, after the end of the last segment before.
        prev = before[-1]
        assert d.pdt >= prev.pdt + prev.duration - 0.05, \
            f"{what}: PDT after the reconnect {d.pdt_text} is before the end of {prev.msn} ({prev.pdt_text} + {prev.duration})"
        assert abs(d.pdt - t_pub2) <= 1.5, \
            f"{what}: first segment after the reconnect has PDT {d.pdt_text}, the new publisher started at " \
            f"{t_pub2:.3f} (PDT not re-anchored on the wall clock)"
        # Playlists seen after the discontinuity number it consistently: the
        # header's DISCONTINUITY-SEQUENCE plus the tags before a segment.
        for _, pl in f.playlists:
            for sg in pl.segments:
                if sg.complete and sg.msn in f.segments:
                    assert sg.disc_seq == f.segments[sg.msn].disc_seq, \
                        f"{what}: segment {sg.msn} has discontinuity number {sg.disc_seq} in one playlist and " \
                        f"{f.segments[sg.msn].disc_seq} in another:\n{pl.text}"
        assert not f.problems, f"{what}: {f.problems[:5]}"
        check_vod_copy(f, tmp_path / what, ("video", "audio"), f"{what} across the reconnect")


def test_aes128_encryption_and_key_rotation(weir, tmp_path):
    rotation = 2
    s = weir({"apps": {"live": {"hls": {"segment_ms": SEG_MS, "encryption": "aes-128",
                                         "key_rotation_segments": rotation}}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=30, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= FPS)
    first = hls.playlist(s, ts_path())
    base = first.media_sequence  # packaging started with this request: its first msn
    f = Follower(s, ts_path(), interval=0.4)
    f.start()
    time.sleep(8)
    f.stop()
    assert not f.errors and not f.problems, f"{f.errors[:3]} {f.problems[:3]}"
    for _, pl in f.playlists:
        for sg in pl.segments:
            assert sg.key is not None, f"segment {sg.msn} is not under an EXT-X-KEY:\n{pl.text}"
            assert sg.key.get("METHOD") == "AES-128" and "IV" not in sg.key, f"EXT-X-KEY {sg.key}"
            kid = base + (sg.msn - base) // rotation * rotation  # the msn of the key's first segment
            assert sg.key["URI"] == f"s/key{kid}.key", \
                f"segment {sg.msn}: key URI {sg.key['URI']}, want s/key{kid}.key (new key every {rotation} segments " \
                f"from msn {base})"
        # One EXT-X-KEY per key change, not per segment.
        uris = [sg.key["URI"] for sg in pl.segments]
        changes = 1 + sum(1 for a, b in zip(uris, uris[1:]) if a != b)
        assert pl.count("EXT-X-KEY") == changes, f"{pl.count('EXT-X-KEY')} EXT-X-KEY tags for {changes} keys"
    keys = {}
    for uri, k in f.keys.items():
        assert len(k) == 16, f"{uri}: {len(k)} bytes, want 16"
        keys[uri] = k
    assert len(keys) >= 3 and len(set(keys.values())) == len(keys), "keys do not change"
    r = hls.get_ok(s, "/live/" + next(iter(keys)))
    assert r.header("content-type") == "application/octet-stream", r.headers
    for m in f.msns():
        raw = f.data[m]
        assert len(raw) % 16 == 0, f"segment {m}: {len(raw)} bytes is not whole AES blocks"
        assert not hls.is_plain_ts(raw), f"segment {m} is plain MPEG-TS although encryption is aes-128"
        clear = hls.aes128_cbc_decrypt(raw, keys[f.segments[m].key["URI"]], hls.iv_for_msn(m))
        assert hls.is_plain_ts(clear), f"segment {m} does not decrypt to MPEG-TS with IV = its media sequence number"
    check_vod_copy(f, tmp_path / "vod", ("video", "audio"), "AES-128 VOD copy", extra_in=("-allowed_extensions", "ALL"))
    # ffmpeg decrypts the live playlist natively.
    rc, err = hls.ffmpeg_decode(s.http_url(ts_path()), seconds=3)
    assert rc == 0 and not err.strip(), f"ffmpeg reading the encrypted live playlist (rc {rc}):\n{err[-2000:]}"
    pub.stop()


def test_packaging_restarts_after_idle_stop(weir, tmp_path):
    """Packaging stops hls.idle_timeout_ms after the last HLS request; a later
    request starts it again (on a stream that has been live longer than the
    GOP cache, so the codec configs are no longer in the cached packets)."""
    s = weir({"apps": {"live": {"gop_cache_max_ms": 2000, "hls": {"segment_ms": SEG_MS, "idle_timeout_ms": 1000}}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=30, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 2 * FPS)
    pl1 = hls.playlist(s, ts_path())
    s.wait_log(r"hls live/s: packaging stopped: no HLS request", timeout=8, start=0)
    time.sleep(3)  # the GOP cache no longer holds the packets the stream started with
    off = s.log_offset()
    t0 = time.monotonic()
    r = hls.get(s, ts_path(), timeout=15)
    took = time.monotonic() - t0
    log = s.log()[off:]
    assert r.status == 200, \
        f"playlist after packaging restarted: {r.status} {r.body[:200]!r} after {took:.1f} s; server log since:\n{log}"
    pl2 = hls.Playlist(r.body.decode())
    assert pl2.media_sequence > pl1.segments[-1].msn, \
        f"media sequence went back after the restart: {pl2.media_sequence} <= {pl1.segments[-1].msn}"
    assert "no fMP4 init segment" not in log and "output stopped" not in log, f"server log:\n{log}"
    st, err = hls.probe_streams(s.http_url(ts_path()))
    assert not err.strip() and st["video"]["codec_name"] == "h264" and "audio" in st, f"{st} {err}"
    pub.stop()


def test_headers_etag_cors_and_errors(weir, tmp_path):
    s = weir({"apps": {"live": HLS_APP, "nohls": {"hls": {"enabled": False}}}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, "pub", duration=30, gop=FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 2 * FPS)
    ll = hls.playlist(s, ll_path())
    hls.playlist(s, ts_path())

    for path in (ts_path(), ll_path()):
        for attempt in range(5):
            r = hls.get_ok(s, path)
            assert r.header("content-type") == "application/vnd.apple.mpegurl", f"{path}: {r.headers}"
            cc = r.header("cache-control", "")
            assert "immutable" not in cc and "max-age=" in cc, f"{path}: Cache-Control {cc!r}"
            assert int(cc.split("max-age=")[1].split(",")[0]) <= 2, f"{path}: playlist cached too long ({cc})"
            assert r.header("access-control-allow-origin") == "*", f"{path}: no CORS header: {r.headers}"
            etag = r.header("etag")
            assert etag, f"{path}: no ETag"
            r2 = hls.get(s, path, headers={"If-None-Match": etag})
            if r2.status == 304:
                assert r2.body == b"" and r2.header("etag") == etag, f"{path}: 304 {r2.headers} {r2.body[:100]!r}"
                assert r2.header("access-control-allow-origin") == "*", f"{path}: 304 without CORS: {r2.headers}"
                break
            # The playlist changed in between (new part): the ETag must have too.
            assert r2.status == 200 and r2.header("etag") != etag, \
                f"{path}: If-None-Match with the current ETag gave {r2.status}, ETag {r2.header('etag')} vs {etag}"
        else:
            raise AssertionError(f"{path}: never answered 304 to If-None-Match")
        r3 = hls.get(s, path, headers={"If-None-Match": '"0000000000000000"'})
        assert r3.status == 200, f"{path}: stale ETag gave {r3.status}"

    seg = ll.complete_segments[-1]
    objs = [(f"/live/s/seg{seg.msn}.ts", "video/mp2t"), (f"/live/s/seg{seg.msn}.m4s", None),
            (f"/live/s/{seg.parts[0].uri}" if seg.parts else f"/live/s/{seg.uri}", None),
            (f"/live/s/{seg.map}", None)]
    for path, ctype in objs:
        r = hls.get_ok(s, path)
        assert r.header("cache-control") == "public, max-age=86400, immutable", f"{path}: {r.headers}"
        assert r.header("access-control-allow-origin") == "*", f"{path}: no CORS header"
        assert int(r.header("content-length")) == len(r.body) > 0, path
        if ctype:
            assert r.header("content-type") == ctype, f"{path}: {r.header('content-type')}"
    assert hls.is_plain_ts(hls.get_ok(s, f"/live/s/seg{seg.msn}.ts").body)

    not_found = [
        ("/live/nope.m3u8", "not published"),
        ("/live/nope/llhls.m3u8", "not published"),
        ("/other/s.m3u8", "not configured"),
        ("/nohls/s.m3u8", "not enabled"),
        ("/live/s/other.m3u8", "no such"),
        ("/live/s/seg1.ts", "not available"),
        ("/live/s/seg1.m4s", "not available"),
        ("/live/s/part1.0.m4s", "not available"),
        ("/live/s/init999.mp4", "not available"),
        ("/live/s/key1.key", "no such key"),
        ("/live/s/foo.ts", "no such"),
        ("/live/nope/seg1.ts", "not published"),
    ]
    for path, words in not_found:
        r = hls.get(s, path)
        assert r.status == 404, f"{path}: {r.status} {r.body[:200]!r}"
        reason = hls.one_line_reason(r)
        assert words in reason, f"{path}: reason {reason!r} does not say {words!r}"
    bad = [
        (ts_path() + "?delay=-5", "delay"),
        (ts_path() + "?delay=abc", "delay"),
        (ts_path() + "?start=200&end=100", "end"),
        (ts_path() + "?end=100", "end"),
        (ts_path() + "?delay=5&start=100", "delay"),
        (ts_path() + "?delay=5", "time-shift is not enabled"),
        (ll_path() + "?_HLS_msn=abc", "_HLS_msn"),
        (ll_path() + "?_HLS_part=1", "_HLS_part"),
        (ll_path() + "?_HLS_msn=1&_HLS_part=-1", "_HLS_part"),
        (ll_path() + "?_HLS_skip=maybe", "_HLS_skip"),
        (ll_path() + "?_HLS_msn=1&_HLS_msn=2", "twice"),
        (ts_path() + "?txTimeshift=on&tsFormat=unix_ms&tsDelay=5", "tsFormat"),
    ]
    for path, words in bad:
        r = hls.get(s, path)
        assert r.status == 400, f"{path}: {r.status} {r.body[:200]!r}"
        reason = hls.one_line_reason(r)
        assert words in reason, f"{path}: reason {reason!r} does not mention {words!r}"
    pub.stop()
