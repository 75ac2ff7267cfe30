"""A stream whose publisher ends and another takes it over within the
reconnect grace, on every pair of ingest protocols (RTMP and SRT, either
way): the LL-HLS playlist stays continuous (RFC 8216 6.2.1/6.2.2 and 8216bis'
part rules) while players reload it, blocking on the next part as hls.js
does:

- every part is at most PART-TARGET long, and a segment's parts add up to
  its EXTINF;
- a segment keeps its URI, duration, program date-time and discontinuity
  number across reloads, and media sequence numbers never skip;
- within a discontinuity sequence, PROGRAM-DATE-TIME advances by EXTINF;
- a blocking reload for a part returns a playlist that holds that part.
"""

import threading
import time

import pytest

from weirtest import hls, media
from weirtest import srt as S

FPS = 25
FIRST_S = 10
SECOND_S = 14
LL = "/live/s/llhls.m3u8"


def start(proto, s, logdir, name, duration):
    if proto == "rtmp":
        return media.start_publisher(s.rtmp_url(), logdir, name, duration=duration, gop=FPS)
    return S.start_ts_publisher(S.srt_url(s, S.streamid()), logdir, name, duration=duration, gop=FPS)


class BlockingReloader(threading.Thread):
    """Asks for the part named by the preload hint with _HLS_msn/_HLS_part, as
    a low-latency player does, and checks each answer holds that part."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.s = server
        self.problems = []
        self.answers = 0
        self._halt = threading.Event()

    def run(self):
        pl = None
        while not self._halt.is_set():
            if pl is None or pl.preload_hint is None:
                r = hls.get(self.s, LL)
                pl = hls.Playlist(r.body.decode()) if r.status == 200 else None
                if pl is None:
                    self._halt.wait(0.2)
                continue
            msn, part = hls.part_name(pl.preload_hint["URI"])
            r = hls.get(self.s, f"{LL}?_HLS_msn={msn}&_HLS_part={part}", timeout=20)
            if r.status != 200:
                pl = None  # e.g. 503 while no publisher: start over
                self._halt.wait(0.2)
                continue
            got = hls.Playlist(r.body.decode())
            self.answers += 1
            seg = got.segment(msn)
            later = got.last_msn is not None and got.last_msn >= msn
            if not later and (seg is None or len(seg.parts) <= part):
                self.problems.append(f"asked for part {msn}.{part}, got a playlist without it:\n{got.text}")
            pl = got

    def stop(self):
        self._halt.set()
        self.join(25)


def check_playlist(pl, problems):
    target = float(pl.part_inf["PART-TARGET"])
    prev = None
    for sg in pl.segments:
        for p in sg.parts:
            if p.duration > target + 0.0015:
                problems.append(f"msn {sg.msn}: part {p.uri} lasts {p.duration} > PART-TARGET {target}")
        if sg.complete and sg.parts:
            total = sum(p.duration for p in sg.parts)
            if abs(total - sg.duration) > 0.05:
                problems.append(f"msn {sg.msn}: parts add up to {total:.3f} s, EXTINF {sg.duration}")
        if prev is not None and prev.complete and sg.pdt and prev.pdt and not sg.discontinuity:
            step = sg.pdt - prev.pdt
            if abs(step - prev.duration) > 0.1:
                problems.append(f"msn {sg.msn}: PROGRAM-DATE-TIME steps {step:.3f} s over a {prev.duration} s "
                                f"segment")
        prev = sg


@pytest.mark.parametrize("first,second", [("srt", "rtmp"), ("rtmp", "srt"), ("srt", "srt"), ("rtmp", "rtmp")])
def test_ll_hls_stays_continuous_across_a_change_of_publisher(weir, tmp_path, first, second):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 5000, "hls": {"ll": True}}}})
    a = start(first, s, tmp_path, "first", FIRST_S)
    s.wait_stream(pred=lambda i: i["video_frames"] >= FPS)
    hls.playlist(s, LL)  # packaging starts
    follower = hls.Follower(s, LL, interval=0.2, keep_bytes=False)
    follower.start()
    reloader = BlockingReloader(s)
    reloader.start()
    assert a.wait(FIRST_S + 20) == 0, a.log()
    time.sleep(1.0)
    b = start(second, s, tmp_path, "second", SECOND_S)
    assert b.wait(SECOND_S + 20) == 0, b.log()
    reloader.stop()
    follower.stop()
    problems = list(follower.problems)
    for _, pl in follower.playlists:
        check_playlist(pl, problems)
    problems += reloader.problems
    assert follower.playlists and reloader.answers > 20, (len(follower.playlists), reloader.answers)
    numbers = sorted({sg.disc_seq for sg in follower.segments.values()})
    assert len(numbers) == 2 and numbers[1] == numbers[0] + 1, f"one change of publisher: discontinuity numbers {numbers}"
    assert follower.msns()[-1] - follower.msns()[0] >= (FIRST_S + SECOND_S) // 2 - 4, follower.msns()
    uniq = list(dict.fromkeys(problems))
    assert not uniq, f"{len(uniq)} problems, first ones:\n" + "\n".join(uniq[:8])
