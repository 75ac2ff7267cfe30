"""Time-shift (app timeshift.enabled): ?delay=, ?start=[&end=] and the
Tencent aliases on the MPEG-TS playlist, the window bounds, spilling old
segments to files under timeshift.dir (and deleting them), and time-shifted
HTTP-FLV (?delay= on /{app}/{stream}.flv).

One stream serves the whole module: 1 s segments at a constant ~1 Mbit/s, a
1 MiB memory budget (less than the 6-segment live window, so everything
older spills to disk at once) and a 3 MiB disk budget (about 20 segments;
older ones are evicted)."""

import subprocess
import time
from pathlib import Path

import pytest

from weirtest import checks, hls, media
from weirtest.hls import Follower
from weirtest.httpc import FlvViewer

FPS = 25
DISK_BYTES = 3 * 1024 * 1024
TS = "/ts/s.m3u8"


class Env:
    def __init__(self, server, pub, follower, tsdir, t_publish):
        self.s = server
        self.pub = pub
        self.follower = follower
        self.tsdir = tsdir
        self.t_publish = t_publish  # wall clock when the publisher started

    def age(self):
        return time.time() - self.t_publish

    def wait_age(self, seconds):
        left = seconds - self.age()
        if left > 0:
            time.sleep(left)

    def stream_dirs(self):
        d = self.tsdir / "ts"
        return sorted(d.glob("s-*")) if d.is_dir() else []

    def spilled(self):
        """{msn: path} of the segment files on disk now."""
        out = {}
        for d in self.stream_dirs():
            for f in d.glob("seg*.ts"):
                out[int(f.name[3:-3])] = f
        return out


@pytest.fixture(scope="module")
def env(weir_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("timeshift")
    tsdir = d / "spill"
    s = weir_module({"apps": {"ts": {"reconnect_grace_ms": 1000,
                                     "hls": {"segment_ms": 1000},
                                     "timeshift": {"enabled": True, "window_ms": 60000, "memory_bytes": "1MiB",
                                                   "disk_bytes": DISK_BYTES, "dir": str(tsdir)}}}})
    t_publish = time.time()
    pub = media.start_publisher(s.rtmp_url("ts", "s"), d, "pub", duration=90, gop=FPS, bitrate="1000k", cbr=True)
    s.wait_stream("ts", "s", pred=lambda i: i["video_frames"] >= FPS)
    # Time-shift apps package from publish; the follower keeps a copy of every
    # segment as served while it is in the live window (from memory).
    f = Follower(s, TS, interval=0.4)
    f.start()
    e = Env(s, pub, f, tsdir, t_publish)
    yield e
    f.stop()
    pub.stop()


def edge_of(pl):
    last = pl.segments[-1]
    return last.pdt + last.duration


def test_delay_playlist_lags_live(env):
    s = env.s
    # Time-shift apps package from publish, not from the first HLS request.
    hls_wait(lambda: env.follower.playlists, 10, "a first playlist")
    first = env.follower.playlists[0][1].segments[0]
    assert abs(first.pdt - env.t_publish) <= 1.5, \
        f"first segment starts at {first.pdt_text}, published at {env.t_publish:.3f}"
    env.wait_age(24)
    for delay in (20, 7.5):
        t = time.time()
        r = hls.get_ok(s, f"{TS}?delay={delay}")
        pl = hls.Playlist(r.body.decode())
        lag = t - edge_of(pl)
        assert delay - 0.05 <= lag <= delay + 2, \
            f"?delay={delay}: last PDT + EXTINF is {lag:.2f} s behind now:\n{pl.text}"
        assert not pl.endlist and pl.playlist_type is None, f"?delay={delay} is a live playlist:\n{pl.text}"
        assert 1 <= len(pl.segments) <= 6
        assert r.header("cache-control") == "public, max-age=1"
        for a, b in zip(pl.segments, pl.segments[1:]):
            assert b.msn == a.msn + 1 and abs(b.pdt - a.pdt - a.duration) < 0.002, f"gap in\n{pl.text}"
        # Its segments (on disk by now for the 20 s delay) are the bytes served
        # from memory while they were live.
        for sg in pl.segments:
            body = hls.get_ok(s, "/ts/" + sg.uri).body
            assert hls.is_plain_ts(body), f"{sg.uri}: not MPEG-TS"
            if sg.msn in env.follower.data:
                assert body == env.follower.data[sg.msn], \
                    f"{sg.uri} under ?delay={delay} differs from what was served live ({len(body)} vs " \
                    f"{len(env.follower.data[sg.msn])} bytes)"
    # It moves with the clock.
    pl1 = hls.playlist(s, f"{TS}?delay=20")
    time.sleep(2.2)
    pl2 = hls.playlist(s, f"{TS}?delay=20")
    assert pl2.segments[-1].msn >= pl1.segments[-1].msn + 1 and edge_of(pl2) > edge_of(pl1) + 1, \
        f"?delay=20 playlist did not advance:\n{pl1.text}\n->\n{pl2.text}"
    assert pl2.media_sequence >= pl1.media_sequence
    # ffmpeg plays it (segment URIs are relative; reloads keep the query).
    rc, err = hls.ffmpeg_decode(s.http_url(f"{TS}?delay=20"), seconds=3)
    assert rc == 0 and not err.strip(), f"ffmpeg on ?delay=20 (rc {rc}):\n{err[-2000:]}"


def test_start_end_vod_and_event(env, tmp_path):
    s = env.s
    env.wait_age(16)
    # Relative to now: older segments may have been evicted already (the
    # disk budget keeps about 27 s) when earlier tests of the module ran long.
    start = int(time.time()) - 12
    end = start + 6
    r = hls.get_ok(s, f"{TS}?start={start}&end={end}")
    vod = hls.Playlist(r.body.decode())
    assert vod.playlist_type == "VOD" and vod.endlist, f"start/end in the past is not a closed VOD:\n{vod.text}"
    assert "max-age=" in r.header("cache-control", "")
    first, last = vod.segments[0], vod.segments[-1]
    assert first.pdt <= start < first.pdt + first.duration, \
        f"first segment {first.pdt_text} +{first.duration} does not contain start {start}"
    assert last.pdt < end <= last.pdt + last.duration + 0.001, \
        f"last segment {last.pdt_text} +{last.duration} does not contain end {end}"
    total = sum(x.duration for x in vod.segments)
    assert end - start <= total <= end - start + 2.05, f"VOD lasts {total:.3f} s for {end - start} s asked"
    assert vod.media_sequence == first.msn
    counts, codecs, err = hls.count_frames(s.http_url(f"{TS}?start={start}&end={end}"))
    assert not err.strip(), f"ffprobe on the VOD playlist:\n{err[-2000:]}"
    assert abs(counts["video"] - total * FPS) <= 0.02 * total * FPS, f"{counts} for {total:.3f} s"
    # start alone: an EVENT playlist from that segment to the live edge.
    t = time.time()
    ev = hls.playlist(s, f"{TS}?start={start}")
    assert ev.playlist_type == "EVENT" and not ev.endlist, ev.text
    assert ev.segments[0].msn == first.msn
    assert t - edge_of(ev) <= 2.5, f"EVENT playlist ends {t - edge_of(ev):.2f} s before now"
    # An end not reached yet: EVENT, closed later.
    future_end = int(time.time()) + 3
    ev2 = hls.playlist(s, f"{TS}?start={start}&end={future_end}")
    assert ev2.playlist_type == "EVENT" and not ev2.endlist, f"end in the future:\n{ev2.text}"
    time.sleep(5)
    closed = hls.playlist(s, f"{TS}?start={start}&end={future_end}")
    assert closed.playlist_type == "VOD" and closed.endlist, f"end now covered:\n{closed.text}"
    assert edge_of(closed) >= future_end


def test_tencent_aliases(env):
    s = env.s
    env.wait_age(16)
    start = int(time.time()) - 11
    end = start + 4
    native = hls.get_ok(s, f"{TS}?start={start}&end={end}").body
    alias = hls.get_ok(s, f"{TS}?txTimeshift=on&tsStart={start}&tsEnd={end}&tsFormat=unix_s").body
    assert alias == native, f"tsStart/tsEnd playlist differs from start/end:\n{alias.decode()}\nvs\n{native.decode()}"
    ev = hls.playlist(s, f"{TS}?txTimeshift=on&tsStart={start}")
    assert ev.playlist_type == "EVENT" and ev.segments[0].pdt <= start
    for _ in range(5):
        a = hls.playlist(s, f"{TS}?delay=8")
        b = hls.playlist(s, f"{TS}?txTimeshift=on&tsDelay=8")
        if a.text == b.text:
            break
        time.sleep(0.1)
    assert a.text == b.text, f"tsDelay=8 differs from delay=8:\n{b.text}\nvs\n{a.text}"
    # Without txTimeshift=on the Tencent names mean nothing: the live playlist.
    live = hls.playlist(s, f"{TS}?tsDelay=8")
    assert time.time() - edge_of(live) < 3, "tsDelay without txTimeshift=on was applied"
    r = hls.get(s, f"{TS}?txTimeshift=on&tsDelay=8&delay=8")
    assert r.status == 400 and "once" in hls.one_line_reason(r), f"{r.status} {r.body!r}"


def test_outside_window_and_malformed(env):
    s = env.s
    env.wait_age(6)
    now = int(time.time())
    for q in (f"start={int(env.t_publish) - 100}", f"start={int(env.t_publish) - 100}&end={int(env.t_publish) - 50}",
              "delay=100000", f"txTimeshift=on&tsStart={int(env.t_publish) - 100}"):
        r = hls.get(s, f"{TS}?{q}")
        assert r.status == 404, f"?{q}: {r.status} {r.body[:300]!r}"
        reason = hls.one_line_reason(r)
        assert "window is" in reason, f"?{q}: reason does not name the window: {reason!r}"
        lo, hi = (float(x) for x in reason.split("window is ")[1].split(" (")[0].split(" .. "))
        assert lo < hi <= now + 2 and lo >= env.t_publish - 2, f"?{q}: window {lo}..{hi} (published {env.t_publish})"
    r = hls.get(s, f"{TS}?start={now + 100}")
    assert r.status == 404 and "future" in hls.one_line_reason(r), f"{r.status} {r.body!r}"
    for q, words in (("delay=-1", "delay"), ("delay=x", "delay"), (f"start={now}&end={now - 5}", "end"),
                     (f"start={now}&end={now}", "end"), (f"end={now}", "start"), ("start=abc", "start"),
                     ("start=0", "start"), ("tsStart=5&txTimeshift=maybe", "txTimeshift")):
        r = hls.get(s, f"{TS}?{q}")
        assert r.status == 400, f"?{q}: {r.status} {r.body[:200]!r}"
        assert words in hls.one_line_reason(r), f"?{q}: {r.body!r}"
    r = hls.get(s, "/ts/s.flv?delay=100000")
    assert r.status == 404 and "window is" in hls.one_line_reason(r), f"FLV ?delay=100000: {r.status} {r.body!r}"
    r = hls.get(s, "/ts/s.flv?start=100")
    assert r.status == 400 and "delay" in hls.one_line_reason(r), f"FLV ?start=: {r.status} {r.body!r}"
    r = hls.get(s, "/ts/s/llhls.m3u8?delay=5")
    assert r.status == 400 and "MPEG-TS playlist" in hls.one_line_reason(r), f"{r.status} {r.body!r}"


def test_segments_spill_to_disk_and_are_evicted(env):
    s = env.s
    env.wait_age(14)
    files = hls_wait(lambda: env.spilled() if len(env.spilled()) >= 3 else None, 10, "spilled segment files")
    f = env.follower
    for msn, path in sorted(files.items())[:5]:
        on_disk = path.read_bytes()
        assert msn in f.data, f"segment {msn} on disk was never listed live"
        assert on_disk == f.data[msn], f"{path}: file bytes differ from the segment served live"
        r = hls.get(s, f"/ts/s/seg{msn}.ts")
        if r.status == 404 and not path.exists():
            continue  # evicted meanwhile
        assert r.status == 200 and r.body == f.data[msn], f"seg{msn}.ts from disk: {r.status}, {len(r.body)} bytes"
    # The live window stays in memory: the newest segments have no file.
    live = hls.playlist(s, TS)
    on_disk = env.spilled()
    assert not any(x.msn in on_disk for x in live.segments), \
        f"segments of the live window were spilled: {[x.msn for x in live.segments if x.msn in on_disk]}"
    # Past the disk budget the oldest files go, and their segments with them.
    env.wait_age(40)
    files = env.spilled()
    size = sum(p.stat().st_size for p in files.values())
    biggest = max(len(b) for b in f.data.values())
    assert size <= DISK_BYTES + biggest, f"{len(files)} files hold {size} bytes, disk_bytes is {DISK_BYTES}"
    oldest = min(f.msns())
    assert oldest not in files, f"segment {oldest} is still on disk after ~40 s"
    r = hls.get(s, f"/ts/s/seg{oldest}.ts")
    assert r.status == 404, f"evicted segment {oldest}: {r.status}"
    assert "not available" in hls.one_line_reason(r)
    first_kept = min(files)
    r = hls.get(s, f"{TS}?start={int(f.segments[oldest].pdt) + 1}")
    assert r.status == 404 and "window is" in hls.one_line_reason(r), f"start in the evicted part: {r.status} {r.body!r}"
    pl = hls.playlist(s, f"{TS}?start={int(f.segments[first_kept].pdt) + 1}")
    assert pl.segments[0].msn == first_kept, f"first servable segment is {first_kept}:\n{pl.text[:400]}"
    for sg in pl.segments[:3]:
        assert hls.get(s, "/ts/" + sg.uri).status == 200, f"{sg.uri} listed but not served"


def hls_wait(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def annexb_of(ts_bytes):
    r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-f", "mpegts", "-i", "-",
                        "-map", "0:v", "-c", "copy", "-f", "h264", "-"], input=ts_bytes, capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def idr_of(tag):
    """The IDR NAL unit of an AVC keyframe tag (it identifies the frame)."""
    payload = tag.video_payload()
    pos = 0
    while pos + 4 <= len(payload):
        n = int.from_bytes(payload[pos:pos + 4], "big")
        nal = payload[pos + 4:pos + 4 + n]
        if nal and nal[0] & 0x1F == 5:
            return nal
        pos += 4 + n
    raise AssertionError("no IDR NAL unit in the keyframe")


def test_flv_delay_starts_at_a_keyframe_and_lags_live(env, tmp_path):
    s = env.s
    delay = 8
    env.wait_age(delay + 4)
    t_req = time.time()
    v = FlvViewer(s.http_addr, f"/ts/s.flv?delay={delay}")
    v.start()
    v.wait(lambda tags: sum(1 for t in tags if t.is_video_frame) >= 6 * FPS, 15, "6 s of video")
    v.stop()
    assert v.status == 200 and v.headers.get("content-type") == "video/x-flv", (v.status, v.headers)
    assert v.parse_error is None, v.parse_error
    tags = v.snapshot()
    frames = [t for t in tags if t.is_video_frame]
    assert any(t.is_avc_seq_header for t in tags[:tags.index(frames[0])]), "no AVC sequence header before video"
    assert any(t.is_aac_seq_header for t in tags), "no AAC sequence header"
    assert frames[0].is_keyframe, "time-shifted FLV does not start with a keyframe"
    checks.assert_per_track_monotonic(tags, "time-shifted FLV")
    # Paced in real time: after the first second, media time runs with the wall clock.
    a0, ts0 = frames[0].arrival, frames[0].timestamp
    for fr in frames:
        if fr.arrival - a0 < 1.0:
            continue
        drift = (fr.arrival - a0) - (fr.timestamp - ts0) / 1000
        assert abs(drift) <= 0.8, \
            f"frame at {fr.timestamp} ms arrived {fr.arrival - a0:.2f} s after the first: not paced in real time"
    # Where it starts: find the first keyframe in the segments served live;
    # that segment's PROGRAM-DATE-TIME is the source time of the FLV start.
    idr = idr_of(frames[0])
    f = env.follower
    found = [f.segments[m] for m in sorted(f.data)
             if t_req - delay - 4 <= f.segments[m].pdt <= t_req - delay + 2 and idr in annexb_of(f.data[m])]
    assert len(found) == 1, \
        f"the first keyframe of the time-shifted FLV is in {len(found)} segments near now - delay: {found}"
    found = found[0]
    lag = t_req - found.pdt
    assert delay - 0.3 <= lag <= delay + 1.3, \
        f"?delay={delay}: FLV starts at source time {found.pdt_text}, {lag:.2f} s before the request " \
        f"(want {delay} s, up to one GOP more)"
    path = tmp_path / "delayed.flv"
    path.write_bytes(bytes(v.raw))
    checks.assert_decodes_cleanly(path)


def test_spill_files_removed_when_stream_ends(env):
    s = env.s
    env.wait_age(12)
    hls_wait(lambda: env.spilled(), 10, "spilled files")
    dirs = env.stream_dirs()
    assert len(dirs) == 1, f"stream directories: {dirs}"
    env.follower.stop()
    env.pub.stop()
    # The stream ends after its reconnect grace (1 s); packaging stops and
    # deletes every file, then the directory.
    hls_wait(lambda: not dirs[0].exists(), 15, f"{dirs[0]} to be removed")
    assert not list(Path(env.tsdir).rglob("*.ts")), f"files left: {list(Path(env.tsdir).rglob('*.ts'))}"
    r = hls.get(s, TS)
    assert r.status == 404, f"playlist after the stream ended: {r.status}"
