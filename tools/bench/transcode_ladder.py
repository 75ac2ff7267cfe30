#!/usr/bin/env python3
"""The ABR ladder of issue 12 (720p30 H.264/AAC source -> 720p/480p/360p,
libx264 veryfast) made by Weir (apps.<app>.renditions, in-process) and by
ffmpeg command lines (-filter_complex split/scale), in the same run, with the
same encoder settings (Weir's: preset veryfast, maxrate 1.5 x bitrate with a
one-second buffer, scenecut off, 2 encoder threads, a single-threaded decoder
and filter graph). docs/benchmarks.md ("Transcoding ladder") has the results.

Parts (--only runs one; --previous merges an earlier results file's others):

  cpu       CPU seconds per second of wall time, from /proc/<pid>/stat over the
            same window after a warm-up: Weir (RTMP ingest of the source, the
            ladder, three HTTP-FLV viewers of the renditions) against one
            ffmpeg command line reading the same file with -re and writing
            three FLV outputs to /dev/null.
  latency   Frame latency through the transcoder, p50/p99. The source is
            pushed into Weir at real-time pace (ffmpeg -re -c copy). Weir: an
            HTTP-FLV viewer of the source and one of each rendition record the
            arrival time (monotonic) of every video frame by its pts
            (timestamp + composition time; renditions keep the source's pts);
            latency = rendition arrival - source arrival of the same pts.
            Weir's weir_transcode_latency_seconds histogram over the same
            viewing is reported beside it. ffmpeg: the same Weir without
            renditions; the ffmpeg ladder asks for the source before it is
            published (play_wait_ms), reads it over HTTP-FLV and publishes its
            three outputs back over RTMP (-copyts keeps the source's pts),
            viewers as for Weir. The relay (HTTP-FLV out of Weir, through
            ffmpeg, RTMP back in) is measured at the same time by a video-only
            `ffmpeg -c copy` pass-through of the same source (with audio its
            muxer would wait for interleaving, which the ladder's outputs do
            not), and its p50 subtracted for the net figure.
  capacity  How many ladders this machine sustains in real time: N sources
            pushed at real-time pace (N = 1, 2, ... until one fails), each with
            its ladder (Weir: transcode_mode always; ffmpeg: one ladder process
            per source reading it from Weir and publishing back, as a server
            that spawns ffmpeg does). Real time over the window: every source
            gains >= 97% of 30 fps, every rendition its source's frames (at
            most max(6, 2%) fewer, from the streams API) and lags its source
            by at most MAX_LAG_MS (last dts, both ends of the window); Weir
            drops no frame (weir_transcode_frames_dropped_total via
            /api/v1/transcodes) and no job queue holds over a second.
  extras    The watermark's and the mixer's added CPU, against ffmpeg command
            lines doing the same in the same run (--watermark-app and
            --mix-body give the feature; without them "not measured").

Usage (hold the build lock: no build may run during a measurement):
  flock /tmp/build.lock tools/bench/transcode_ladder.py [--only cpu|latency|capacity|extras] [--previous R.json]
  tools/bench/transcode_ladder.py --quick --out /tmp/l.md   # a ~40 s smoke run (short windows, N = 1, no cpu)
Writes BUILD_DIR/bench/ladder_results.json and the section between the
transcode-ladder markers in docs/benchmarks.md. Needs build/src/weir and
ffmpeg (with libx264). Python 3 stdlib only."""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (processes, CPU sampling, Weir, machine info, markdown)

sys.path.insert(0, str(bench.ROOT / "tests" / "integration"))
from weirtest.httpc import FlvViewer  # noqa: E402

START = "<!-- transcode-ladder:start -->"
END = "<!-- transcode-ladder:end -->"
LADDER = [("720p", 720, 2500), ("480p", 480, 1200), ("360p", 360, 800)]
FPS = 30
NO_DRAIN = "shutdown:\n  drain_ms: 0\n"
# Capacity: an output whose last dts is further behind its source's than this
# is not keeping up (the ladder's own delay is ~0.6 s: x264 holds 16 frames).
MAX_LAG_MS = 1500
PLAY_WAIT = {"play_wait_ms": 15000}


def pct(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q / 100.0 * len(v) + 0.5)) - 1))]


def api_json(weir, path):
    with urllib.request.urlopen(f"http://{weir.api}{path}", timeout=5) as r:
        body = json.loads(r.read())
    return body["items"] if isinstance(body, dict) and "items" in body else body


def make_clip(path, seconds):
    """The source: 1280x720@30 testsrc2, x264 veryfast 3 Mb/s, GOP 2 s, AAC 128k 44.1 kHz."""
    if path.exists() and path.stat().st_size > 100_000:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    bench.log(f"making {path} ({seconds} s 1280x720@30)")
    tmp = path.with_suffix(f".{os.getpid()}.tmp.flv")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={FPS}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                    "-b:v", "3000k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(tmp)],
                   check=True)
    tmp.rename(path)


def x264_delay_frames(threads=2):
    """Frames libx264 holds before its first output with the ladder's 720p
    settings (x264_encoder_maximum_delayed_frames: lookahead, B-frames, frame
    threads, sync lookahead), asked of libx264 itself through ctypes; the
    encoder's own lookahead in the issue's latency target. None when libx264
    cannot be loaded. x264_param_t is filled by x264_param_default_preset and
    x264_param_parse; only i_width/i_height are set by offset (28/32, after
    cpu and six ints, unchanged since x264 build 1xx)."""
    import ctypes
    import ctypes.util
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("x264") or "libx264.so.164")
        build = next(int(n.split("_")[-1]) for n in ("x264_encoder_open_164", "x264_encoder_open_163",
                                                     "x264_encoder_open_165") if hasattr(lib, n))
    except (OSError, StopIteration):
        return None
    open_ = getattr(lib, f"x264_encoder_open_{build}")
    open_.restype = ctypes.c_void_p
    lib.x264_encoder_maximum_delayed_frames.argtypes = [ctypes.c_void_p]
    lib.x264_encoder_close.argtypes = [ctypes.c_void_p]
    p = ctypes.create_string_buffer(65536)
    if lib.x264_param_default_preset(p, b"veryfast", None) != 0:
        return None
    for k, v in (("threads", str(threads)), ("fps", str(FPS)), ("bitrate", "2500"), ("vbv-maxrate", "3750"),
                 ("vbv-bufsize", "3750"), ("scenecut", "0"), ("log", "-1")):
        if lib.x264_param_parse(p, k.encode(), v.encode()) != 0:
            return None
    ctypes.memmove(ctypes.addressof(p) + 28, (ctypes.c_int * 2)(1280, 720), 8)
    h = open_(p)
    if not h:
        return None
    try:
        return lib.x264_encoder_maximum_delayed_frames(h)
    finally:
        lib.x264_encoder_close(h)


def source_reorder_frames(clip):
    """The source's B-frame reorder depth (has_b_frames: frames any decoder,
    Weir's or ffmpeg's, holds before it can output one), from ffprobe."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=has_b_frames",
                        "-of", "csv=p=0", str(clip)], capture_output=True, text=True)
    try:
        return int(p.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def renditions_yaml():
    return {n: {"height": h, "preset": "veryfast", "bitrate_kbps": b} for n, h, b in LADDER}


def transcode_yaml(max_jobs):
    return (f"transcode:\n  threads: 2\n  encoder_threads: 2\n  max_jobs: {max_jobs}\n"
            "  idle_ms: 10000\n")


def weir_server(weir_bin, workdir, ladder, max_jobs=1, always=True, app_extra=None):
    app = {"hls": {"enabled": False}}
    if ladder:
        app["renditions"] = renditions_yaml()
        app["transcode_mode"] = "always" if always else "on_demand"
    app.update(app_extra or {})
    return bench.Weir(weir_bin, workdir, 1, live_app=json.dumps(app), extra_yaml=NO_DRAIN + transcode_yaml(max_jobs))


def pusher(clip, weir, stream, workdir):
    return bench.start(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
                        "-i", str(clip), "-c", "copy", "-f", "flv", weir.publish_url(stream)],
                       f"push-{stream}", workdir)


def encoder_args(bitrate):
    """Weir's rendition encoder settings (transcode_pipeline.cpp open_encoder)."""
    return ["-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{bitrate}k", "-maxrate", f"{bitrate * 3 // 2}k",
            "-bufsize", f"{bitrate * 3 // 2}k", "-x264-params", "scenecut=0", "-threads", "2"]


def ffmpeg_ladder(input_args, outputs, copyts=False):
    """One ffmpeg command line making the ladder; outputs: one FLV target per
    rendition. A single-threaded decoder and filter graph, as Weir's."""
    fc = "[0:v]split=3" + "".join(f"[s{i}]" for i in range(len(LADDER))) + ";" + ";".join(
        f"[s{i}]scale=-2:{h}[o{i}]" for i, (_, h, _) in enumerate(LADDER))
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-threads", "1"] + input_args
    cmd += ["-filter_complex", fc, "-filter_complex_threads", "1"]
    if copyts:
        cmd += ["-copyts"]
    for i, (_, _, b) in enumerate(LADDER):
        # Frames keep their pts (no fps filter, a ms time base as Weir's encoders
        # have: ffmpeg's default 1/fps would move the source's off-grid pts).
        cmd += ["-map", f"[o{i}]", "-map", "0:a"] + encoder_args(b) + [
            "-enc_time_base:v", "1:1000", "-c:a", "copy", "-fps_mode", "passthrough", "-f", "flv", outputs[i]]
    return cmd


def latency_histogram(weir, stream):
    """weir_transcode_latency_seconds of the job of live/<stream> from
    /metrics: ({le: cumulative count}, sum s, count)."""
    with urllib.request.urlopen(f"http://{weir.http}/metrics", timeout=5) as r:
        text = r.read().decode()
    lab = f'app="live",stream="{stream}"'
    buckets, total, n = {}, 0.0, 0
    for line in text.splitlines():
        if not line.startswith("weir_transcode_latency_seconds") or lab not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith("weir_transcode_latency_seconds_bucket"):
            le = name.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = int(float(value))
        elif name.startswith("weir_transcode_latency_seconds_sum"):
            total = float(value)
        elif name.startswith("weir_transcode_latency_seconds_count"):
            n = int(float(value))
    return buckets, total, n


def histogram_delta(h0, h1):
    """Mean and the bucket bounds holding p50 and p99 (ms) of the observations
    between two latency_histogram() readings."""
    b0, s0, n0 = h0
    b1, s1, n1 = h1
    n = n1 - n0
    if n <= 0:
        return {"samples": 0}
    out = {"samples": n, "mean": (s1 - s0) / n * 1000.0}
    for q in (50, 99):
        for le in sorted(b1):
            if b1[le] - b0.get(le, 0) >= q / 100.0 * n:
                out[f"p{q}_le"] = le * 1000.0
                break
    return out


def stream_frames(weir):
    return {s["name"]: s["video_frames"] for s in api_json(weir, "/api/v1/streams?limit=1000")}


def stream_counts(weir):
    """{name: (video frames, last dts ms)} of every stream."""
    return {s["name"]: (s["video_frames"], s["last_dts_ms"]) for s in api_json(weir, "/api/v1/streams?limit=1000")}


def cpu_window(pids, warmup, seconds):
    time.sleep(warmup)
    a = [bench.tree_cpu_s(p) for p in pids]
    t = time.monotonic()
    time.sleep(seconds)
    b = [bench.tree_cpu_s(p) for p in pids]
    wall = time.monotonic() - t
    return [(y - x) / wall for x, y in zip(a, b)]


# --------------------------------------------------------------------------- cpu

def part_cpu(a, weir_bin, clip, workdir):
    w = weir_server(weir_bin, workdir / "cpu-weir", True)
    viewers = []
    try:
        pusher(clip, w, "s", workdir)
        bench.wait_for(lambda: "s" in stream_frames(w), 20, "the source on weir")
        for n, _, _ in LADDER:
            viewers.append(bench.start(["ffmpeg", "-v", "error", "-nostdin", "-i", f"http://{w.http}/live/s_{n}.flv",
                                        "-c", "copy", "-f", "null", "-"], f"cpu-view-{n}", workdir))
        weir_cpu, = cpu_window([w.pid], a.warmup, a.seconds)
        jobs = api_json(w, "/api/v1/transcodes")
        job = next(j for j in jobs if j["stream"] == "s")
    finally:
        for p in viewers:
            bench.stop(p)
        bench.stop_all()
    ff = bench.start(ffmpeg_ladder(["-re", "-stream_loop", "-1", "-i", str(clip)], ["/dev/null"] * len(LADDER)),
                     "cpu-ffmpeg", workdir)
    try:
        ff_cpu, = cpu_window([ff.pid], a.warmup, a.seconds)
        if ff.poll() is not None:
            raise RuntimeError(f"the ffmpeg ladder exited: {(workdir / 'cpu-ffmpeg.err').read_text()[-2000:]}")
    finally:
        bench.stop_all()
    return {"seconds": a.seconds, "weir": weir_cpu, "ffmpeg": ff_cpu, "weir_frames_out": job["frames_out"],
            "weir_frames_dropped": job["frames_dropped"], "ffmpeg_command": shlex.join(
                ffmpeg_ladder(["-re", "-stream_loop", "-1", "-i", "SOURCE.flv"], ["/dev/null"] * len(LADDER)))}


# --------------------------------------------------------------------------- latency

def arrivals(viewer):
    """{pts ms: first arrival (monotonic s)} of the viewer's video frames."""
    out = {}
    for t in viewer.snapshot():
        if t.is_video_frame:
            out.setdefault(t.timestamp + t.cts, t.arrival)
    return out


def latency_samples(src, out, t0, t1):
    """(source frames that arrived in [t0, t1], [ms from the source's arrival to
    the output's]) with pts matched exactly or within 1 ms (rounding of 33.3 ms
    steps through another time base)."""
    want = [p for p, t in src.items() if t0 <= t <= t1]
    lat = []
    for p in want:
        for q in (p, p - 1, p + 1):
            if q in out:
                lat.append((out[q] - src[p]) * 1000.0)
                break
    return want, lat


def latency_of(src, out, t0, t1):
    want, lat = latency_samples(src, out, t0, t1)
    return {"frames": len(want), "matched": len(lat), "p50": pct(lat, 50) if lat else None,
            "p99": pct(lat, 99) if lat else None, "max": max(lat) if lat else None}


def record(weir, names, warmup, seconds, tail, check=None, at_start=None):
    """Views live/<name>.flv for every name; returns ({name: arrivals}, t0, t1)
    with [t0, t1] the measured window of source arrivals (after the warm-up;
    the last `tail` s of viewing only let late outputs arrive)."""
    host, port = weir.http.rsplit(":", 1)
    viewers = {n: FlvViewer((host, int(port)), f"/live/{n}.flv") for n in names}
    for v in viewers.values():
        v.start()
    try:
        for n, v in viewers.items():
            v.wait(lambda tags: any(t.is_video_frame for t in tags), 30, f"video on {n}")
        time.sleep(warmup)
        if at_start:
            at_start()
        t0 = time.monotonic()
        time.sleep(seconds)
        t1 = time.monotonic()
        time.sleep(tail)
        if check:
            check()
    finally:
        for v in viewers.values():
            v.stop()
    for n, v in viewers.items():
        if v.parse_error:
            raise RuntimeError(f"viewer {n}: {v.parse_error}")
    return {n: arrivals(v) for n, v in viewers.items()}, t0, t1


def summarize(src, outs, t0, t1):
    """Per rendition and over all renditions' samples together."""
    lat_all = []
    for o in outs.values():
        lat_all += latency_samples(src, o, t0, t1)[1]
    return {"renditions": {n: latency_of(src, o, t0, t1) for n, o in outs.items()},
            "p50": pct(lat_all, 50) if lat_all else None, "p99": pct(lat_all, 99) if lat_all else None,
            "samples": len(lat_all)}


def part_latency(a, weir_bin, clip, workdir):
    res = {"warmup": a.lat_warmup, "seconds": a.lat_seconds, "x264_delay_frames": x264_delay_frames(),
           "source_reorder_frames": source_reorder_frames(clip)}
    # Weir: the ladder in the server.
    w = weir_server(weir_bin, workdir / "lat-weir", True)
    try:
        pusher(clip, w, "s", workdir)
        bench.wait_for(lambda: "s" in stream_frames(w), 20, "the source on weir")
        names = ["s"] + [f"s_{n}" for n, _, _ in LADDER]

        hist = []

        def weir_running():
            jobs = api_json(w, "/api/v1/transcodes")
            res["weir_dropped"] = sum(j["frames_dropped"] for j in jobs)
            hist.append(latency_histogram(w, "s"))
        arr, t0, t1 = record(w, names, a.lat_warmup, a.lat_seconds, a.lat_tail, weir_running,
                             lambda: hist.append(latency_histogram(w, "s")))
        res["weir_in_process"] = histogram_delta(hist[0], hist[1])
        res["weir"] = summarize(arr["s"], {n: arr[f"s_{n}"] for n, _, _ in LADDER}, t0, t1)
    finally:
        bench.stop_all()
    # ffmpeg: the ladder reads the source from Weir and publishes back; a
    # pass-through relay of the same source at the same time.
    # The ladder and the relay ask for the source before it is published
    # (play_wait_ms holds them), so they start at its first packet as Weir's
    # `always` job does, not behind a GOP-cache burst they must catch up with.
    w = weir_server(weir_bin, workdir / "lat-ffmpeg", False, app_extra=PLAY_WAIT)
    try:
        src = f"http://{w.http}/live/s.flv"
        ladder = ffmpeg_ladder(["-fflags", "nobuffer", "-i", src],
                               [w.publish_url(f"ff_{n}") for n, _, _ in LADDER], copyts=True)
        ff = bench.start(ladder, "lat-ffmpeg-ladder", workdir)
        # Video only: with audio too, its muxer would hold each packet until the
        # other track's next one (interleaving), a wait the ladder's outputs do
        # not have (their video comes ~0.6 s after the audio copied beside it).
        relay = bench.start(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-fflags", "nobuffer",
                             "-i", src, "-map", "0:v", "-c", "copy", "-copyts", "-f", "flv", w.publish_url("relay")],
                            "lat-ffmpeg-relay", workdir)
        time.sleep(0.5)
        pusher(clip, w, "s", workdir)
        outs = [f"ff_{n}" for n, _, _ in LADDER] + ["relay"]
        bench.wait_for(lambda: all(n in stream_frames(w) for n in outs), 30, "the ffmpeg outputs on weir")
        arr, t0, t1 = record(w, ["s"] + outs, a.lat_warmup, a.lat_seconds, a.lat_tail)
        for p, name in ((ff, "ladder"), (relay, "relay")):
            if p.poll() is not None:
                raise RuntimeError(f"the ffmpeg {name} exited: "
                                   f"{(workdir / f'lat-ffmpeg-{name}.err').read_text()[-2000:]}")
        res["ffmpeg"] = summarize(arr["s"], {n: arr[f"ff_{n}"] for n, _, _ in LADDER}, t0, t1)
        res["relay"] = latency_of(arr["s"], arr["relay"], t0, t1)
        if res["ffmpeg"]["p50"] is not None and res["relay"]["p50"] is not None:
            res["ffmpeg_net_p50"] = res["ffmpeg"]["p50"] - res["relay"]["p50"]
            res["ffmpeg_net_p99"] = res["ffmpeg"]["p99"] - res["relay"]["p50"]
        res["ffmpeg_command"] = shlex.join(ffmpeg_ladder(["-fflags", "nobuffer", "-i", "http://WEIR/live/s.flv"],
                                                         [f"rtmp://WEIR/live/ff_{n}" for n, _, _ in LADDER], True))
    finally:
        bench.stop_all()
    return res


# --------------------------------------------------------------------------- capacity

def realtime_check(before, after, wall, sources, outputs_of):
    """Per source: did it and each of its outputs gain the source's frame rate
    over the window, and is every output at most MAX_LAG_MS behind its source
    at both ends of it (a ladder that fell behind and is catching up gains
    more than the source's rate, and lags)? Returns (ok, details)."""
    det = []
    ok = True
    for s in sources:
        ds = after[s][0] - before[s][0]
        ok &= ds >= 0.97 * FPS * wall
        row = {"source": s, "source_fps": ds / wall, "outputs": {}, "max_lag_ms": 0}
        for o in outputs_of(s):
            do = after[o][0] - before[o][0]
            lag = max(before[s][1] - before[o][1], after[s][1] - after[o][1])
            ok &= do >= ds - max(6, 0.02 * ds) and lag <= MAX_LAG_MS
            row["outputs"][o] = do / wall
            row["max_lag_ms"] = max(row["max_lag_ms"], lag)
        det.append(row)
    return ok, det


def capacity_step(a, weir_bin, clip, workdir, n, kind):
    wd = workdir / f"cap-{kind}-{n}"
    w = weir_server(weir_bin, wd, kind == "weir", max_jobs=max(16, n), app_extra=PLAY_WAIT)
    procs = []
    try:
        sources = [f"c{i}" for i in range(n)]
        if kind == "ffmpeg":
            # Waiting for their source (play_wait_ms), as a spawned ffmpeg would.
            for s in sources:
                procs.append(bench.start(ffmpeg_ladder(["-i", f"http://{w.http}/live/{s}.flv"],
                                                       [w.publish_url(f"{s}_{r}") for r, _, _ in LADDER],
                                                       copyts=True), f"ladder-{s}", wd))
            time.sleep(0.5)
        pushers = [pusher(clip, w, s, wd) for s in sources]
        bench.wait_for(lambda: all(s in stream_frames(w) for s in sources), 30, f"{n} sources on weir")
        outs = [f"{s}_{r}" for s in sources for r, _, _ in LADDER]
        bench.wait_for(lambda: all(o in stream_frames(w) for o in outs), 40, "every rendition on weir")
        time.sleep(a.cap_warmup)
        pids = [w.pid] + [p.pid for p in pushers] + [p.pid for p in procs]
        f0 = stream_counts(w)
        d0 = {j["stream"]: j["frames_dropped"] for j in api_json(w, "/api/v1/transcodes")} if kind == "weir" else {}
        c0 = [bench.tree_cpu_s(p) for p in pids]
        t = time.monotonic()
        time.sleep(a.cap_seconds)
        wall = time.monotonic() - t
        f1 = stream_counts(w)
        c1 = [bench.tree_cpu_s(p) for p in pids]
        jobs = api_json(w, "/api/v1/transcodes") if kind == "weir" else []
        for p in procs + pushers:
            if p.poll() is not None:
                raise RuntimeError(f"{p.bench_name} exited: {(wd / (p.bench_name + '.err')).read_text()[-2000:]}")
    finally:
        bench.stop_all()
    ok, det = realtime_check(f0, f1, wall, sources, lambda s: [f"{s}_{r}" for r, _, _ in LADDER])
    dropped = sum(j["frames_dropped"] for j in jobs) - sum(d0.values())
    queued = max([j["queued_packets"] for j in jobs], default=0)
    if kind == "weir":
        # A second of source packets (30 video + ~43 audio) waiting = falling behind.
        ok = ok and dropped == 0 and len(jobs) == n and queued <= 75
    cpu = [(y - x) / wall for x, y in zip(c0, c1)]
    np_ = len(sources)
    return {"n": n, "kind": kind, "ok": ok, "window": wall, "dropped": dropped, "max_queued": queued,
            "weir_cpu": cpu[0], "pushers_cpu": sum(cpu[1:1 + np_]), "ladders_cpu": sum(cpu[1 + np_:]),
            "min_source_fps": min(d["source_fps"] for d in det),
            "min_rendition_fps": min(v for d in det for v in d["outputs"].values()),
            "max_lag_ms": max(d["max_lag_ms"] for d in det), "detail": det}


def part_capacity(a, weir_bin, clip, workdir):
    res = {"warmup": a.cap_warmup, "seconds": a.cap_seconds}
    for kind in ("weir", "ffmpeg"):
        steps = []
        for n in range(1, a.max_n + 1):
            st = capacity_step(a, weir_bin, clip, workdir, n, kind)
            bench.log(f"capacity {kind} N={n}: {'real time' if st['ok'] else 'NOT real time'} "
                      f"(min rendition {st['min_rendition_fps']:.2f} fps, dropped {st['dropped']}, "
                      f"weir {st['weir_cpu']:.2f} ladders {st['ladders_cpu']:.2f} CPU s/s)")
            steps.append(st)
            if not st["ok"]:
                break
        ok = [s["n"] for s in steps if s["ok"]]
        res[kind] = {"steps": steps, "sustained": max(ok) if ok and ok == list(range(1, len(ok) + 1)) else 0}
    res["ffmpeg_command"] = shlex.join(ffmpeg_ladder(["-i", "http://WEIR/live/cK.flv"],
                                                     [f"rtmp://WEIR/live/cK_{r}" for r, _, _ in LADDER], True))
    return res


# --------------------------------------------------------------------------- extras

def wm_text_filter(app_extra):
    """ffmpeg's drawtext for the text watermark of --watermark-app (Weir's
    defaults where the JSON is silent: DejaVu Sans 24 px, white on a box); the
    position is drawn top-right with a 2% margin (the bench's watermark)."""
    t = json.loads(app_extra).get("watermark", {}).get("text", {})
    text = t.get("text", "")
    # Three parsers read it (graph, options, drawtext's %{} expansion): a colon
    # inside the strftime format takes three backslashes, the separator one.
    text = text.replace("'", "").replace("\\", "").replace(":", "\\\\\\:")
    if t.get("strftime"):
        text = "%{localtime\\:" + text + "}"
    font = t.get("font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    box = ":box=1:boxcolor=black@0.5:boxborderw=4" if t.get("box") else ""
    return (f"drawtext=fontfile={font}:text='{text}':fontsize={t.get('font_size', 24)}:fontcolor=white{box}"
            ":x=w-tw-w*0.02:y=h*0.02")


def ffmpeg_watermark_ladder(clip, app_extra):
    """The plain ladder plus what Weir's job adds for a watermark: the text drawn
    once before the split and a fourth output at the source's size (Weir's
    `_wm` stream: libx264 veryfast at watermark.bitrate_kbps, 2500 by default)."""
    wm_kbps = json.loads(app_extra).get("watermark", {}).get("bitrate_kbps", 2500)
    n = len(LADDER) + 1
    fc = (f"[0:v]{wm_text_filter(app_extra)},split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
          + ";".join(f"[s{i}]scale=-2:{h}[o{i}]" for i, (_, h, _) in enumerate(LADDER)))
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-threads", "1",
           "-re", "-stream_loop", "-1", "-i", str(clip), "-filter_complex", fc, "-filter_complex_threads", "1"]
    for i, (_, _, b) in enumerate(LADDER):
        cmd += ["-map", f"[o{i}]", "-map", "0:a"] + encoder_args(b) + ["-c:a", "copy", "-f", "flv", "/dev/null"]
    cmd += ["-map", f"[s{len(LADDER)}]", "-map", "0:a"] + encoder_args(wm_kbps) + [
        "-c:a", "copy", "-f", "flv", "/dev/null"]
    return cmd


def ffmpeg_mix(w, body):
    """One ffmpeg command line making the program of --mix-body from the four
    inputs read off Weir over HTTP-FLV: each scaled into its quarter (aspect
    kept), xstack, fps, the four audios mixed (amix, no normalisation, as
    Weir's) and resampled to 48 kHz; libx264 at the body's preset/bitrate with
    Weir's VBV (maxrate = bitrate), AAC at its audio bitrate."""
    spec = json.loads(body)
    cw, ch, fps = spec.get("width", 1280), spec.get("height", 720), spec.get("fps", 30)
    v = spec.get("video", {})
    kbps, preset = v.get("bitrate_kbps", 2000), v.get("preset", "veryfast")
    akbps = spec.get("audio", {}).get("bitrate_kbps", 128)
    inputs = []
    for i in range(4):
        inputs += ["-fflags", "nobuffer", "-i", f"http://{w.http}/live/in{i}.flv"]
    qw, qh = cw // 2, ch // 2
    fc = "".join(f"[{i}:v]scale={qw}:{qh}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                 f"pad={qw}:{qh}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[v{i}];" for i in range(4))
    fc += "[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,fps=" + str(fps) + "[v];"
    fc += "[0:a][1:a][2:a][3:a]amix=inputs=4:normalize=0:dropout_transition=0,aresample=48000[a]"
    return (["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-threads", "1"] + inputs
            + ["-filter_complex", fc, "-filter_complex_threads", "1", "-map", "[v]", "-map", "[a]",
               "-c:v", "libx264", "-preset", preset, "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize",
               f"{kbps}k", "-threads", "2", "-c:a", "aac", "-b:a", f"{akbps}k", "-f", "flv", "/dev/null"])


def part_extras(a, weir_bin, clip, workdir):
    """Added CPU of a feature, Weir against ffmpeg doing the same in the same
    run. --watermark-app merges a JSON object into app `live` (its watermark):
    Weir's process CPU with the ladder and the watermark minus with the ladder
    alone; ffmpeg's: the ladder command line with the same text drawn and a
    fourth output (Weir's `_wm` stream) minus the plain ladder command line.
    --mix-body is the JSON body of POST /api/v1/mixes over four inputs pushed as
    live/in0..in3: Weir's process CPU with the mix minus without (inputs pushed
    either way); ffmpeg's: its mix process plus what Weir spends serving it the
    four inputs over HTTP-FLV (Weir's CPU then minus without)."""
    res = {}

    def ladder_cpu(app_extra, name):
        w = weir_server(weir_bin, workdir / name, True, app_extra=app_extra)
        try:
            pusher(clip, w, "s", workdir)
            bench.wait_for(lambda: "s" in stream_frames(w), 20, "the source on weir")
            cpu, = cpu_window([w.pid], a.warmup, a.seconds)
            return cpu
        finally:
            bench.stop_all()

    def ffmpeg_cpu(cmd, name):
        ff = bench.start(cmd, name, workdir)
        try:
            cpu, = cpu_window([ff.pid], a.warmup, a.seconds)
            if ff.poll() is not None:
                raise RuntimeError(f"ffmpeg ({name}) exited: {(workdir / f'{name}.err').read_text()[-2000:]}")
            return cpu
        finally:
            bench.stop(ff)

    if a.watermark_app:
        base = ladder_cpu(None, "extras-plain")
        with_wm = ladder_cpu(json.loads(a.watermark_app), "extras-watermark")
        ff_base = ffmpeg_cpu(ffmpeg_ladder(["-re", "-stream_loop", "-1", "-i", str(clip)], ["/dev/null"] * len(LADDER)),
                             "extras-ffmpeg-plain")
        ff_cmd = ffmpeg_watermark_ladder(clip, a.watermark_app)
        ff_wm = ffmpeg_cpu(ff_cmd, "extras-ffmpeg-watermark")
        res["watermark"] = {"without": base, "with": with_wm, "added": with_wm - base, "app": a.watermark_app,
                            "ffmpeg_without": ff_base, "ffmpeg_with": ff_wm, "ffmpeg_added": ff_wm - ff_base,
                            "ffmpeg_command": shlex.join(ff_cmd).replace(str(clip), "SOURCE.flv")}
    else:
        res["watermark"] = {"not_measured": "run with --watermark-app"}
    if a.mix_body:
        cpus = {}
        for case in ("none", "weir", "ffmpeg"):
            w = weir_server(weir_bin, workdir / f"extras-mix-{case}", False)
            try:
                for i in range(4):
                    pusher(clip, w, f"in{i}", workdir)
                bench.wait_for(lambda: all(f"in{i}" in stream_frames(w) for i in range(4)), 30, "the mix inputs")
                pids = [w.pid]
                if case == "weir":
                    req = urllib.request.Request(f"http://{w.api}/api/v1/mixes", data=a.mix_body.encode(),
                                                 headers={"Content-Type": "application/json"}, method="POST")
                    with urllib.request.urlopen(req, timeout=10) as r:
                        if r.status not in (200, 201):
                            raise RuntimeError(f"POST /api/v1/mixes answered {r.status}")
                elif case == "ffmpeg":
                    cmd = ffmpeg_mix(w, a.mix_body)
                    ff = bench.start(cmd, "extras-ffmpeg-mix", workdir)
                    pids.append(ff.pid)
                    res.setdefault("mix_ffmpeg_command", shlex.join(cmd).replace(w.http, "WEIR"))
                cpus[case] = cpu_window(pids, a.warmup, a.seconds)
                if case == "ffmpeg" and ff.poll() is not None:
                    raise RuntimeError(f"the ffmpeg mix exited: {(workdir / 'extras-ffmpeg-mix.err').read_text()[-2000:]}")
            finally:
                bench.stop_all()
        none, = cpus["none"]
        weir_with, = cpus["weir"]
        weir_serving, ff = cpus["ffmpeg"]
        res["mixer"] = {"without": none, "with": weir_with, "added": weir_with - none, "body": a.mix_body,
                        "ffmpeg_process": ff, "ffmpeg_weir_serving": weir_serving - none,
                        "ffmpeg_added": ff + weir_serving - none,
                        "ffmpeg_command": res.pop("mix_ffmpeg_command", None)}
    else:
        res["mixer"] = {"not_measured": "run with --mix-body"}
    return res


# --------------------------------------------------------------------------- report

def a_seconds(r):
    return f"{r.get('extras_seconds', 20):.0f} s"


def f2(v, d=1):
    return bench.fmt(v, d)


def render(r):
    m = r["machine"]
    cmds = list(dict.fromkeys(r["commands"].values()))
    L = [f"Generated {m['date']} by (Weir and ffmpeg in the same run):", "", "```sh"] + cmds + ["```", ""]
    b = r["build"]
    L.append(f"Source: git {b['head']}{' (dirty)' if b['dirty'] else ''}; weir built {b['weir_built']}. "
             f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Linux {m['kernel']}; load average at start "
             f"{' '.join(m['loadavg_start'])}. {r['versions']['ffmpeg']}. Source: {r['clip']}. Ladder: "
             + ", ".join(f"{n} {b_} kb/s" for n, _, b_ in LADDER) + " (libx264 veryfast, maxrate 1.5x).")
    L.append("")
    c = r.get("cpu")
    if c:
        L += [f"**CPU** ({c['seconds']:.0f} s window; Weir: RTMP ingest + ladder + three HTTP-FLV viewers of the "
              "renditions; ffmpeg: one command line from the file with -re, outputs to /dev/null):", "",
              "| | CPU s per s | notes |", "|---|---:|---|",
              f"| Weir | {f2(c['weir'], 2)} | {c['weir_frames_out']} frames out, {c['weir_frames_dropped']} dropped |",
              f"| ffmpeg | {f2(c['ffmpeg'], 2)} | `{c['ffmpeg_command']}` |", "",
              f"Weir ÷ ffmpeg = {f2(bench.ratio(c['weir'], c['ffmpeg']), 2)}.", ""]
    lat = r.get("latency")
    if lat:
        L += [f"**Frame latency through the transcoder** (ms from a video frame's arrival at an HTTP-FLV viewer of "
              f"the source to the arrival of the same pts at a viewer of the rendition, source frames of a "
              f"{lat['seconds']:.0f} s window after {lat['warmup']:.0f} s):", "",
              "| | rendition | frames | matched | p50 ms | p99 ms | max ms |", "|---|---|---:|---:|---:|---:|---:|"]
        for who in ("weir", "ffmpeg"):
            for n, x in lat[who]["renditions"].items():
                L.append(f"| {'Weir' if who == 'weir' else 'ffmpeg ladder'} | {n} | {x['frames']} | {x['matched']} | "
                         f"{f2(x['p50'])} | {f2(x['p99'])} | {f2(x['max'])} |")
            L.append(f"| {'Weir' if who == 'weir' else 'ffmpeg ladder'} | all | | {lat[who]['samples']} | "
                     f"**{f2(lat[who]['p50'])}** | **{f2(lat[who]['p99'])}** | |")
        x = lat["relay"]
        L.append(f"| ffmpeg -c copy relay | pass-through | {x['frames']} | {x['matched']} | {f2(x['p50'])} | "
                 f"{f2(x['p99'])} | {f2(x['max'])} |")
        ip = lat.get("weir_in_process")
        if ip and ip.get("samples"):
            L += ["", f"Weir's own histogram over the same viewing (weir_transcode_latency_seconds: the job reading "
                  f"a source frame -> publishing the rendition frame of the same pts, {ip['samples']} frames): mean "
                  f"{f2(ip['mean'])} ms, p50 ≤ {f2(ip.get('p50_le'), 0)} ms, p99 ≤ {f2(ip.get('p99_le'), 0)} ms "
                  "(bucket bounds)."]
        L += ["", f"ffmpeg net of the relay (its p50 subtracted): p50 {f2(lat.get('ffmpeg_net_p50'))} ms, "
              f"p99 {f2(lat.get('ffmpeg_net_p99'))} ms. Weir dropped {lat.get('weir_dropped', '?')} frames. "
              f"Frame interval {1000 / FPS:.1f} ms."]
        d = lat.get("x264_delay_frames")
        if d is not None:
            target = (d + 2) * 1000.0 / FPS
            mark = lambda v: "–" if v is None else ("met" if v < target else "NOT met")  # noqa: E731
            L.append(f"Target (issue 12: under two frame intervals plus the encoder's own lookahead; libx264 holds "
                     f"{d} frames with these settings, x264_encoder_maximum_delayed_frames): ({d} + 2) × "
                     f"{1000 / FPS:.1f} = {target:.0f} ms; Weir p50 {f2(lat['weir']['p50'])} ms: "
                     f"**{mark(lat['weir']['p50'])}**, p99 {f2(lat['weir']['p99'])} ms: {mark(lat['weir']['p99'])}.")
            rf = lat.get("source_reorder_frames")
            if rf:
                t2 = (d + rf + 2) * 1000.0 / FPS
                mark2 = lambda v: "–" if v is None else ("met" if v < t2 else "NOT met")  # noqa: E731
                L.append(f"The source's own encoder lookahead counts too: its B-frames make any decoder (Weir's and "
                         f"ffmpeg's) hold {rf} frames before it can output one (has_b_frames = {rf}), so with both "
                         f"encoders' lookahead the target is ({d} + {rf} + 2) × {1000 / FPS:.1f} = {t2:.0f} ms: Weir "
                         f"p50 **{mark2(lat['weir']['p50'])}**, p99 {mark2(lat['weir']['p99'])}.")
        L.append("")
    cap = r.get("capacity")
    if cap:
        L += [f"**Capacity** (N sources pushed at real-time pace, each with its ladder; {cap['warmup']:.0f} s warm-up, "
              f"{cap['seconds']:.0f} s window; CPU s per s of the Weir process, the ffmpeg ladder processes and the "
              "pushers):", "",
              "| ladders by | N | real time | min source fps | min rendition fps | max lag ms | dropped | max queued | Weir CPU | "
              "ffmpeg ladders CPU | pushers CPU |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for kind in ("weir", "ffmpeg"):
            for s in cap[kind]["steps"]:
                L.append(f"| {'Weir' if kind == 'weir' else 'ffmpeg'} | {s['n']} | {'yes' if s['ok'] else '**no**'} | "
                         f"{f2(s['min_source_fps'], 2)} | {f2(s['min_rendition_fps'], 2)} | {s['max_lag_ms']} | "
                         f"{s['dropped'] if kind == 'weir' else '–'} | {s['max_queued'] if kind == 'weir' else '–'} | "
                         f"{f2(s['weir_cpu'], 2)} | {f2(s['ladders_cpu'], 2) if kind == 'ffmpeg' else '–'} | "
                         f"{f2(s['pushers_cpu'], 2)} |")
        L += ["", f"Sustained in real time: Weir {cap['weir']['sustained']} ladders, ffmpeg {cap['ffmpeg']['sustained']} "
              "ladder processes.", ""]
    ex = r.get("extras")
    if ex:
        L += [f"**Added CPU** of the watermark and the mixer (CPU s per s over a {a_seconds(r)} window, Weir and "
              "ffmpeg doing the same work in the same run):", "",
              "| feature | Weir without | Weir with | Weir added | ffmpeg without | ffmpeg with | ffmpeg added | "
              "Weir ÷ ffmpeg (added) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for k, label in (("watermark", "text watermark on the ladder (+ the `_wm` 720p output)"),
                         ("mixer", "mix of four 720p30 inputs (grid, 1280x720@30)")):
            x = ex[k]
            if "not_measured" in x:
                L.append(f"| {label} | not measured ({x['not_measured']}) | | | | | | |")
            elif k == "watermark":
                L.append(f"| {label} | {f2(x['without'], 2)} | {f2(x['with'], 2)} | **{f2(x['added'], 2)}** | "
                         f"{f2(x.get('ffmpeg_without'), 2)} | {f2(x.get('ffmpeg_with'), 2)} | "
                         f"**{f2(x.get('ffmpeg_added'), 2)}** | {f2(bench.ratio(x['added'], x.get('ffmpeg_added')), 2)} |")
            else:
                L.append(f"| {label} | {f2(x['without'], 2)} | {f2(x['with'], 2)} | **{f2(x['added'], 2)}** | "
                         f"{f2(x['without'], 2)} | {f2(x['without'] + x.get('ffmpeg_added', 0), 2)} | "
                         f"**{f2(x.get('ffmpeg_added'), 2)}** | {f2(bench.ratio(x['added'], x.get('ffmpeg_added')), 2)} |")
        L.append("")
        w_, m_ = ex["watermark"], ex["mixer"]
        if "app" in w_:
            L.append(f"Watermark: app `live` += `{w_['app']}`; ffmpeg: `{w_.get('ffmpeg_command')}`.")
        if "body" in m_:
            L.append(f"Mixer: `POST /api/v1/mixes` `{m_['body']}`; ffmpeg (reading the four inputs from Weir over "
                     f"HTTP-FLV; its figure is its process plus the {f2(m_.get('ffmpeg_weir_serving'), 2)} CPU s/s Weir "
                     f"spends serving them): `{m_.get('ffmpeg_command')}`.")
        L.append("")
    return "\n".join(L).rstrip("\n")


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("cpu", "latency", "capacity", "extras"), default=None)
    ap.add_argument("--seconds", type=float, default=20, help="CPU window (cpu, extras)")
    ap.add_argument("--warmup", type=float, default=6)
    ap.add_argument("--lat-seconds", type=float, default=20)
    ap.add_argument("--lat-warmup", type=float, default=5)
    ap.add_argument("--lat-tail", type=float, default=2.5, help="s viewed after the window for late outputs")
    ap.add_argument("--cap-seconds", type=float, default=20)
    ap.add_argument("--cap-warmup", type=float, default=8)
    ap.add_argument("--max-n", type=int, default=6, help="capacity: the largest N tried")
    ap.add_argument("--watermark-app", default=None, help="extras: JSON merged into app live (the watermark)")
    ap.add_argument("--mix-body", default=None, help="extras: JSON body of POST /api/v1/mixes (inputs live/in0..3)")
    ap.add_argument("--previous", default=None, help="an earlier results file whose other parts are kept")
    ap.add_argument("--quick", action="store_true", help="short windows, N = 1 (a smoke run of every part)")
    ap.add_argument("--build-dir", default=str(bench.ROOT / "build"))
    ap.add_argument("--out", default=str(bench.ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json-out", default=None, help="default: BUILD_DIR/bench/ladder_results.json")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    if a.quick:
        # Every part but `cpu` (the capacity step N = 1 measures both sides' CPU too), to stay near 40 s.
        a.seconds, a.warmup, a.lat_seconds, a.lat_warmup, a.lat_tail = 2.0, 1.5, 3.0, 1.5, 1.5
        a.cap_seconds, a.cap_warmup, a.max_n = 2.5, 1.5, 1
    build = Path(a.build_dir).resolve()
    weir_bin = build / "src" / "weir"
    if not weir_bin.is_file():
        sys.exit(f"{weir_bin} is missing: build it first (ninja -C {build} weir)")
    clip_s = 6 if a.quick else 30
    clip = build / "bench" / f"ladder_clip_{clip_s}s.flv"
    make_clip(clip, clip_s)
    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="weir-ladder-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench.log(f"scratch dir {workdir}")
    r = json.loads(Path(a.previous).read_text()) if a.previous else {}
    command = "tools/bench/transcode_ladder.py" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:]))
    ffv = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    r.update({"machine": bench.machine_info(), "build": bench.build_info(weir_bin, weir_bin),
              "versions": {"ffmpeg": " ".join(ffv.split()[:3])},
              "clip": f"{clip_s} s 1280x720@30 H.264 (x264 veryfast 3 Mb/s, GOP 2 s, B-frames) + AAC 128k, "
                      "pushed looped with `ffmpeg -re -stream_loop -1 -c copy`"})
    r.setdefault("commands", {})
    parts = {"cpu": part_cpu, "latency": part_latency, "capacity": part_capacity, "extras": part_extras}
    try:
        for name, fn in parts.items():
            if a.only == name or (a.only is None and not (a.quick and name == "cpu")):
                bench.log(f"part {name}")
                r["commands"][name] = command
                r[name] = fn(a, weir_bin, clip, workdir)
                if name == "extras":
                    r["extras_seconds"] = a.seconds
    finally:
        bench.stop_all()
    bench.save_results(r, a.json_out or build / "bench" / "ladder_results.json", a.out, render(r), START, END, bench.log)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        bench.stop_all()
        sys.exit(130)
