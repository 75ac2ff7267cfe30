#!/usr/bin/env python3
"""Fan-out benchmark: Weir against nginx-rtmp, side by side, on one machine.

One run does everything (see docs/benchmarks.md for the results and how to
read them):

  1. makes the test clip once (build/bench/clip.flv: 60 s testsrc2 1280x720@30
     + sine, libx264 veryfast ~2.6 Mb/s CBR-ish, AAC 128k) if it is missing;
  2. for Weir at `workers: 1` and `workers: 2`, and for nginx with Debian's
     libnginx-mod-rtmp (non-daemon, own prefix and config in a temp dir), pushes
     the looped clip with the loadgen publisher (--probe: a latency SEI in every
     video frame) and runs the same player loads: RTMP play, HTTP-FLV (Weir only:
     nginx-rtmp has none), HLS (nginx; Weir only once /live/x.m3u8 answers 200)
     at each N;
  3. for each case samples the server process tree's CPU time (utime + stime
     of the process and its children, /proc/PID/stat) and RSS over the
     loadgen's steady window (it prints steady_start / steady_end on stderr);
  4. measures the physical reference: nginx serving a static 2 MiB file to wrk;
  5. runs Weir under callgrind for a fixed small scenario and reports
     instructions per delivered MB (stable on a noisy machine);
  6. writes a markdown section into docs/benchmarks.md between the
     GENERATED markers (text outside them is kept), and the raw numbers as JSON.

Usage:
  tools/bench/run.py                  # the full run (N = 50, 200, 500, 1000)
  tools/bench/run.py --quick --out /tmp/b.md   # N = 10, a few seconds per case

Needs the binaries built (ninja -C build weir loadgen), ffmpeg, nginx,
libnginx-mod-rtmp, wrk and valgrind (the Debian packages are installed with
apt-get when missing and running as root). Python 3 stdlib only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import BEGIN, END, fmt, ratio, render, save_results, targets, write_markdown  # noqa: E402,F401  (hls_bench uses them via run)

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
STREAM = "bench"
NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

# Every child this script starts, so a failure or ^C stops them (by PID only).
CHILDREN = []


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes

def start(args, name, workdir, env=None, stdout=None):
    """Popen with stderr (and stdout unless given) in files under workdir."""
    err = open(Path(workdir) / f"{name}.err", "wb")
    out = stdout if stdout is not None else open(Path(workdir) / f"{name}.out", "wb")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=str(workdir))
    p.bench_name = name
    CHILDREN.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


def stop_all():
    for p in reversed(CHILDREN):
        if p.poll() is None:
            stop(p, timeout=5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    out = [pid]
    i = 0
    while i < len(out):
        p = out[i]
        i += 1
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def tree_cpu_s(pid):
    """utime + stime (+ children's, for exited children) of pid and its descendants, seconds."""
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # fields[0] is state (field 3); utime is field 14 -> index 11.
            total += sum(int(x) for x in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def tree_rss_kib(pid):
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE // 1024
        except (OSError, IndexError, ValueError):
            pass
    return total


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return 0, b""


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


# --------------------------------------------------------------------------- set-up

def ensure_packages(need_callgrind):
    missing = []
    if not shutil.which("nginx"):
        missing.append("nginx")
    if not Path(NGINX_RTMP_MODULE).exists():
        missing.append("libnginx-mod-rtmp")
    if not shutil.which("wrk"):
        missing.append("wrk")
    if need_callgrind and not shutil.which("valgrind"):
        missing.append("valgrind")
    if not shutil.which("ffmpeg"):
        missing.append("ffmpeg")
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages {missing}; install them: apt-get install -y {' '.join(missing)}")
    log(f"installing {missing}")
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def make_clip(path):
    if path.exists() and path.stat().st_size > 1_000_000:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"making {path} (60 s 1280x720@30, x264 veryfast 2.5 Mb/s, AAC 128k)")
    # Per-process temporary name: two benches (or tests) may make it at once;
    # the rename is atomic and either result is the same clip.
    tmp = path.with_suffix(f".{os.getpid()}.tmp.flv")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-b:v", "2500k", "-maxrate", "2600k", "-bufsize", "2600k", "-g", "60", "-keyint_min", "60",
                    "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
                    "-f", "flv", str(tmp)], check=True)
    tmp.rename(path)


def machine_info():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "memory": mem,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


def build_info(weir_bin, loadgen_bin):
    """Which source the binaries were built from (as far as git can tell)."""
    def git(*a):
        r = subprocess.run(["git", "-C", str(ROOT)] + list(a), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"
    def mtime(p):
        return datetime.datetime.fromtimestamp(Path(p).stat().st_mtime).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"head": git("rev-parse", "--short", "HEAD"), "dirty": bool(dirty and dirty != "?"),
            "weir_built": mtime(weir_bin), "loadgen_built": mtime(loadgen_bin)}


def versions(weir_bin, loadgen_bin):
    v = {}
    r = subprocess.run([str(weir_bin), "--version"], capture_output=True, text=True)
    v["weir"] = (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else "?"
    r = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    v["nginx"] = (r.stderr or r.stdout).strip()
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libnginx-mod-rtmp"], capture_output=True, text=True)
    v["nginx-rtmp"] = r.stdout.strip() or "?"
    r = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    v["wrk"] = ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]
    return v


# --------------------------------------------------------------------------- servers

class Weir:
    kind = "weir"

    def __init__(self, binary, workdir, workers, valgrind_out=None, live_app="{}", extra_yaml=""):
        """live_app: the YAML flow mapping of app `live`; extra_yaml: top-level
        sections (whole lines) put before `apps:` (record_cost.py sets both)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.name = f"weir w{workers}"
        cfg = self.workdir / "weir.yaml"
        cfg.write_text(f"workers: {workers}\nlog:\n  level: warn\n{extra_yaml}apps:\n  live: {live_app}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
        env.update(WEIR_RTMP_LISTEN="127.0.0.1:0", WEIR_HTTP_LISTEN="127.0.0.1:0", WEIR_SRT_LISTEN="127.0.0.1:0",
                   WEIR_API_LISTEN="127.0.0.1:0")
        args = [str(binary), "-c", str(cfg)]
        if valgrind_out:
            args = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={valgrind_out}"] + args
        self.out_path = self.workdir / "weir.out"
        self.proc = start(args, "weir", self.workdir, env=env, stdout=open(self.out_path, "wb"))
        line = wait_for(self._listening, 60 if valgrind_out else 15, "weir's listening line")
        info = json.loads(line)
        self.rtmp = info["rtmp"]
        self.http = info["http"]
        self.api = info.get("api")  # None for a weir older than the admin API
        self.pid = self.proc.pid

    def _listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"weir exited with {self.proc.returncode}: "
                               f"{(self.workdir / 'weir.err').read_text(errors='replace')[-2000:]}")
        text = self.out_path.read_text(errors="replace")
        for line in text.splitlines():
            if '"listening"' in line:
                return line
        return None

    def publish_url(self, stream=STREAM):
        return f"rtmp://{self.rtmp}/live/{stream}"

    def urls(self, stream=STREAM):
        return {"rtmp": f"rtmp://{self.rtmp}/live/{stream}",
                "flv": f"http://{self.http}/live/{stream}.flv",
                "hls": f"http://{self.http}/live/{stream}.m3u8",
                "llhls": f"http://{self.http}/live/{stream}/llhls.m3u8"}

    def wait_stream(self):
        def live():
            st, body = http_status(f"http://{self.api}/api/v1/streams/live/{STREAM}" if self.api
                                   else f"http://{self.http}/api/streams/live/{STREAM}")
            return st == 200
        wait_for(live, 20, "the stream on weir")

    def stop(self):
        return stop(self.proc, signal.SIGTERM, 30)


class Nginx:
    kind = "nginx"

    # The body of `application live` after `live on;` unless told otherwise:
    # the HLS packager that run.py's HLS cases play ({w}: the work dir).
    HLS_APP = """      hls on;
      hls_path {w}/hls;
      hls_fragment 2s;
      hls_playlist_length 12s;
"""

    def __init__(self, workdir, app_body=None):
        self.workdir = Path(workdir)
        for d in ("hls", "static", "logs", "tmp"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        self.name = "nginx-rtmp"
        self.rtmp_port = free_port()
        self.http_port = free_port()
        w = self.workdir
        conf = w / "nginx.conf"
        app_body = (self.HLS_APP if app_body is None else app_body).format(w=w)
        # Workers run as the invoking user: the scratch dir may be private (0700).
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf.write_text(f"""load_module {NGINX_RTMP_MODULE};
{user}daemon off;
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/logs/error.log warn;
events {{ worker_connections 16384; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.rtmp_port};
    chunk_size 4096;
    application live {{
      live on;
{app_body}    }}
  }}
}}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {w}/tmp/body;
  proxy_temp_path {w}/tmp/proxy;
  fastcgi_temp_path {w}/tmp/fastcgi;
  uwsgi_temp_path {w}/tmp/uwsgi;
  scgi_temp_path {w}/tmp/scgi;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; application/octet-stream bin; }}
  server {{
    listen 127.0.0.1:{self.http_port};
    location /hls/ {{ alias {w}/hls/; add_header Cache-Control no-cache; }}
    location /static/ {{ alias {w}/static/; }}
    location /stat {{ rtmp_stat all; }}
  }}
}}
""")
        self.proc = start(["nginx", "-p", str(w), "-e", str(w / "logs" / "error.log"), "-c", str(conf)],
                          "nginx", w)
        self.pid = self.proc.pid

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: "
                                   f"{(w / 'logs' / 'error.log').read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.rtmp_port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_for(up, 10, "nginx to listen")

    def publish_url(self, stream=STREAM):
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{stream}"

    def urls(self, stream=STREAM):
        return {"rtmp": f"rtmp://127.0.0.1:{self.rtmp_port}/live/{stream}",
                "hls": f"http://127.0.0.1:{self.http_port}/hls/{stream}.m3u8"}

    def publishing(self):
        """Names of the streams with a publisher, from nginx-rtmp's rtmp_stat page."""
        st, body = http_status(f"http://127.0.0.1:{self.http_port}/stat")
        if st != 200:
            return set()
        names = set()
        for block in re.findall(rb"<stream>(.*?)</stream>", body, re.S):
            m = re.search(rb"<name>([^<]*)</name>", block)
            if m and b"<publishing/>" in block:
                names.add(m.group(1).decode())
        return names

    def wait_stream(self):
        time.sleep(2)

    def wait_hls(self, segments=4, timeout=30):
        def ready():
            st, body = http_status(self.urls()["hls"])
            return st == 200 and body.count(b"#EXTINF") >= segments
        wait_for(ready, timeout, "nginx-rtmp's HLS playlist")
        time.sleep(1)

    def stop(self):
        return stop(self.proc, signal.SIGQUIT, 15)


# --------------------------------------------------------------------------- loadgen

def run_loadgen(loadgen, kind, url, n, ramp, steady, loops, server_pid, workdir, name, on_window=None):
    """Runs players; samples the server tree at the steady window's start and
    end. Returns (report dict, window dict)."""
    ramp_s = (n - 1) / ramp
    duration = ramp_s + 1.0 + steady
    args = [str(loadgen), "--kind", kind, "--url", url, "-n", str(n), "--ramp", str(ramp),
            "--duration", f"{duration:.2f}", "--loops", str(loops), "--warmup", "1", "--json"]
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.bench_name = name
    CHILDREN.append(p)
    window = {}
    err_lines = []

    def read_err():
        for line in p.stderr:
            err_lines.append(line)
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            e = ev.get("event")
            if e in ("steady_start", "steady_end"):
                window[e] = {"t": time.monotonic(), "cpu": tree_cpu_s(server_pid), "rss": tree_rss_kib(server_pid)}
                if on_window:
                    on_window(e)
    out_chunks = []

    def read_out():
        out_chunks.append(p.stdout.read())
    threads = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    for t in threads:
        t.start()
    try:
        p.wait(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for t in threads:
        t.join(10)
    out = "".join(out_chunks)
    (Path(workdir) / f"{name}.stderr").write_text("".join(err_lines))
    (Path(workdir) / f"{name}.json").write_text(out)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    if p.returncode not in (0, 1) or not lines:
        raise RuntimeError(f"loadgen {args} exited {p.returncode}: {''.join(err_lines)[-2000:]}")
    return json.loads(lines[-1]), window


def case_figures(report, window, idle_rss, n):
    """Derived figures of one case."""
    steady = report.get("steady", {})
    gbit = steady.get("bytes", 0) * 8 / 1e9
    f = {"mbit_s": steady.get("mbit_s", 0.0), "connected": report["connected"], "failed": report["failed"],
         "server_cpu_s": None, "server_cpu_per_gbit": None, "rss_kib_per_viewer": None,
         "loadgen_cpu_per_gbit": round(steady.get("cpu_s", 0) / gbit, 3) if gbit > 0 else None,
         "ttfk_p50_ms": report["ttfk_ms"]["p50"], "ttfk_p99_ms": report["ttfk_ms"]["p99"],
         "ttfk_samples": report["ttfk_ms"]["samples"],
         "stalls": report["stalls"],
         "ratio_min": report["media_time_ratio"]["min"] if report["media_time_ratio"]["samples"] else None,
         "ratio_mean": report["media_time_ratio"]["mean"] if report["media_time_ratio"]["samples"] else None,
         "lat_p50_ms": report["latency_ms"]["p50"], "lat_p99_ms": report["latency_ms"]["p99"],
         "lat_samples": report["latency_ms"]["samples"]}
    if "steady_start" in window and "steady_end" in window:
        cpu = window["steady_end"]["cpu"] - window["steady_start"]["cpu"]
        f["server_cpu_s"] = round(cpu, 3)
        if gbit > 0:
            f["server_cpu_per_gbit"] = round(cpu / gbit, 3)
        f["rss_kib"] = window["steady_end"]["rss"]
        f["rss_kib_per_viewer"] = round((window["steady_end"]["rss"] - idle_rss) / n, 2)
    return f


# --------------------------------------------------------------------------- callgrind

def parse_callgrind(path, top=12):
    """Total Ir and self cost per function from a callgrind dump (name-compressed format)."""
    names = {}
    self_cost = {}
    total = 0
    fn = None
    skip_next = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("summary:"):
                total = int(line.split()[1])
                continue
            if line.startswith("fn="):
                m = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
                if m:
                    if m.group(2):
                        names[m.group(1)] = m.group(2)
                    fn = names.get(m.group(1), m.group(1))
                else:
                    fn = line[3:]
                continue
            if line.startswith(("cfn=", "cfi=", "cfl=", "cob=")):
                m = re.match(r"c(?:fn|fi|fl|ob)=\((\d+)\)(?: (.*))?", line)
                if m and m.group(2) and line.startswith("cfn="):
                    names[m.group(1)] = m.group(2)
                continue
            if line.startswith("calls="):
                skip_next = True
                continue
            if not line or not (line[0].isdigit() or line[0] in "+-*"):
                continue
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and fn is not None:
                try:
                    self_cost[fn] = self_cost.get(fn, 0) + int(parts[1])
                except ValueError:
                    pass
    ranked = sorted(self_cost.items(), key=lambda kv: -kv[1])[:top]
    return total, [(name, cost, cost / total if total else 0) for name, cost in ranked]


def callgrind_case(weir_bin, loadgen, clip, workdir, n, seconds, ramp):
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "callgrind.out"
    w = Weir(weir_bin, workdir, 1, valgrind_out=str(out) + ".%p")
    pub = None
    try:
        pub = start([str(loadgen), "--publish", "rtmp", "--url", w.publish_url(), "--file", str(clip), "--probe",
                     "--json"], "publisher", workdir)
        w.wait_stream()
        time.sleep(1)

        def on_window(e):
            cmd = ["callgrind_control", "-z" if e == "steady_start" else "-d", str(w.pid)]
            subprocess.run(cmd, capture_output=True, timeout=30)
        rep, win = run_loadgen(loadgen, "flv", w.urls()["flv"], n, ramp, seconds, 1, w.pid, workdir, "callgrind-flv",
                               on_window)
    finally:
        stop(pub, signal.SIGINT)
        w.stop()
    dumps = sorted(workdir.glob("callgrind.out.*.1"))
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    total, top = parse_callgrind(dumps[-1])
    mb = rep["steady"]["bytes"] / 1e6
    return {"viewers": n, "seconds": rep["steady"]["duration_s"], "delivered_mb": round(mb, 2),
            "instructions": total, "instructions_per_mb": round(total / mb) if mb else None,
            "connected": rep["connected"], "stalls": rep["stalls"],
            "top": [{"function": name, "ir": cost, "share": round(share, 4)} for name, cost, share in top]}


# --------------------------------------------------------------------------- static reference

def wrk_run(url, pid, seconds, connections):
    """wrk -t1 against url; the CPU time of process tree `pid` over the run.
    Returns requests, seconds, requests/s, non-2xx answers and cpu_s."""
    cpu0 = tree_cpu_s(pid)
    t0 = time.monotonic()
    r = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url], capture_output=True, text=True,
                       timeout=seconds + 60)
    dt = time.monotonic() - t0
    cpu = tree_cpu_s(pid) - cpu0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", r.stdout)
    if not m:
        raise RuntimeError(f"cannot read wrk output: {r.stdout}{r.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    requests = int(m.group(1))
    return {"requests": requests, "seconds": round(dt, 2), "connections": connections,
            "rps": round(requests / dt, 1), "non_2xx": int(bad.group(1)) if bad else 0, "cpu_s": round(cpu, 3),
            "wrk": r.stdout.strip()}


def static_reference(nginx, seconds, connections):
    f = nginx.workdir / "static" / "file2m.bin"
    size = 2 * 1024 * 1024
    if not f.exists():
        f.write_bytes(os.urandom(size))
    w = wrk_run(f"http://127.0.0.1:{nginx.http_port}/static/file2m.bin", nginx.pid, seconds, connections)
    gbit = w["requests"] * size * 8 / 1e9
    return {"requests": w["requests"], "seconds": w["seconds"], "connections": connections,
            "gbit_s": round(gbit / w["seconds"], 3), "nginx_cpu_s": w["cpu_s"],
            "cpu_per_gbit": round(w["cpu_s"] / gbit, 4) if gbit else None, "wrk": w["wrk"]}


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N=10, short cases, tiny callgrind run (for tests)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="markdown file to update")
    ap.add_argument("--json-out", default=None, help="raw results (default: build/bench/results.json)")
    ap.add_argument("--build-dir", default=str(ROOT / "build"))
    ap.add_argument("--n", default=None, help="comma-separated viewer counts (default 50,200,500,1000)")
    ap.add_argument("--steady", type=float, default=None, help="seconds of steady window per case (default 20)")
    ap.add_argument("--ramp", type=float, default=200, help="new players per second (default 200)")
    ap.add_argument("--workers", default="1,2", help="Weir worker counts (default 1,2)")
    ap.add_argument("--loadgen-loops", type=int, default=None, help="loadgen event loops (default 2; quick 1)")
    ap.add_argument("--no-nginx", action="store_true", help="skip nginx-rtmp (and the static reference)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--workdir", default=None, help="scratch dir (default: a new temp dir)")
    ap.add_argument("--render-only", metavar="RESULTS_JSON", default=None,
                    help="rewrite the markdown section from a saved results file, run nothing")
    args = ap.parse_args()
    if args.render_only:
        results = json.loads(Path(args.render_only).read_text())
        section = render(results)
        write_markdown(args.out, section)
        print(section)
        return

    build = Path(args.build_dir)
    weir_bin = build / "src" / "weir"
    loadgen = build / "tools" / "loadgen" / "loadgen"
    for b in (weir_bin, loadgen):
        if not b.is_file():
            sys.exit(f"{b} is missing: build it first (ninja -C {build} weir loadgen)")
    ns = [int(x) for x in (args.n or ("10" if args.quick else "50,200,500,1000")).split(",")]
    steady = args.steady if args.steady is not None else (2.0 if args.quick else 20.0)
    loops = args.loadgen_loops or (1 if args.quick else 2)
    workers = [int(x) for x in args.workers.split(",")]
    use_nginx = not args.no_nginx
    use_cg = not args.no_callgrind
    ensure_packages(use_cg)
    clip = build / "bench" / "clip.flv"
    make_clip(clip)
    clip_mbit = clip.stat().st_size * 8 / 60.0 / 1e6

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="weir-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"scratch dir {workdir}")
    results = {"command": "tools/bench/run.py" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:])),
               "machine": machine_info(), "versions": versions(weir_bin, loadgen),
               "build": build_info(weir_bin, loadgen), "ns": ns, "steady": steady,
               "ramp": args.ramp, "loadgen_loops": loops, "weir_workers": workers, "clip_mbit": clip_mbit,
               "cases": []}

    def run_cases(server, label, protocols, extra):
        pub = start([str(loadgen), "--publish", "rtmp", "--url", server.publish_url(), "--file", str(clip),
                     "--probe", "--json"], f"publisher-{label.replace(' ', '-')}-{protocols[0]}", workdir)
        try:
            server.wait_stream()
            time.sleep(1.0)
            urls = server.urls()
            for proto in protocols:
                if proto == "hls":
                    if isinstance(server, Nginx):
                        server.wait_hls()
                    else:
                        st = wait_hls_weir(urls["hls"])
                        if st != 200:
                            results["weir_hls_note"] = (f"skipped: GET /live/{STREAM}.m3u8 answered {st or 'nothing'}"
                                                        " (HLS is not in Weir yet)")
                            log(f"{label}: {results['weir_hls_note']}")
                            continue
                        # Players start three segments behind the edge: wait for a few.
                        wait_playlist(urls["hls"], 4, 30)
                elif proto == "llhls":
                    if wait_hls_weir(urls["llhls"]) != 200:
                        log(f"{label}: no LL-HLS playlist, skipped")
                        continue
                    wait_playlist(urls["llhls"], 3, 30)
                # Idle = this server with the stream published and no viewer
                # (HLS: with the packager running and segments made).
                time.sleep(1.0)
                idle_rss = tree_rss_kib(server.pid)
                for n in ns:
                    name = f"{label.replace(' ', '-')}-{proto}-{n}"
                    load = open("/proc/loadavg").read().split()[0]
                    log(f"{label} {proto} N={n} (load {load})")
                    rep, win = run_loadgen(loadgen, proto, urls[proto], n, args.ramp, steady, loops, server.pid,
                                           workdir, name)
                    fig = case_figures(rep, win, idle_rss, n)
                    case = {"server": server.kind, "label": label, "protocol": proto, "n": n, "load": load,
                            "fig": fig, "report": rep, "idle_rss_kib": idle_rss}
                    case.update(extra)
                    results["cases"].append(case)
                    log(f"  {fmt(fig['mbit_s'], 1)} Mbit/s, server {fmt(fig['server_cpu_per_gbit'], 3)} s/Gbit, "
                        f"loadgen {fmt(fig['loadgen_cpu_per_gbit'], 3)} s/Gbit, rss {fmt(fig['rss_kib_per_viewer'], 1)}"
                        f" KiB/viewer, ttfk {fmt(fig['ttfk_p50_ms'])}/{fmt(fig['ttfk_p99_ms'])} ms, stalls "
                        f"{fig['stalls']}, lat p99 {fmt(fig['lat_p99_ms'])} ms, connected {fig['connected']}/{n}")
                    time.sleep(2.0 if not args.quick else 0.5)
        finally:
            stop(pub, signal.SIGINT)

    def wait_playlist(url, segments, timeout):
        def ready():
            st, body = http_status(url)
            return st == 200 and body.count(b"#EXTINF") >= segments
        wait_for(ready, timeout, f"{segments} segments in {url}")

    def wait_hls_weir(url):
        # A Weir with HLS may need a few segments before the playlist exists.
        st = 0
        deadline = time.monotonic() + (2 if args.quick else 10)
        while True:
            st, _ = http_status(url)
            if st == 200 or time.monotonic() > deadline:
                return st
            time.sleep(0.4)

    # A fresh server and publisher for each protocol: the idle RSS is then clean
    # (no memory left over from other protocols' cases), and each HLS packager
    # starts right after its publish.
    try:
        for w in workers:
            for proto in ("rtmp", "flv", "hls", "llhls"):
                server = Weir(weir_bin, workdir / f"weir-w{w}-{proto}", w)
                try:
                    run_cases(server, f"weir w{w}", [proto], {"workers": w})
                finally:
                    rc = server.stop()
                    if rc not in (0, None):
                        log(f"weir w{w} exited with {rc}")
        if use_nginx:
            for proto in ("rtmp", "hls"):
                ng = Nginx(workdir / f"nginx-{proto}")
                try:
                    run_cases(ng, "nginx-rtmp", [proto], {"workers": None})
                    if proto == "hls":
                        log("static reference: nginx + wrk")
                        results["static"] = static_reference(ng, 2 if args.quick else 10, 8 if args.quick else 32)
                finally:
                    ng.stop()
        if use_cg:
            log("callgrind run")
            cg_n, cg_s = (3, 2.0) if args.quick else (20, 10.0)
            results["callgrind"] = callgrind_case(weir_bin, loadgen, clip, workdir / "callgrind", cg_n, cg_s, 50)
    finally:
        stop_all()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    section = render(results)
    json_out = Path(args.json_out) if args.json_out else build / "bench" / "results.json"
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results, indent=1))
    write_markdown(args.out, section)
    log(f"wrote {args.out} and {json_out}")
    print(section)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
