#!/usr/bin/env python3
"""Recording cost: 20 streams recorded at once, Weir against nginx-rtmp in the
same run (docs/benchmarks.md, "Recording cost", has the results).

Four phases of the same load, each on a fresh server:
  weir record off, weir record on, nginx-rtmp record off, nginx-rtmp record on.
Load of a phase: S publishers (loadgen --publish rtmp --probe of run.py's clip:
60 s 1280x720@30 x264 ~2.5 Mb/s + AAC 128k, looped at real-time pace, a
latency SEI in every video frame) and V viewers per stream (one loadgen player
process per stream: HTTP-FLV on Weir, RTMP on nginx-rtmp, which has no
HTTP-FLV). After the viewers' warm-up, a window of W seconds:
  - server CPU: utime + stime of the server's process tree (all threads; nginx:
    master + worker), /proc/PID/stat, at the window's start and end;
  - RSS of the tree (highest of samples every 5 s in the window);
  - bytes the kernel counted as written by the tree (/proc/PID/io write_bytes)
    and the growth of the record directory (sum of file sizes) per stream;
  - the viewers' latency (probe arrival - send time), per stream process; the
    table gives the median of the streams' p50 and the worst stream's p99 (an
    upper bound of the pooled p99);
  - the machine's busy share (/proc/stat), so a disturbed run shows.
Record-on phases are checked: every stream has a recording on disk that grew
during the window (Weir: /api/v1/recordings lists S recordings, no gaps), or
the run fails. After Weir's record-on window the publishers stop and Weir
merges the S assets: that merge is timed separately (wall time until S assets
are ready, and Weir's CPU over it); it is not in the window.

What is recorded: Weir writes fMP4 segments (segment_s, fragment_ms and fsync
as given, default 60 s / 1000 ms / fsync at each segment's end) from its
storage threads; nginx-rtmp (`record all`) appends one FLV file per stream
with write() from its event loop, never fsyncs.

Usage (hold the build lock so no build runs during the measurement):
  flock /tmp/build.lock tools/bench/record_cost.py [--window 60] [--streams 20] [--viewers 2]
      [--previous build/bench/record_cost_run1.json ...]
  tools/bench/record_cost.py --quick --out /tmp/r.md     # 3 streams, 5 s windows
Writes build/bench/record_cost_results.json and the markdown section between
the record-cost markers in docs/benchmarks.md; --previous adds earlier runs'
results files to the tables (to show the run-to-run noise), --render-only
rewrites the section from such files. The scratch dir (about 1.4 GB of
recordings after a full run) is removed after a good run unless --keep.
Needs build/src/weir, build/tools/loadgen/loadgen, ffmpeg, nginx and
libnginx-mod-rtmp. Python 3 stdlib only.
"""

import argparse
import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (processes, CPU sampling, clip, Weir and nginx-rtmp)
from record_cost_report import render  # noqa: E402

START = "<!-- record-cost:start -->"
END = "<!-- record-cost:end -->"


def stream_names(n):
    return [f"s{i:02d}" for i in range(n)]


def machine_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]  # idle + iowait
    return sum(f) - idle, sum(f)


def tree_write_bytes(pid):
    """write_bytes of /proc/PID/io over the process tree (None if unreadable)."""
    total = 0
    for p in bench.descendants(pid):
        try:
            for line in open(f"/proc/{p}/io"):
                if line.startswith("write_bytes:"):
                    total += int(line.split()[1])
        except OSError:
            return None
    return total


def thread_cpu_s(pid):
    """CPU seconds per thread name over the process tree, a trailing -N of a
    pool's thread name dropped (Weir: `weir` = main, event loops and libuv's
    pool; `weir-store` = the storage workers, which write the recordings)."""
    out = {}
    for p in bench.descendants(pid):
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for t in tasks:
            try:
                comm = (t / "comm").read_text().strip()
                fields = (t / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = re.sub(r"-\d+$", "", comm)
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / bench.CLK_TCK
    return out


def dir_bytes(path):
    """(apparent bytes, allocated bytes as du counts them, files) under path."""
    size = alloc = files = 0
    for f in Path(path).rglob("*"):
        try:
            st = f.stat()
        except OSError:
            continue
        if f.is_file():
            size += st.st_size
            alloc += st.st_blocks * 512
            files += 1
    return size, alloc, files


def api_get(base, path):
    st, body = bench.http_status(f"http://{base}{path}", timeout=5)
    if st != 200:
        raise RuntimeError(f"GET {path} answered {st}")
    return json.loads(body)


class WeirCase:
    """Weir at `workers` loops with app `live` recording or not; the store is
    the record directory in both cases."""
    kind = "weir"

    def __init__(self, binary, workdir, workers, record, rec):
        self.store = Path(workdir) / "store"
        live = "{reconnect_grace_ms: 0}"
        if record:
            live = (f"{{reconnect_grace_ms: 0, record: {{enabled: true, segment_s: {rec['segment_s']}, "
                    f"fragment_ms: {rec['fragment_ms']}, resume_s: 0, fsync: {rec['fsync']}}}}}")
        self.server = bench.Weir(binary, workdir, workers, live_app=live,
                                 extra_yaml=f"storage:\n  root: {self.store}\n")
        self.pid = self.server.pid
        self.viewer_kind = "flv"

    def publish_url(self, s):
        return self.server.publish_url(s)

    def view_url(self, s):
        return self.server.urls(s)[self.viewer_kind]

    def live_streams(self):
        items = api_get(self.server.api, "/api/v1/streams?app=live&limit=1000")["items"]
        return {i["name"] for i in items if i.get("live")}

    def stream_dir(self, s):
        return self.store / "live" / s

    def recordings(self):
        return [r for r in api_get(self.server.api, "/api/v1/recordings")["items"] if r["app"] == "live"]

    def stop(self):
        return self.server.stop()


class NginxCase:
    """nginx-rtmp (one worker) with `record all` into DIR/rec or no recording."""
    kind = "nginx"

    def __init__(self, workdir, record):
        self.rec = Path(workdir) / "rec"
        self.rec.mkdir(parents=True, exist_ok=True)
        body = "      record all;\n      record_path {w}/rec;\n" if record else ""
        self.server = bench.Nginx(workdir, app_body=body)
        self.pid = self.server.pid
        self.viewer_kind = "rtmp"

    def publish_url(self, s):
        return self.server.publish_url(s)

    def view_url(self, s):
        return self.server.urls(s)["rtmp"]

    def live_streams(self):
        return self.server.publishing()

    def stream_dir(self, s):
        return self.rec / f"{s}.flv"

    def stop(self):
        return self.server.stop()


def stream_bytes(case, streams):
    out = {}
    for s in streams:
        p = case.stream_dir(s)
        if p.is_dir():
            out[s] = dir_bytes(p)[0]
        else:
            out[s] = p.stat().st_size if p.exists() else 0
    return out


def snapshot(case, streams, clients):
    busy, total = machine_busy()
    return {"t": time.monotonic(), "cpu": bench.tree_cpu_s(case.pid), "threads": thread_cpu_s(case.pid),
            "rss": bench.tree_rss_kib(case.pid),
            "write_bytes": tree_write_bytes(case.pid), "busy": busy, "total": total,
            "clients_cpu": sum(bench.tree_cpu_s(p.pid) for p in clients if p.poll() is None),
            "streams": stream_bytes(case, streams), "load": float(open("/proc/loadavg").read().split()[0])}


def read_report(path):
    lines = [x for x in Path(path).read_text(errors="replace").splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def run_phase(case, label, a, loadgen, clip, workdir):
    streams = stream_names(a.streams)
    pubs = [bench.start([str(loadgen), "--publish", "rtmp", "--url", case.publish_url(s), "--file", str(clip),
                         "--probe", "--json"], f"pub-{label}-{s}", workdir) for s in streams]
    bench.wait_for(lambda: case.live_streams() >= set(streams), 30, f"{a.streams} live streams on {label}")
    time.sleep(1.0)
    duration = a.warmup + a.window + 1.0
    players = [bench.start([str(loadgen), "--kind", case.viewer_kind, "--url", case.view_url(s), "-n",
                            str(a.viewers), "--ramp", "100", "--duration", f"{duration:.1f}", "--warmup",
                            str(a.warmup), "--json", "--quiet"], f"play-{label}-{s}", workdir) for s in streams]
    t0 = time.monotonic()
    time.sleep(a.warmup + 0.3)
    clients = pubs + players
    s0 = snapshot(case, streams, clients)
    rss_max = s0["rss"]
    end = s0["t"] + a.window
    while time.monotonic() < end - 0.01:
        time.sleep(min(5.0, end - time.monotonic()))
        rss_max = max(rss_max, bench.tree_rss_kib(case.pid))
    s1 = snapshot(case, streams, clients)
    recs = case.recordings() if isinstance(case, WeirCase) else None
    for p in players:
        try:
            p.wait(timeout=max(5.0, t0 + duration + 30 - time.monotonic()))
        except subprocess.TimeoutExpired:
            bench.stop(p)
    reports = [read_report(workdir / f"play-{label}-{s}.out") for s in streams]
    merge = None
    if isinstance(case, WeirCase) and a.record_of(label):
        m0 = {"t": time.monotonic(), "cpu": bench.tree_cpu_s(case.pid)}
        for p in pubs:
            bench.stop(p, signal.SIGINT)
        merge = wait_merged(case, streams, m0, a.merge_timeout)
    for p in pubs:
        bench.stop(p, signal.SIGINT)
    pub_reports = [read_report(workdir / f"pub-{label}-{s}.out") for s in streams]
    return figures(case, label, a, s0, s1, rss_max, reports, pub_reports, recs, merge)


def wait_merged(case, streams, m0, timeout):
    """Waits until every stream's asset is ready; Weir's CPU and the wall time over it."""
    q = urllib.parse.urlencode({"app": "live", "limit": 1000})
    deadline = time.monotonic() + timeout
    items = []
    while time.monotonic() < deadline:
        items = api_get(case.server.api, f"/api/v1/assets?{q}")["items"]
        done = [i for i in items if i["state"] in ("ready", "failed")]
        if len(done) >= len(streams) and not [i for i in items if i["state"] in ("recording", "merging")]:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"assets not merged within {timeout} s: {[i['state'] for i in items]}")
    wall = time.monotonic() - m0["t"]
    return {"wall_s": round(wall, 2), "cpu_s": round(bench.tree_cpu_s(case.pid) - m0["cpu"], 2),
            "ready": sum(1 for i in items if i["state"] == "ready"),
            "failed": [i.get("error", "") for i in items if i["state"] == "failed"],
            "media_s": round(sum(i.get("duration_s", 0) for i in items), 1),
            "bytes": sum(i.get("bytes", 0) for i in items)}


def figures(case, label, a, s0, s1, rss_max, reports, pub_reports, recs, merge):
    dt = s1["t"] - s0["t"]
    cpu = s1["cpu"] - s0["cpu"]
    grown = [s for s in s0["streams"] if s1["streams"][s] > s0["streams"][s] > 0]
    rec_bytes = sum(s1["streams"].values()) - sum(s0["streams"].values())
    size, alloc, files = dir_bytes(case.store if isinstance(case, WeirCase) else case.rec)
    good = [r for r in reports if r]
    wb = None
    if s0["write_bytes"] is not None and s1["write_bytes"] is not None:
        wb = round((s1["write_bytes"] - s0["write_bytes"]) / dt / 1e6, 3)
    f = {"label": label, "server": case.kind, "record": a.record_of(label), "viewer_kind": case.viewer_kind,
         "window_s": round(dt, 2), "cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / dt, 2),
         "cpu_pct_per_stream": round(100 * cpu / dt / a.streams, 3),
         "threads_pct": {k: round(100 * (v - s0["threads"].get(k, 0.0)) / dt, 2) for k, v in s1["threads"].items()},
         "rss_mib": round(rss_max / 1024, 1), "rss_mib_start": round(s0["rss"] / 1024, 1),
         "machine_busy_pct": round(100 * (s1["busy"] - s0["busy"]) / max(1, s1["total"] - s0["total"]), 1),
         "clients_cpu_pct": round(100 * (s1["clients_cpu"] - s0["clients_cpu"]) / dt, 1),
         "load": [s0["load"], s1["load"]],
         "rec_mb_s": round(rec_bytes / dt / 1e6, 3), "write_mb_s": wb,
         "rec_streams_grown": len(grown), "rec_dir_bytes": size, "rec_dir_du": alloc, "rec_files": files,
         "viewers": sum(r["connected"] for r in good), "viewer_failed": sum(r["failed"] for r in good),
         "stalls": sum(r["stalls"] for r in good),
         "lat_p50_ms": pct([r["latency_ms"]["p50"] for r in good if r["latency_ms"]["samples"]], 0.5),
         "lat_p99_ms_median": pct([r["latency_ms"]["p99"] for r in good if r["latency_ms"]["samples"]], 0.5),
         "lat_p99_ms_worst": max([r["latency_ms"]["p99"] for r in good if r["latency_ms"]["samples"]], default=None),
         "lat_max_ms": max([r["latency_ms"]["max"] for r in good if r["latency_ms"]["samples"]], default=None),
         "lat_samples": sum(r["latency_ms"]["samples"] for r in good),
         "published": sum(1 for r in pub_reports if r and r.get("published")),
         "publisher_errors": [r["error"] for r in pub_reports if r and r.get("error")],
         "ingest_mbit_s": round(sum(r["bytes"] for r in pub_reports if r) * 8 / 1e6 /
                                max(1e-9, max((r["duration_s"] for r in pub_reports if r), default=1)), 2)}
    if recs is not None:
        f["recordings"] = len(recs)
        f["recording_gaps"] = sum(r.get("gaps", 0) for r in recs)
        f["recording_states"] = sorted({r["state"] for r in recs})
    if merge:
        f["merge"] = merge
    if len(good) != a.streams or f["viewers"] != a.streams * a.viewers:
        raise RuntimeError(f"{label}: {f['viewers']} of {a.streams * a.viewers} viewers played")
    if f["record"]:
        if len(grown) != a.streams:
            raise RuntimeError(f"{label}: only {len(grown)} of {a.streams} recordings grew in the window")
        if recs is not None and (len(recs) != a.streams or f["recording_gaps"]):
            raise RuntimeError(f"{label}: {len(recs)} recordings, {f['recording_gaps']} gaps")
        if merge and (merge["ready"] != a.streams or merge["failed"]):
            raise RuntimeError(f"{label}: merge: {merge}")
    elif rec_bytes:
        raise RuntimeError(f"{label}: {rec_bytes} bytes recorded with recording off")
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--viewers", type=int, default=2, help="viewers per stream")
    ap.add_argument("--window", type=float, default=60.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds from the viewers' start to the window")
    ap.add_argument("--workers", type=int, default=1, help="Weir event loops (nginx-rtmp runs one worker)")
    ap.add_argument("--segment-s", type=int, default=60)
    ap.add_argument("--fragment-ms", type=int, default=1000)
    ap.add_argument("--fsync", default="segment", choices=("fragment", "segment", "never"))
    ap.add_argument("--merge-timeout", type=float, default=300.0)
    ap.add_argument("--quick", action="store_true", help="3 streams, 5 s windows (for a smoke run)")
    ap.add_argument("--build-dir", default=str(bench.ROOT / "build"))
    ap.add_argument("--out", default=str(bench.ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json-out", default=None, help="default: BUILD_DIR/bench/record_cost_results.json")
    ap.add_argument("--previous", action="append", default=[], help="an earlier run's results file, shown too")
    ap.add_argument("--render-only", action="store_true", help="render --previous files, run nothing")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir (recordings, logs) after a good run")
    a = ap.parse_args()
    runs = [json.loads(Path(p).read_text()) for p in a.previous]
    if a.render_only:
        bench.write_markdown(a.out, render(runs), START, END)
        return
    if a.quick:
        a.streams, a.window, a.warmup = 3, 5.0, 3.0
    build = Path(a.build_dir)
    weir_bin, loadgen = build / "src" / "weir", build / "tools" / "loadgen" / "loadgen"
    for b in (weir_bin, loadgen):
        if not b.is_file():
            sys.exit(f"{b} is missing: build it first (cmake --build {build} --target weir loadgen)")
    bench.ensure_packages(False)
    clip = build / "bench" / "clip.flv"
    bench.make_clip(clip)
    rec = {"segment_s": a.segment_s, "fragment_ms": a.fragment_ms, "fsync": a.fsync}
    phases = [("weir-off", False), ("weir-on", True), ("nginx-off", False), ("nginx-on", True)]
    a.record_of = dict(phases).get
    work = Path(tempfile.mkdtemp(prefix="weir-record-cost-"))
    bench.log(f"scratch dir {work}")
    r = {"command": "tools/bench/record_cost.py" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:])),
         "machine": bench.machine_info(), "versions": bench.versions(weir_bin, loadgen),
         "build": bench.build_info(weir_bin, loadgen), "streams": a.streams, "viewers": a.viewers,
         "window_s": a.window, "warmup_s": a.warmup, "weir_workers": a.workers, "record": rec,
         "clip_mbit": round(clip.stat().st_size * 8 / 60.0 / 1e6, 3), "disk": disk_of(work), "phases": []}
    try:
        for label, record in phases:
            d = work / label
            d.mkdir()
            case = (WeirCase(weir_bin, d, a.workers, record, rec) if label.startswith("weir")
                    else NginxCase(d, record))
            bench.log(f"{label}: {a.streams} publishers, {a.viewers} {case.viewer_kind} viewers each, "
                      f"load {open('/proc/loadavg').read().split()[0]}")
            try:
                f = run_phase(case, label, a, loadgen, clip, d)
            finally:
                rc = case.stop()
                if rc not in (0, None):
                    bench.log(f"{label}: server exited with {rc}")
            r["phases"].append(f)
            bench.log(f"  cpu {f['cpu_pct']} % ({f['cpu_pct_per_stream']} %/stream), rss {f['rss_mib']} MiB, "
                      f"lat p50 {f['lat_p50_ms']} p99 {f['lat_p99_ms_median']}/{f['lat_p99_ms_worst']} ms, "
                      f"stalls {f['stalls']}, rec {f['rec_mb_s']} MB/s ({f['rec_streams_grown']} grew), "
                      f"write {f['write_mb_s']} MB/s, busy {f['machine_busy_pct']} %"
                      + (f", merge {f['merge']}" if "merge" in f else ""))
            time.sleep(2.0)
    finally:
        bench.stop_all()
    r["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    out = Path(a.json_out or build / "bench" / "record_cost_results.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=1))
    section = render(runs + [r])
    bench.write_markdown(a.out, section, START, END)
    bench.log(f"wrote {a.out} and {out}")
    print(section)
    # A full run leaves ~1.4 GB of recordings; a failed one keeps them to look at.
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


def disk_of(path):
    """The filesystem (device, type) holding path, from /proc/mounts' longest prefix."""
    best = ("?", "?", "")
    for line in open("/proc/mounts"):
        dev, mnt, fstype = line.split()[:3]
        if str(path).startswith(mnt) and len(mnt) >= len(best[2]):
            best = (dev, fstype, mnt)
    return f"{best[0]} ({best[1]}, mounted on {best[2]})"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        bench.stop_all()
        sys.exit(130)
