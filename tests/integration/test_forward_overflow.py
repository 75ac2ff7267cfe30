"""Forward overflow: a destination slower than the stream. A 1080p60 stream at
8 Mbit/s (libx264 ultrafast, CBR, pushed in real time with -re) is forwarded
to another weir that is then frozen with SIGSTOP: it takes nothing while the
source goes on. The source's memory stays bounded (RSS from /proc, and the
forward's queued_bytes under forward.max_queued_bytes), the forward counts
the frames it drops, a viewer of the source sees no difference, and after
SIGCONT the destination's stream goes on from a keyframe with the codec
configs re-sent: what its viewer received decodes cleanly.

Real processes: two `weir` servers on loopback, ffmpeg, ffmpeg decoding."""

import os
import signal
import time

from weirtest import checks
from weirtest.flv import FlvParser
from weirtest.httpc import FlvViewer
from weirtest.server import wait_until

from test_forward import forwards
from test_high_bitrate import make_clip, pusher

HD = dict(size="1920x1080", fps=60, rate_kbps=8000, gop=60)
CAP = 2 * 1024 * 1024  # forward.max_queued_bytes


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def complete_tags(raw):
    """The capture without the tag it was stopped in the middle of (at 8 Mbit/s
    a stop almost always cuts a frame, which ffmpeg reports as an error)."""
    p = FlvParser()
    p.feed(raw)
    return raw[:len(raw) - p.leftover]


def frames_between(tags, t0, t1):
    return [t for t in tags if t.is_video_frame and t0 <= t.arrival <= t1]


def test_a_stopped_destination_costs_bounded_memory_and_resumes_from_a_keyframe(weir, tmp_path):
    clip = make_clip(tmp_path / "hd.flv", fmt="flv", seconds=6, **HD)
    dest = weir({"workers": 2, "apps": {"live": {"reconnect_grace_ms": 15000, "hls": {"enabled": False}}}},
                name="dest")
    src = weir({"workers": 2, "apps": {"live": {"hls": {"enabled": False}, "forward": {
        "urls": ["rtmp://%s:%d/{app}/{stream}" % dest.rtmp_addr], "max_queued_bytes": CAP, "backoff_ms": 200,
        "backoff_max_ms": 1000, "connect_timeout_ms": 2000}}}}, name="src")
    pub = pusher(clip, src.rtmp_url("live", "hd"), "flv", tmp_path, "hd")
    src.wait_stream("live", "hd", pred=lambda i: i["video_frames"] >= 120, timeout=30)
    dest.wait_stream("live", "hd", pred=lambda i: i["video_frames"] >= 60, timeout=30, what="the forwarded stream")
    at_src = FlvViewer(src.http_addr, "/live/hd.flv")
    at_dest = FlvViewer(dest.http_addr, "/live/hd.flv")
    at_src.start()
    at_dest.start()
    at_src.wait(lambda t: len([x for x in t if x.is_video_frame]) >= 120, 20, "120 frames at the source's viewer")
    at_dest.wait(lambda t: len([x for x in t if x.is_video_frame]) >= 120, 20, "120 frames at the destination's viewer")

    # The source's memory while all is well, over 2 s.
    base = 0
    t_end = time.monotonic() + 2.0
    while time.monotonic() < t_end:
        base = max(base, rss_bytes(src.proc.pid))
        time.sleep(0.1)
    assert forwards(src, "/api/v1/streams/live/hd/forwards")[0]["dropped_frames"] == 0

    peak_rss, peak_queue, dropped = base, 0, 0
    os.kill(dest.proc.pid, signal.SIGSTOP)
    stop_at = time.monotonic()
    try:
        # The kernel's socket buffers fill first, then the forward's queue
        # (CAP, about 2 s of this stream), then frames are dropped.
        deadline = stop_at + 40
        drops_at = None
        while time.monotonic() < deadline:
            f = forwards(src, "/api/v1/streams/live/hd/forwards")[0]
            peak_queue = max(peak_queue, f["queued_bytes"])
            peak_rss = max(peak_rss, rss_bytes(src.proc.pid))
            dropped = f["dropped_frames"]
            if dropped > 0 and drops_at is None:
                drops_at = time.monotonic()
            if drops_at is not None and time.monotonic() - drops_at >= 3.0:
                break
            time.sleep(0.1)
        assert drops_at is not None, f"no frame dropped {time.monotonic() - stop_at:.1f} s after SIGSTOP ({f})"
        assert dropped >= 60, f"only {dropped} frames dropped in 3 s of a 60 fps stream"
    finally:
        os.kill(dest.proc.pid, signal.SIGCONT)
    cont_at = time.monotonic()
    print(f"\nforward overflow: drops began {drops_at - stop_at:.1f} s after SIGSTOP; {dropped} frames dropped; "
          f"queued_bytes peak {peak_queue / 1048576:.2f} MiB (cap {CAP / 1048576:.0f} MiB); source RSS "
          f"{base / 1048576:.1f} MiB before, peak {peak_rss / 1048576:.1f} MiB while the destination was stopped "
          f"({cont_at - stop_at:.1f} s at 8 Mbit/s = {(cont_at - stop_at) * 1.0:.0f} MB of stream)")
    # Bounded: the queue at its cap (plus one frame at most) and the process
    # with it; an unbounded queue would hold all of the stream since the stop.
    assert peak_queue <= CAP + 1024 * 1024, peak_queue
    assert peak_rss - base < 24 * 1024 * 1024, f"RSS grew {(peak_rss - base) / 1048576:.1f} MiB"
    assert src.metric("weir_forward_dropped_frames_total") >= dropped

    # The source's own viewer saw nothing of it: frames kept arriving at the stream's rate.
    got = frames_between(at_src.snapshot(), stop_at + 1.0, cont_at)
    expected = (cont_at - stop_at - 1.0) * HD["fps"]
    assert len(got) >= 0.8 * expected, f"source viewer: {len(got)} frames while the destination was stopped, " \
                                       f"expected about {expected:.0f}"
    gaps = [b.arrival - a.arrival for a, b in zip(got, got[1:])]
    assert max(gaps) < 1.0, f"source viewer stalled {max(gaps):.2f} s"
    assert at_src.end is None, at_src.end

    # The destination catches up: its stream goes on (a reconnect, if the
    # stall timeout struck, resumes it within its grace) and its viewer, which
    # was stopped with it, gets a keyframe after the frames lost.
    at_dest.wait(lambda t: len(frames_between(t, cont_at, time.monotonic())) >= 180, 30,
                 "180 frames at the destination's viewer after SIGCONT")
    assert at_dest.end is None, at_dest.end
    tags = at_dest.snapshot()
    checks.assert_per_track_monotonic(tags, "destination viewer across the overflow")
    # Where frames were lost the viewer sees either a timestamp jump (the
    # forward's session lived on) or codec configs sent again (the forward
    # reconnected after its stall timeout and the destination, a publisher
    # switch within its grace, rebased the new session's timestamps onto the
    # old ones, so no jump shows). Either way the next video frame is a keyframe.
    video = [t for t in tags if t.is_video]
    resumes = []
    prev = None
    for i, t in enumerate(video):
        if t.is_video_config:
            if prev is not None:
                resumes.append(("configs re-sent", i))
            continue
        if not t.is_video_frame:
            continue
        if prev is not None and t.timestamp - prev.timestamp > 200:
            resumes.append((f"a {t.timestamp - prev.timestamp} ms gap", i))
        prev = t
    assert resumes, "no frame was lost at the destination's viewer (no timestamp gap, no configs re-sent)"
    for what, i in resumes:
        nxt = next((v for v in video[i:] if v.is_video_frame), None)
        assert nxt is not None and nxt.is_keyframe, f"the destination resumed at a non-keyframe after {what}"
    jumps = resumes
    f = forwards(src, "/api/v1/streams/live/hd/forwards")[0]
    wait_until(lambda: forwards(src, "/api/v1/streams/live/hd/forwards")[0]["state"] == "forwarding", 15,
               "the forward to be forwarding again")
    at_dest.stop()
    at_src.stop()
    cap = tmp_path / "dest.flv"
    cap.write_bytes(complete_tags(bytes(at_dest.raw)))
    checks.assert_decodes_cleanly(cap)
    print(f"forward overflow: destination resumed at a keyframe after {len(jumps)} gap(s); "
          f"forward {f['state']}, reconnects {f['reconnects']}, last_error {f['last_error']}")
    pub.stop()
