#!/usr/bin/env python3
"""HLS / LL-HLS benchmark for Weir, with Debian's nginx as the static-file peer.

  1. Availability latency: `loadgen --publish rtmp --probe` pushes the looped
     bench clip (720p30, 2 s GOP, a latency SEI with the wall-clock send time
     in every video access unit) into Weir's `live` app (shipped HLS defaults:
     2 s segments, 400 ms parts). A follower
       - LL-HLS: asks for the next part with a blocking playlist reload
         (_HLS_msn/_HLS_part); when the reload returns, it fetches the part and
         takes the send time of the last probe in it;
       - MPEG-TS: polls /live/bench.m3u8 every 20 ms; when a new segment is
         listed, it fetches it and takes the send time of its last probe.
     Availability latency = the moment the part/segment was listed − the send
     time of its last video frame. A part (or segment) can only be closed
     when the frame after it arrives, so one frame interval (33 ms) is
     inherent.
  2. Cached-segment throughput: wrk -t1 -c32 on one complete Weir segment
     (MPEG-TS and fMP4), then on the same bytes as a static file served by
     nginx (sendfile), in the same run: requests/s and server CPU per 1000
     requests.
  3. hls.js: runs tests/integration/test_hls_browser.py (headless Chromium,
     hls.js lowLatencyMode) and reads the latency hls.js reports.

Writes a markdown section between <!-- hls-bench:start --> and
<!-- hls-bench:end --> in docs/benchmarks.md and raw numbers to
build/bench/hls_results.json.

Usage: flock /tmp/weir-build.lock tools/bench/hls_bench.py [--seconds S] [--no-browser] [--quick] [--out FILE]
Needs build/src/weir and build/tools/loadgen/loadgen (not built here), ffmpeg,
nginx, wrk, and for the hls.js part chromium, npm and pytest. Python 3 stdlib only.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the fan-out bench: processes, clip, nginx, wrk)

BUILD = bench.ROOT / "build"
START = "<!-- hls-bench:start -->"
END = "<!-- hls-bench:end -->"
PROBE_UUID = b"WEIRLATENCYPROBE"


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def probe_send_times(data):
    """Send times (s) of every latency-probe SEI in segment bytes, in order.
    The 8 time bytes after the UUID carry emulation prevention bytes."""
    out = []
    pos = data.find(PROBE_UUID)
    while pos >= 0:
        raw, zeros, i = bytearray(), 0, pos + len(PROBE_UUID)
        while len(raw) < 8 and i < len(data):
            b = data[i]
            i += 1
            if zeros >= 2 and b == 3:
                zeros = 0
                continue
            zeros = zeros + 1 if b == 0 else 0
            raw.append(b)
        if len(raw) == 8:
            out.append(int.from_bytes(raw, "big") / 1e6)
        pos = data.find(PROBE_UUID, pos + 1)
    return out


def parse_ll(text):
    """[(msn, [part uris], complete)] from an LL-HLS media playlist."""
    msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    segs, parts = [], []
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            parts.append(re.search(r'URI="([^"]+)"', line).group(1))
        elif line and not line.startswith("#"):
            segs.append((msn, parts, True))
            msn += 1
            parts = []
    if parts:
        segs.append((msn, parts, False))
    return segs


def follow_ll(base, seconds):
    """Blocking reloads for each next part; lag of every part, and of every
    segment from the first response that lists it as complete (EXTINF)."""
    url = f"{base}/live/{bench.STREAM}/llhls.m3u8"
    part_lag, seg_lag, waits = [], [], []
    segs = parse_ll(get(url).decode())
    closed = {m for m, _, c in segs if c}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        msn, parts, complete = segs[-1]
        want = (msn + 1, 0) if complete else (msn, len(parts))
        t0 = time.monotonic()
        text = get(f"{url}?_HLS_msn={want[0]}&_HLS_part={want[1]}").decode()
        listed = time.time()
        waits.append(time.monotonic() - t0)
        segs = parse_ll(text)
        last_send = {}

        def last_probe(uri):
            if uri not in last_send:
                sends = probe_send_times(get(urllib.parse.urljoin(url, uri)))
                last_send[uri] = sends[-1] if sends else None
            return last_send[uri]

        for m, p, c in segs:
            if c and m not in closed:
                closed.add(m)
                t = last_probe(p[-1]) if p else None
                if t:
                    seg_lag.append(listed - t)
        by_msn = {m: p for m, p, c in segs}
        if want[0] in by_msn and len(by_msn[want[0]]) > want[1]:
            t = last_probe(by_msn[want[0]][want[1]])
            if t:
                part_lag.append(listed - t)
    return part_lag, seg_lag, waits


def follow_ts(base, seconds, poll=0.02):
    url = f"{base}/live/{bench.STREAM}.m3u8"
    lags, seen = [], None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = get(url).decode()
        now = time.time()
        uris = [x for x in text.splitlines() if x and not x.startswith("#")]
        msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) + len(uris) - 1
        if seen is not None and msn > seen:
            sends = probe_send_times(get(urllib.parse.urljoin(url, uris[-1])))
            if sends:
                lags.append(now - sends[-1])
        seen = msn
        time.sleep(poll)
    return lags


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))] if v else None


def summary(lags):
    ms = [1000 * x for x in lags]
    return {"n": len(ms), "p50": pct(ms, 50), "p99": pct(ms, 99), "max": max(ms) if ms else None,
            "mean": statistics.mean(ms) if ms else None}


def newest_segment(url):
    text = get(url).decode()
    uris = [x for x in text.splitlines() if x and not x.startswith("#")]
    return urllib.parse.urljoin(url, uris[-1])


def wrk_pair(weir, nginx, playlist_url, name, seconds, connections, rounds):
    """Per round: the newest complete segment of the playlist (so it stays in
    the live window while wrk runs), wrk on Weir's URL, then on nginx's copy of
    the same bytes. Per server the round with the median CPU per request."""
    runs = {"weir": [], "nginx": []}
    sizes = []
    for _ in range(rounds):
        weir_url = newest_segment(playlist_url)
        body = get(weir_url)
        sizes.append(len(body))
        (nginx.workdir / "static" / name).write_bytes(body)
        for srv, url, pid in (("weir", weir_url, weir.pid),
                              ("nginx", f"http://127.0.0.1:{nginx.http_port}/static/{name}", nginx.pid)):
            r = bench.wrk_run(url, pid, seconds, connections)
            r["cpu_ms_per_1k"] = round(1000 * r["cpu_s"] / r["requests"] * 1000, 2) if r["requests"] else None
            r["gbit_s"] = round(r["rps"] * len(body) * 8 / 1e9, 3)
            r["url"] = url
            runs[srv].append(r)
    out = {"bytes": sorted(sizes)[len(sizes) // 2], "rounds": rounds}
    for srv, rs in runs.items():
        rs.sort(key=lambda r: r["cpu_ms_per_1k"] if r["cpu_ms_per_1k"] is not None else float("inf"))
        out[srv] = dict(rs[len(rs) // 2], all_cpu_ms_per_1k=[r["cpu_ms_per_1k"] for r in rs],
                        non_2xx=sum(r["non_2xx"] for r in rs))
    return out


def browser(weir_bin):
    xml = Path(tempfile.mkdtemp(prefix="weir-hlsjs-")) / "junit.xml"
    cmd = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", str(bench.ROOT / "tests" /
           "integration" / "test_hls_browser.py"), "-k", "llhls", f"--junitxml={xml}"]
    env = {**os.environ, "WEIR_BIN": str(weir_bin)}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    props = {}
    if xml.exists():
        for p in ET.parse(xml).iter("property"):
            props[p.get("name")] = float(p.get("value"))
    shown = "python3 -m pytest -q tests/integration/test_hls_browser.py -k llhls"
    return {"rc": r.returncode, "props": props, "cmd": shown, "out": r.stdout[-1500:]}


def render(r):
    f = bench.fmt
    L = [f"## HLS and LL-HLS (generated by `tools/bench/hls_bench.py`)", ""]
    L.append(f"Run {r['when']}, git {r['git']}, weir `workers: {r['workers']}` with the shipped HLS defaults "
             f"(2 s segments, 400 ms parts), clip `build/bench/clip.flv` (720p30, 2 s GOP, 2.6 Mb/s) looped by "
             f"`loadgen --publish rtmp --probe`; {r['seconds']:.0f} s per follower. Load average at the start "
             f"{r['load'][0]:.2f}, at the end {r['load'][1]:.2f}.")
    L.append("")
    L.append("### Ingest to availability")
    L.append("")
    L.append("| what | samples | p50 ms | p99 ms | max ms |")
    L.append("|---|---:|---:|---:|---:|")
    for key, what in (("ll_part", "LL-HLS part listed (blocking reload returns)"),
                      ("ll_segment", "fMP4 segment complete (LL playlist)"),
                      ("ts_segment", "MPEG-TS segment listed (20 ms polling)")):
        s = r[key]
        L.append(f"| {what} | {s['n']} | {f(s['p50'], 1)} | {f(s['p99'], 1)} | {f(s['max'], 1)} |")
    L.append("")
    L.append("Latency = when the playlist listing the part/segment was received − the publisher's send time of "
             "the part's/segment's last video frame (probe SEI, CLOCK_REALTIME, same machine). It includes one "
             "frame interval (33 ms): a part ends where the next frame starts, so it closes when that frame "
             "arrives. The MPEG-TS row also includes up to one 20 ms polling interval. "
             f"Blocking reloads waited {f(r['ll_wait_p50'], 0)} ms at the median for their part.")
    L.append("")
    L.append("### Cached segment: Weir against nginx serving the same bytes as a static file")
    L.append("")
    L.append("| segment | bytes | server | requests/s | Gbit/s | server CPU ms per 1000 requests | non-2xx | "
             "Weir ÷ nginx CPU per request |")
    L.append("|---|---:|---|---:|---:|---:|---:|---:|")
    for key, what in (("wrk_ts", "MPEG-TS"), ("wrk_fmp4", "fMP4")):
        x = r.get(key)
        if not x:
            continue
        ratio = bench.ratio(x["weir"]["cpu_ms_per_1k"], x["nginx"]["cpu_ms_per_1k"])
        for srv in ("weir", "nginx"):
            y = x[srv]
            L.append(f"| {what} | {x['bytes']} | {'Weir (memfd, sendfile)' if srv == 'weir' else 'nginx (sendfile)'} "
                     f"| {f(y['rps'], 0)} | {f(y['gbit_s'], 2)} | {f(y['cpu_ms_per_1k'], 1)} | {y['non_2xx']} | "
                     f"{f(ratio, 2) if srv == 'weir' else ''} |")
    L.append("")
    L.append(f"`wrk -t1 -c{r['connections']} -d{r['wrk_seconds']}s URL`, Weir and nginx alternating, "
             f"{r['wrk_ts']['rounds']} rounds each; the row is the round with the median CPU per request (all rounds: "
             + "; ".join(f"{what} {srv} {r[key][srv]['all_cpu_ms_per_1k']}" for key, what in
                         (("wrk_ts", "TS"), ("wrk_fmp4", "fMP4")) for srv in ("weir", "nginx"))
             + " ms). wrk shares the two CPUs with the server, so requests/s is bounded by wrk as much as by "
             "the server: compare the CPU per request.")
    L.append("")
    b = r.get("browser")
    if b:
        L.append("### hls.js glass-to-glass (headless Chromium)")
        L.append("")
        p = b["props"]
        if b["rc"] == 0 and "hlsjs_latency_s" in p:
            wall = p.get("hlsjs_wallclock_latency_s")
            L.append(f"hls.js (`lowLatencyMode`, `maxLiveSyncPlaybackRate: 1.5`) on `/live/s/llhls.m3u8`: "
                     f"`hls.latency` {p['hlsjs_latency_s']:.2f} s (its target {p['hlsjs_target_latency_s']:.2f} s)"
                     + (f", wall clock − EXT-X-PROGRAM-DATE-TIME of the frame on screen {wall:.2f} s" if wall else "")
                     + ", median over the last 5 s of a 12 s playback. The test's own server and publisher "
                     "(ffmpeg testsrc2 320x240@25, 2 s GOP, shipped HLS defaults).")
        else:
            L.append(f"The browser run failed (exit {b['rc']}):\n\n```\n{b['out']}\n```")
        L.append("")
        L.append(f"Command: `{b['cmd']}`")
        L.append("")
    L.append("Command for this section:")
    L.append("")
    L.append("```sh")
    L.append(r["command"])
    L.append("```")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0, help="seconds per follower")
    ap.add_argument("--wrk-seconds", type=int, default=6)
    ap.add_argument("--wrk-rounds", type=int, default=3, help="wrk runs per server and segment (median kept)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--quick", action="store_true", help="6 s per follower, 2 s wrk runs, no browser (for tests)")
    ap.add_argument("--build-dir", default=str(BUILD))
    ap.add_argument("--out", default=str(bench.ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json-out", default=None, help="default: BUILD_DIR/bench/hls_results.json")
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.wrk_seconds, a.wrk_rounds, a.no_browser = 6.0, 2, 1, True
    build = Path(a.build_dir)
    a.json_out = a.json_out or str(build / "bench" / "hls_results.json")
    weir_bin, loadgen = build / "src" / "weir", build / "tools" / "loadgen" / "loadgen"
    for b in (weir_bin, loadgen):
        if not b.is_file():
            raise SystemExit(f"{b} is not built")
    clip = build / "bench" / "clip.flv"
    bench.make_clip(clip)
    work = Path(tempfile.mkdtemp(prefix="weir-hls-bench-"))
    load0 = float(Path("/proc/loadavg").read_text().split()[0])
    r = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": a.seconds, "workers": 1,
         "wrk_seconds": a.wrk_seconds, "connections": a.connections,
         "git": bench.build_info(weir_bin, loadgen)["head"],
         "command": "tools/bench/hls_bench.py" + (" --quick" if a.quick else " --no-browser" if a.no_browser else "")}
    try:
        weir = bench.Weir(weir_bin, work / "weir", 1)
        nginx = bench.Nginx(work / "nginx")
        pub = bench.start([str(loadgen), "--publish", "rtmp", "--url", weir.publish_url(), "--file", str(clip),
                           "--probe"], "publisher", work)
        weir.wait_stream()
        base = f"http://{weir.http}"
        bench.wait_for(lambda: bench.http_status(f"{base}/live/{bench.STREAM}/llhls.m3u8")[0] == 200, 30,
                       "Weir's LL-HLS playlist")
        time.sleep(5)
        bench.log("following LL-HLS parts")
        part, seg, waits = follow_ll(base, a.seconds)
        r["ll_part"], r["ll_segment"] = summary(part), summary(seg)
        r["ll_wait_p50"] = pct([1000 * w for w in waits], 50)
        bench.log(f"  parts {r['ll_part']}, segments {r['ll_segment']}")
        bench.log("following MPEG-TS segments")
        ts = follow_ts(base, a.seconds)
        r["ts_segment"] = summary(ts)
        bench.log(f"  segments {r['ts_segment']}")
        r["wrk_ts"] = wrk_pair(weir, nginx, f"{base}/live/{bench.STREAM}.m3u8", "seg.ts", a.wrk_seconds,
                               a.connections, a.wrk_rounds)
        r["wrk_fmp4"] = wrk_pair(weir, nginx, f"{base}/live/{bench.STREAM}/llhls.m3u8", "seg.m4s", a.wrk_seconds,
                                 a.connections, a.wrk_rounds)
        for k in ("wrk_ts", "wrk_fmp4"):
            bench.log(f"  {k}: weir {r[k]['weir']['rps']} req/s {r[k]['weir']['cpu_ms_per_1k']} ms/1k, "
                      f"nginx {r[k]['nginx']['rps']} req/s {r[k]['nginx']['cpu_ms_per_1k']} ms/1k")
        bench.stop(pub)
        weir.stop()
        nginx.stop()
        if not a.no_browser:
            bench.log("hls.js in headless Chromium")
            r["browser"] = browser(weir_bin)
            bench.log(f"  {r['browser']['props']} (rc {r['browser']['rc']})")
    finally:
        bench.stop_all()
    r["load"] = (load0, float(Path("/proc/loadavg").read_text().split()[0]))
    Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json_out).write_text(json.dumps(r, indent=1, default=str))
    bench.write_markdown(a.out, render(r), START, END)
    bench.log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
