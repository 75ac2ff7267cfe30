#!/usr/bin/env python3
"""The same ABR ladder (720p30 H.264/AAC source -> 720p/480p/360p, libx264
veryfast) made by Weir (apps.<app>.renditions, three HTTP-FLV viewers) and by
one ffmpeg command line (-filter_complex split/scale), on the same input file
paced with -re, in the same run: CPU seconds per second of wall time, measured
from /proc/<pid>/stat over the same window after a warm-up.

usage: WEIR_BIN=build/src/weir python3 tools/bench/transcode_ladder.py [--seconds 20]
Hold /tmp/build.lock while it runs on a shared machine."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
from weirtest.server import WeirServer  # noqa: E402

LADDER = [("720p", 720, 2500), ("480p", 480, 1200), ("360p", 360, 800)]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def window(pids, warmup, seconds):
    time.sleep(warmup)
    a = [cpu_s(p) for p in pids]
    t = time.monotonic()
    time.sleep(seconds)
    b = [cpu_s(p) for p in pids]
    return (sum(b) - sum(a)) / (time.monotonic() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=6)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="weir-ladder-"))
    src = tmp / "src.flv"
    total = args.warmup + args.seconds + 10
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
                    "-i", "sine=frequency=440:sample_rate=44100", "-t", str(total), "-c:v", "libx264", "-preset",
                    "veryfast", "-g", "60", "-b:v", "3000k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                    str(src)], check=True)
    renditions = {n: {"height": h, "preset": "veryfast", "bitrate_kbps": b} for n, h, b in LADDER}
    cfg = {"workers": 1, "transcode": {"threads": 2, "encoder_threads": 2, "max_jobs": 1},
           "apps": {"live": {"hls": {"enabled": False}, "renditions": renditions}}}
    (tmp / "weir").mkdir()
    s = WeirServer(os.environ.get("WEIR_BIN", "build/src/weir"), tmp / "weir", cfg)
    s.start()
    procs = []
    try:
        rtmp = "rtmp://%s:%d/live/s" % s.rtmp_addr
        procs.append(subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-i", str(src), "-c", "copy", "-f", "flv", rtmp]))
        s.wait_stream("live", "s", timeout=20)
        for n, _, _ in LADDER:
            url = "http://%s:%d/live/s_%s.flv" % (s.http_addr[0], s.http_addr[1], n)
            procs.append(subprocess.Popen(["ffmpeg", "-v", "error", "-i", url, "-c", "copy", "-f", "null", "-"]))
        weir_cpu = window([s.proc.pid], args.warmup, args.seconds)
        out = s.metric('weir_transcode_frames_out_total{app="live",stream="s"}')
        dropped = s.metric('weir_transcode_frames_dropped_total{app="live",stream="s"}')
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        s.stop()
    fc = "[0:v]split=3" + "".join(f"[s{i}]" for i in range(3)) + ";" + ";".join(
        f"[s{i}]scale=-2:{h}[o{i}]" for i, (_, h, _) in enumerate(LADDER))
    cmd = ["ffmpeg", "-y", "-v", "error", "-re", "-i", str(src), "-filter_complex", fc]
    for i, (_, _, b) in enumerate(LADDER):
        cmd += ["-map", f"[o{i}]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{b}k",
                "-threads", "2", "-c:a", "copy", "-f", "flv", "/dev/null"]
    ff = subprocess.Popen(cmd)
    try:
        ff_cpu = window([ff.pid], args.warmup, args.seconds)
    finally:
        ff.terminate()
        ff.wait()
    print(f"ladder 720p30 -> {', '.join(n for n, _, _ in LADDER)} (libx264 veryfast), {args.seconds:.0f} s window")
    print(f"weir:   {weir_cpu:.2f} CPU s per s (frames out {out}, dropped {dropped})")
    print(f"ffmpeg: {ff_cpu:.2f} CPU s per s")


if __name__ == "__main__":
    main()
