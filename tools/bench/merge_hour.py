#!/usr/bin/env python3
"""Merge benchmark of issue 10: a 1-hour 2.5 Mb/s recording made by Weir
itself, then Weir's merge against `cat` of the same bytes and ffmpeg's concat.

  tools/bench/merge_hour.py [--build-dir build] [--loops 60] [--work /tmp/weir-merge-bench]

1. Starts weir (ports 0) with an app `rec` that records (segment_s 60,
   resume_s 0) into WORK/store.
2. Pushes build/bench/clip.flv (tools/bench/run.py makes it: 60 s, 2.64 Mb/s)
   looped LOOPS times with ffmpeg, as fast as it goes (-c copy, no -re).
3. Waits for the asset to be ready; the server's log gives its in-server
   merge time (scan + merge + fsync + cover).
4. Runs tools/bench/merge_bench.sh on the recorded segments (cat, weir-vodmerge
   with and without fsync, ffmpeg concat + faststart; warm page cache).
Prints what it measured; nothing is written to docs (paste the output)."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=str(ROOT / "build"))
    ap.add_argument("--loops", type=int, default=60)
    ap.add_argument("--work", default="/tmp/weir-merge-bench")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    build = Path(a.build_dir)
    clip = build / "bench" / "clip.flv"
    if not clip.is_file():
        sys.exit(f"no {clip}: run tools/bench/run.py once (it makes the clip)")
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    conf = work / "weir.yaml"
    conf.write_text(f"""workers: 1
log: {{level: info}}
storage: {{root: {work / 'store'}}}
apps:
  rec:
    reconnect_grace_ms: 0
    record: {{enabled: true, segment_s: 60, fragment_ms: 1000, resume_s: 0, fsync: segment}}
""")
    env = dict(os.environ, WEIR_RTMP_LISTEN="127.0.0.1:0", WEIR_HTTP_LISTEN="127.0.0.1:0",
               WEIR_API_LISTEN="127.0.0.1:0", WEIR_SRT_LISTEN="127.0.0.1:0")
    log = open(work / "weir.log", "wb")
    p = subprocess.Popen([str(build / "src" / "weir"), "-c", str(conf)], stdout=subprocess.PIPE, stderr=log,
                         env=env, cwd=work)
    info = json.loads(p.stdout.readline())
    try:
        t0 = time.monotonic()
        r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-stream_loop",
                            str(a.loops - 1), "-i", str(clip), "-c", "copy", "-f", "flv",
                            f"rtmp://{info['rtmp']}/rec/hour"], capture_output=True, text=True)
        push_s = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"ffmpeg push failed: {r.stderr[-2000:]}")
        deadline = time.monotonic() + 600
        asset = None
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://{info['api']}/api/v1/assets?stream=hour&state=ready") as resp:
                items = json.loads(resp.read())["items"]
            if items:
                asset = items[0]
                break
            time.sleep(0.5)
        if not asset:
            sys.exit("no ready asset within 600 s; see " + str(work / "weir.log"))
        text = (work / "weir.log").read_text()
        m = re.search(r"asset \S+ ready: ([\d.]+) s, (\d+) segments, (\d+) bytes, merged in (\d+) ms", text)
        print(f"pushed {a.loops} x 60 s in {push_s:.1f} s; asset {asset['id']}: {asset['duration_s']:.1f} s, "
              f"{asset['segments']} segments, gaps {asset['gaps']}")
        if m:
            print(f"in-server merge (scan + merge + fsync + cover): {int(m.group(4)) / 1000:.3f} s")
    finally:
        p.terminate()
        p.wait(30)
        log.close()
    segs = sorted(work.glob("store/**/seg-*.mp4"))
    total = sum(s.stat().st_size for s in segs)
    print(f"segments: {len(segs)} files, {total / 1e6:.1f} MB")
    r = subprocess.run([str(ROOT / "tools" / "bench" / "merge_bench.sh"), "-b",
                        str(build / "tools" / "vodmerge" / "weir-vodmerge"), "-r", str(a.runs)] + [str(s) for s in segs],
                       capture_output=True, text=True)
    print(r.stdout + r.stderr)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
