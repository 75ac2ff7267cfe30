"""Audio/video sync of a mix's program (issue: "within 50 ms"), measured.

Each input is an ffmpeg lavfi source whose picture flashes white for 100 ms
every 2 s (drawbox enable=...) while its audio beeps at the same instants (a
sine gated by volume enable=...); input a flashes at even seconds with a
1000 Hz beep, input b at odd seconds with 1500 Hz. The program (and, for
comparison, input a itself) is played over HTTP-FLV; ffprobe gives each
decoded frame's pts, ffmpeg the pictures (grey, small) and the PCM; a flash
onset is the first bright frame of the input's rectangle, a beep onset the
first loud millisecond of its tone (band-passed). Offset = beep - flash
(positive: audio late), for every flash after warm-up: steady, after a
layout PATCH, and after input b is killed and pushed again.

Real processes throughout: ffmpeg publishers over RTMP, weir, ffmpeg/ffprobe
decoding. Picture timing is quantised by the frame interval (50 fps: 20 ms)."""

import statistics
import time

from weirtest import media
from weirtest.httpc import FlvViewer
from weirtest.server import wait_until

from test_mix import api, config

W, H, FPS, RATE = 320, 180, 50, 48000
SMALL = (32, 18)
TONES = {"a": 1000, "b": 1500}
PHASE = {"a": 0, "b": 1}  # flash/beep at t mod 2 == PHASE (s)
TOLERANCE_MS = 50


def push(s, tmp_path, name):
    enable = f"lt(mod(t+{2 - PHASE[name]},2),0.1)"
    args = [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i",
            f"color=c=black:size=160x90:rate={FPS},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{enable}'",
            "-re", "-f", "lavfi", "-i",
            f"sine=frequency={TONES[name]}:sample_rate={RATE},volume=volume=0:enable='not({enable})'",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(FPS), "-b:v", "300k", "-c:a", "aac", "-ar", str(RATE), "-ac", "2", "-b:a", "96k",
            "-f", "flv", s.rtmp_url("live", name)]
    p = media.Proc(args, tmp_path, f"pub-{name}-{time.monotonic_ns()}")
    s.wait_stream("live", name, timeout=20)
    return p


def frame_times(path, kind):
    """pts (s) of every decoded frame of the first `kind` stream; for audio, also nb_samples."""
    j = media.ffprobe_json(path, "-select_streams", kind[0], "-show_entries",
                           "frame=pts_time,best_effort_timestamp_time,nb_samples", "-show_frames", timeout=180)
    out = []
    for f in j["frames"]:
        t = f.get("pts_time", f.get("best_effort_timestamp_time"))
        out.append((float(t), int(f.get("nb_samples", 0))))
    return out


def pictures(path):
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:v",
                   "-fps_mode", "passthrough", "-vf", f"scale={SMALL[0]}:{SMALL[1]}:flags=area,format=gray",
                   "-f", "rawvideo", "pipe:1"], timeout=180, input=b"")
    n = SMALL[0] * SMALL[1]
    return [r.stdout[i:i + n] for i in range(0, len(r.stdout) - n + 1, n)]


def pcm(path, tone):
    """The audio, mono at RATE, through a band-pass around `tone` (the two inputs' beeps apart even when they
    overlap in time)."""
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a",
                   "-af", f"bandpass=f={tone}:width_type=h:width=150", "-ac", "1", "-ar", str(RATE),
                   "-f", "s16le", "pipe:1"], timeout=180, input=b"")
    b = r.stdout
    return [int.from_bytes(b[i:i + 2], "little", signed=True) for i in range(0, len(b) - 1, 2)]


def luma(pic, box):
    x0, y0, x1, y1 = box
    vals = [pic[y * SMALL[0] + x] for y in range(y0, y1) for x in range(x0, x1)]
    return sum(vals) / len(vals)


def flash_onsets(times, pics, box_of):
    """Times of frames whose region (box_of(t)) turns bright after >= 0.5 s dark."""
    out, dark_since = [], None
    for t, pic in zip(times, pics):
        box = box_of(t)
        if box is None:
            dark_since = None
            continue
        bright = luma(pic, box) > 128
        if bright and dark_since is not None and t - dark_since >= 0.5:
            out.append(t)
        if bright:
            dark_since = None
        elif dark_since is None:
            dark_since = t
    return out


def beep_onsets(frames, samples):
    """Times of each beep onset in band-passed audio: the first 1 ms block louder than a third of the beeps'
    level after >= 0.5 s of quiet. Sample index -> time from the decoded audio frames' pts."""
    starts, idx = [], 0
    for t, n in frames:
        starts.append((idx, t))
        idx += n
    block = RATE // 1000
    levels = [sum(abs(x) for x in samples[i:i + block]) / block for i in range(0, len(samples) - block, block)]
    loud = sorted(levels)[int(len(levels) * 0.99)] if levels else 0
    assert loud > 1000, f"no beeps heard (99th percentile level {loud})"
    out, quiet_since, fi = [], 0, 0
    for k, lv in enumerate(levels):
        i = k * block
        if lv > loud / 3:
            if quiet_since >= 0 and k - quiet_since >= 500:
                while fi + 1 < len(starts) and starts[fi + 1][0] <= i:
                    fi += 1
                out.append(starts[fi][1] + (i - starts[fi][0]) / RATE)
            quiet_since = -1
        elif quiet_since < 0:
            quiet_since = k
    return out


def offsets(flashes, beeps):
    """beep - flash (ms) for each flash with a beep within 0.5 s."""
    res = []
    for f in flashes:
        near = [t for t in beeps if abs(t - f) < 0.5]
        if near:
            res.append((f, (min(near, key=lambda t: abs(t - f)) - f) * 1000))
    return res


def analyse(raw, tmp_path, label, box_of):
    path = tmp_path / f"{label}-{time.monotonic_ns()}.flv"
    path.write_bytes(raw)
    vt = [t for t, _ in frame_times(path, "video")]
    pics = pictures(path)
    assert abs(len(vt) - len(pics)) <= 2, (len(vt), len(pics))
    n = min(len(vt), len(pics))
    af = frame_times(path, "audio")
    res = {}
    for name in TONES:
        if box_of(name, 10.0) is None and box_of(name, 0.0) is None:
            continue
        fl = flash_onsets(vt[:n], pics[:n], lambda t, name=name: box_of(name, t))
        res[name] = offsets(fl, beep_onsets(af, pcm(path, TONES[name])))
    return res


def summary(values):
    return f"min {min(values):+.1f} / median {statistics.median(values):+.1f} / max {max(values):+.1f} ms (n={len(values)})"


# Quadrant boxes of a SMALL picture (the middle of each quadrant).
Q = {0: (3, 2, 13, 7), 1: (19, 2, 29, 7), 2: (3, 11, 13, 16), 3: (19, 11, 29, 16)}
FULL = (4, 2, 28, 16)


def test_program_audio_and_video_stay_within_50ms(weir, tmp_path):
    s = weir(config())
    pubs = {n: push(s, tmp_path, n) for n in TONES}
    v = va = None
    try:
        layout = {"rects": [{"input": 0, "x": 0, "y": 0, "w": 50, "h": 50, "z": 1},
                            {"input": 1, "x": 50, "y": 50, "w": 50, "h": 50, "z": 1}]}
        body = {"app": "studio", "name": "prog", "width": W, "height": H, "fps": FPS, "layout": layout,
                "inputs": [{"stream": "live/a"}, {"stream": "live/b"}],
                "video": {"preset": "ultrafast", "bitrate_kbps": 600}, "audio": {"bitrate_kbps": 128}}
        st, mix = api(s, "POST", "/api/v1/mixes", body)
        assert st == 201, mix
        v = FlvViewer(s.http_addr, "/studio/prog.flv")
        v.start()
        va = FlvViewer(s.http_addr, "/live/a.flv")  # the input side, measured the same way
        va.start()

        def prog_ts():
            tags = [t for t in list(v.tags) if t.is_video and not t.is_video_config]
            return tags[-1].timestamp / 1000 if tags else 0.0

        wait_until(lambda: prog_ts() >= 9, 60, "9 s of program")
        # PATCH: a moves to the top right (b stays); the program goes on.
        patched_at = prog_ts()
        moved = dict(layout, rects=[dict(layout["rects"][0], x=50), layout["rects"][1]])
        st, r = api(s, "PATCH", f"/api/v1/mixes/{mix['id']}", {"layout": moved})
        assert st == 200, r
        wait_until(lambda: prog_ts() >= patched_at + 7, 60, "7 s after the PATCH")
        # b is killed and pushed again.
        pubs.pop("b").stop()
        killed_at = prog_ts()
        wait_until(lambda: prog_ts() >= killed_at + 2, 30, "2 s without b")
        pubs["b"] = push(s, tmp_path, "b")
        back_at = prog_ts()
        wait_until(lambda: prog_ts() >= back_at + 10, 60, "10 s after b came back")
        v.stop()
        va.stop()

        def box_of(name, t):
            if name == "b":
                return Q[3]
            if t < patched_at - 0.2:
                return Q[0]
            if t > patched_at + 1.0:
                return Q[1]
            return None  # the move itself: not judged

        prog = analyse(bytes(v.raw), tmp_path, "program", box_of)
        print(f"program events (s): PATCH {patched_at:.2f}, b killed {killed_at:.2f}, b back {back_at:.2f}; "
              f"flash/offset pairs: {[(n, round(t, 2), round(o, 1)) for n in TONES for t, o in prog[n]]}")
        inp = analyse(bytes(va.raw), tmp_path, "input-a", lambda name, t: FULL if name == "a" else None)

        warm = 3.0  # s of the program's start not judged (inputs attaching, audio prebuffer)
        phases = {
            "steady": lambda t: warm <= t < patched_at - 0.2,
            "after PATCH": lambda t: patched_at + 1.0 <= t < killed_at,
            "after b re-pushed": lambda t: t >= back_at + 3.0,
        }
        all_prog = []
        for phase, inside in phases.items():
            for name in TONES:
                vals = [o for t, o in prog[name] if inside(t)]
                if vals:
                    print(f"program {phase:18s} input {name}: A/V offset {summary(vals)}")
                all_prog += [(phase, name, o) for o in vals]
        in_vals = [o for t, o in inp["a"] if t >= warm]
        assert in_vals, "no flash/beep pairs measured on the input"
        print(f"input a (as published, through weir):  A/V offset {summary(in_vals)}")
        pv = [o for _, _, o in all_prog]
        print(f"program overall: A/V offset {summary(pv)}; added by the mixer (median program - median input): "
              f"{statistics.median(pv) - statistics.median(in_vals):+.1f} ms")
        for phase in phases:
            for name in TONES:
                n = sum(1 for p, nm, _ in all_prog if p == phase and nm == name)
                assert n >= 2, f"only {n} flash/beep pairs of input {name} {phase}"
        bad = [(p, nm, round(o, 1)) for p, nm, o in all_prog if abs(o) > TOLERANCE_MS]
        assert not bad, f"A/V offsets over {TOLERANCE_MS} ms: {bad}"
    finally:
        for x in (v, va):
            if x:
                x.stop()
        for p in pubs.values():
            p.stop()
