#!/usr/bin/env python3
"""Edge benchmark: Weir edge <- Weir origin against nginx-rtmp's `pull` relay
(an nginx-rtmp edge with `pull rtmp://origin/live;` in front of an
nginx-rtmp origin), in the same run, on the same stream (docs/benchmarks.md,
"Edge", has the results).

The stream: run.py's clip (build/bench/clip.flv: 60 s 1280x720@30 x264
veryfast ~2.5 Mb/s, GOP 2 s (-g 60), AAC 128k), pushed looped at real-time
pace by `loadgen --publish rtmp --probe`, one publisher per origin, both
origins live for the whole run (so the trials can alternate).

  1. Cold start: a fresh edge process (no stream pulled yet) is started; one
     player (`loadgen -n 1`) asks it for the stream; ttfk = the player's
     connect start -> its first video frame flagged as a keyframe, which
     includes the edge's pull from the origin. The edge is stopped after each
     trial. Trials alternate Weir RTMP, Weir HTTP-FLV, nginx-rtmp RTMP
     (nginx-rtmp has no HTTP-FLV), so load drift hits every server alike.
     p50/p99 over --trials per case; a trial without a keyframe within its
     --duration counts as failed (reported, not in the percentiles).
  2. Fan-out: N RTMP players (`loadgen --kind rtmp`) on the edge, and the
     same N on the origin directly, one after the other, each with a 20 s
     steady window: server CPU (utime + stime of the process tree, the edge's
     for the edge cases, the origin's for the direct ones) per Gbit the
     players received in the window; and the bytes the origin sent towards
     the edge in that window against the bytes the encoder pushed into the
     origin (Weir's /metrics: weir_viewer_bytes_out_total, the bytes queued
     to its players, the edge being its only one, against
     weir_stream_bytes_in_total of the stream; nginx-rtmp: the stream's
     bytes_out and bytes_in on its /stat page), at a small N and at N: one
     copy of the stream whatever N. Short windows (--quick) make this ratio
     noisy (a keyframe more or less on one side of the window's ends).

Usage (hold the build lock: no build may run during a measurement):
  flock /tmp/build.lock tools/bench/edge_bench.py [--trials 20] [--n 50,500] [--steady 20]
      [--only cold|fanout] [--previous RESULTS.json] [--no-nginx]
  tools/bench/edge_bench.py --quick --out /tmp/e.md     # 3 trials, N = 5, 2 s windows
--only runs one part (so the lock is held for a few minutes at a time) and
--previous merges an earlier results file's other part into the tables.
Writes BUILD_DIR/bench/edge_results.json and the section between the
edge-bench markers in docs/benchmarks.md. Needs build/src/weir,
build/tools/loadgen/loadgen, ffmpeg, nginx and libnginx-mod-rtmp. Python 3
stdlib only.
"""

import argparse
import json
import re
import shlex
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (processes, CPU sampling, clip, Weir and nginx-rtmp, loadgen)

START = "<!-- edge-bench:start -->"
END = "<!-- edge-bench:end -->"
STREAM = bench.STREAM


def api_json(base, path):
    with urllib.request.urlopen(f"http://{base}{path}", timeout=5) as r:
        return json.loads(r.read())


def pct(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q / 100.0 * len(v) + 0.5)) - 1))]


# --------------------------------------------------------------------------- servers

# Stopped with SIGTERM between trials: no drain (with a pull up and no viewer
# left, Weir's stop still waits shutdown.drain_ms, 10 s by default).
NO_DRAIN = "shutdown:\n  drain_ms: 0\n"


def weir_edge(weir_bin, workdir, origin):
    tmpl = f"rtmp://{origin.rtmp}/{{app}}/{{stream}}"
    return bench.Weir(weir_bin, workdir, 1, live_app='{upstream: {urls: ["%s"]}}' % tmpl, extra_yaml=NO_DRAIN)


def nginx_edge(workdir, origin):
    return bench.Nginx(workdir, app_body=f"      pull rtmp://127.0.0.1:{origin.rtmp_port}/live;\n")


def weir_upstream_counters(origin):
    """(bytes queued to the origin's players, media bytes its publisher sent, players of the stream), from
    Weir's /metrics (weir_viewer_bytes_out_total: the origin has this one stream)."""
    st, body = bench.http_status(f"http://{origin.http}/metrics")
    if st != 200:
        raise RuntimeError(f"weir /metrics answered {st}")
    labels = '{app="live",stream="%s"}' % STREAM

    def metric(name):
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", body.decode(), re.M)
        return int(float(m.group(1))) if m else 0
    return (metric("weir_viewer_bytes_out_total"), metric("weir_stream_bytes_in_total" + labels),
            metric("weir_stream_players" + labels))


def nginx_upstream_counters(origin):
    """The same from nginx-rtmp's /stat page: the stream's bytes_out and bytes_in, nclients less the publisher."""
    st, body = bench.http_status(f"http://127.0.0.1:{origin.http_port}/stat")
    if st != 200:
        raise RuntimeError(f"nginx /stat answered {st}")
    for block in re.findall(rb"<stream>(.*?)</stream>", body, re.S):
        if re.search(rb"<name>" + STREAM.encode() + rb"</name>", block):
            def num(tag):
                return int(re.search(rb"<" + tag + rb">(\d+)</" + tag + rb">", block).group(1))
            return num(b"bytes_out"), num(b"bytes_in"), num(b"nclients") - (1 if b"<publishing/>" in block else 0)
    raise RuntimeError("stream not on nginx's /stat page")


# --------------------------------------------------------------------------- cold start

def one_player(loadgen, kind, url, duration, workdir, name):
    """loadgen -n 1 for `duration` s: (ttfk ms or None, ttfb ms or None, report)."""
    rep, _ = bench.run_loadgen(loadgen, kind, url, 1, 100, duration - 1.0, 1, 0, workdir, name)
    k = rep["ttfk_ms"]["p50"] if rep["ttfk_ms"]["samples"] else None
    b = rep["ttfb_ms"]["p50"] if rep["ttfb_ms"]["samples"] else None
    return k, b, rep


def cold_start(a, weir_bin, loadgen, weir_origin, nginx_origin, workdir):
    cases = {"weir-rtmp": [], "weir-flv": []}
    if nginx_origin:
        cases["nginx-rtmp"] = []
    failed = {k: 0 for k in cases}
    for i in range(a.trials):
        for case in cases:
            d = workdir / f"cold-{case}-{i}"
            if case.startswith("weir"):
                edge = weir_edge(weir_bin, d, weir_origin)
                kind = case.split("-")[1]
                url = edge.urls()[kind]
                dur = a.weir_duration
            else:
                edge = nginx_edge(d, nginx_origin)
                kind, url, dur = "rtmp", edge.urls()["rtmp"], a.nginx_duration
            try:
                k, b, rep = one_player(loadgen, kind, url, dur, d, "player")
            finally:
                bench.stop(edge.proc, signal.SIGTERM, 10)  # nginx: fast stop (SIGQUIT waits for the relay)
            if k is None:
                failed[case] += 1
                bench.log(f"cold {case} #{i}: no keyframe within {dur} s ({rep.get('errors')})")
            else:
                cases[case].append({"ttfk_ms": k, "ttfb_ms": b})
        bench.log(f"cold trial {i + 1}/{a.trials}: " + ", ".join(
            f"{c} {v[-1]['ttfk_ms']:.1f} ms" if v else f"{c} -" for c, v in cases.items()))
    out = {}
    for case, samples in cases.items():
        ks = [s["ttfk_ms"] for s in samples]
        out[case] = {"trials": a.trials, "failed": failed[case], "samples": ks,
                     "p50": pct(ks, 50) if ks else None, "p99": pct(ks, 99) if ks else None,
                     "min": min(ks) if ks else None, "max": max(ks) if ks else None}
    return out


# --------------------------------------------------------------------------- fan-out

def fanout_case(a, loadgen, server, origin, counters, n, label, workdir):
    """N RTMP players on `server`; CPU of server's tree over the steady window;
    the origin's upstream counters sampled at the window's ends."""
    marks = {}

    def on_window(e):
        marks[e] = {"counters": counters(origin), "origin_cpu": bench.tree_cpu_s(origin.pid)}
    rep, win = bench.run_loadgen(loadgen, "rtmp", server.urls()["rtmp"], n, a.ramp, a.steady, a.loadgen_loops,
                                 server.pid, workdir, f"fanout-{label}-{n}", on_window)
    fig = bench.case_figures(rep, win, bench.tree_rss_kib(server.pid), n)
    res = {"label": label, "n": n, "fig": fig, "report": rep}
    if "steady_start" in marks and "steady_end" in marks:
        # Players counted at the window's start: at its end the loadgen may be closing them.
        (o0, i0, players), (o1, i1, _) = marks["steady_start"]["counters"], marks["steady_end"]["counters"]
        res["origin_out_bytes"] = o1 - o0
        res["origin_in_bytes"] = i1 - i0
        res["origin_players"] = players
        res["upstream_ratio"] = round((o1 - o0) / (i1 - i0), 4) if i1 > i0 else None
        res["origin_cpu_s"] = round(marks["steady_end"]["origin_cpu"] - marks["steady_start"]["origin_cpu"], 3)
    bench.log(f"fan-out {label} N={n}: {bench.fmt(fig['mbit_s'], 1)} Mbit/s, server "
              f"{bench.fmt(fig['server_cpu_per_gbit'], 3)} s/Gbit, connected {fig['connected']}/{n}, stalls "
              f"{fig['stalls']}, origin out/in {res.get('upstream_ratio')}, origin players {res.get('origin_players')}")
    return res


def fanout(a, weir_bin, loadgen, weir_origin, nginx_origin, workdir):
    cases = []
    ns = [int(x) for x in a.n.split(",")]
    servers = [("weir", weir_origin, weir_upstream_counters, lambda d: weir_edge(weir_bin, d, weir_origin))]
    if nginx_origin:
        servers.append(("nginx-rtmp", nginx_origin, nginx_upstream_counters, lambda d: nginx_edge(d, nginx_origin)))
    for name, origin, counters, make_edge in servers:
        edge = make_edge(workdir / f"fanout-{name}-edge")
        try:
            for n in ns:
                cases.append(fanout_case(a, loadgen, edge, origin, counters, n, f"{name} edge", workdir))
                time.sleep(1.0)
        finally:
            bench.stop(edge.proc, signal.SIGTERM, 10)
        cases.append(fanout_case(a, loadgen, origin, origin, counters, ns[-1], f"{name} origin", workdir))
        time.sleep(1.0)
    return cases


# --------------------------------------------------------------------------- report

def render(r):
    m = r["machine"]
    cmds = list(dict.fromkeys(r["commands"][k] for k in ("cold", "fanout") if k in r["commands"]))
    lines = [f"Generated {m['date']} by (Weir and nginx-rtmp in the same run):", "", "```sh"] + cmds + ["```", ""]
    b = r["build"]
    lines.append(f"Source: git {b['head']}{' (dirty)' if b['dirty'] else ''}; weir built {b['weir_built']}.")
    lines.append("")
    lines.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Linux {m['kernel']}; load average at start "
                 f"{' '.join(m['loadavg_start'])}. Versions: {r['versions']['weir']}; {r['versions']['nginx']} with "
                 f"libnginx-mod-rtmp {r['versions']['nginx-rtmp']}. Stream: the bench clip ({r['clip_mbit']:.2f} Mb/s, "
                 "H.264 1280x720@30 with a 2 s GOP, AAC 128k), pushed looped by `loadgen --publish rtmp --probe` "
                 "to each origin. Weir runs `workers: 1` (origin and edge), nginx-rtmp one worker (origin and edge).")
    lines.append("")
    cold = r.get("cold")
    if cold:
        lines += ["**Cold start** (a fresh edge process per trial, one player: connect start -> first video "
                  "keyframe, the edge's pull from the origin included):", "",
                  "| edge <- origin | player | trials | failed | ttfk p50 ms | ttfk p99 ms | min / max ms |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        names = {"weir-rtmp": ("Weir <- Weir", "RTMP"), "weir-flv": ("Weir <- Weir", "HTTP-FLV"),
                 "nginx-rtmp": ("nginx-rtmp pull <- nginx-rtmp", "RTMP")}
        for case, c in cold.items():
            who, proto = names[case]
            lines.append(f"| {who} | {proto} | {c['trials']} | {c['failed']} | {bench.fmt(c['p50'])} | "
                         f"{bench.fmt(c['p99'])} | {bench.fmt(c['min'])} / {bench.fmt(c['max'])} |")
        if "nginx-rtmp" in cold and cold["nginx-rtmp"]["p50"] and cold["weir-rtmp"]["p50"]:
            w, ng = cold["weir-rtmp"], cold["nginx-rtmp"]
            lines += ["", f"Weir ÷ nginx-rtmp (RTMP): p50 {w['p50'] / ng['p50']:.3f}, p99 {w['p99'] / ng['p99']:.3f}."]
        lines.append("")
    fo = r.get("fanout")
    if fo:
        lines += [f"**Fan-out** ({fo['steady']} s steady window per case, RTMP players at {fo['ramp']}/s; server CPU = "
                  "the edge's process tree for edge cases, the origin's for origin cases; upstream = bytes the origin "
                  "sent to its players ÷ bytes the encoder pushed, same window):", "",
                  "| server | N | connected | Mbit/s | server CPU s/Gbit | stalls | ttfk p50 / p99 ms | "
                  "origin players | upstream ÷ ingest | origin CPU s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in fo["cases"]:
            f = c["fig"]
            lines.append(f"| {c['label']} | {c['n']} | {f['connected']}/{c['n']} | {bench.fmt(f['mbit_s'], 1)} | "
                         f"{bench.fmt(f['server_cpu_per_gbit'], 3)} | {f['stalls']} | {bench.fmt(f['ttfk_p50_ms'])} / "
                         f"{bench.fmt(f['ttfk_p99_ms'])} | {c.get('origin_players', '?')} | "
                         f"{bench.fmt(c.get('upstream_ratio'), 3)} | {bench.fmt(c.get('origin_cpu_s'), 2)} |")
        by = {(c["label"], c["n"]): c for c in fo["cases"]}
        n = max(c["n"] for c in fo["cases"])
        ratios = []
        for srv in ("weir", "nginx-rtmp"):
            e, o = by.get((f"{srv} edge", n)), by.get((f"{srv} origin", n))
            if e and o and e["fig"]["server_cpu_per_gbit"] and o["fig"]["server_cpu_per_gbit"]:
                ratios.append(f"{srv} edge ÷ {srv} origin at N = {n}: "
                              f"{e['fig']['server_cpu_per_gbit'] / o['fig']['server_cpu_per_gbit']:.2f}")
        we, ne = by.get(("weir edge", n)), by.get(("nginx-rtmp edge", n))
        if we and ne and we["fig"]["server_cpu_per_gbit"] and ne["fig"]["server_cpu_per_gbit"]:
            ratios.append(f"Weir edge ÷ nginx-rtmp edge at N = {n}: "
                          f"{we['fig']['server_cpu_per_gbit'] / ne['fig']['server_cpu_per_gbit']:.2f}")
        if ratios:
            lines += ["", "CPU per Gbit: " + "; ".join(ratios) + "."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20, help="cold-start trials per case")
    ap.add_argument("--weir-duration", type=float, default=2.5, help="s a cold-start player runs on a Weir edge")
    ap.add_argument("--nginx-duration", type=float, default=4.5, help="s on an nginx-rtmp edge (2 s GOP)")
    ap.add_argument("--n", default="50,500", help="fan-out viewer counts on the edge; the last also on the origin")
    ap.add_argument("--steady", type=float, default=20.0)
    ap.add_argument("--ramp", type=float, default=200)
    ap.add_argument("--loadgen-loops", type=int, default=2)
    ap.add_argument("--only", choices=("cold", "fanout"), default=None)
    ap.add_argument("--previous", default=None, help="an earlier results file whose other part is kept")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 trials, N = 5, 2 s windows (a smoke run)")
    ap.add_argument("--build-dir", default=str(bench.ROOT / "build"))
    ap.add_argument("--out", default=str(bench.ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json-out", default=None, help="default: BUILD_DIR/bench/edge_results.json")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    if a.quick:
        a.trials, a.n, a.steady, a.loadgen_loops = 3, "2,5", 2.0, 1
    build = Path(a.build_dir)
    weir_bin, loadgen = build / "src" / "weir", build / "tools" / "loadgen" / "loadgen"
    for b in (weir_bin, loadgen):
        if not b.is_file():
            sys.exit(f"{b} is missing: build it first (ninja -C {build} weir loadgen)")
    bench.ensure_packages(False)
    clip = build / "bench" / "clip.flv"
    bench.make_clip(clip)
    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="weir-edge-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench.log(f"scratch dir {workdir}")
    r = json.loads(Path(a.previous).read_text()) if a.previous else {}
    command = "tools/bench/edge_bench.py" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:]))
    r.update({"machine": bench.machine_info(), "versions": bench.versions(weir_bin, loadgen),
              "build": bench.build_info(weir_bin, loadgen), "clip_mbit": clip.stat().st_size * 8 / 60.0 / 1e6})
    r.setdefault("commands", {})
    pubs = []
    try:
        weir_origin = bench.Weir(weir_bin, workdir / "weir-origin", 1, extra_yaml=NO_DRAIN)
        pubs.append(bench.start([str(loadgen), "--publish", "rtmp", "--url", weir_origin.publish_url(), "--file",
                                 str(clip), "--probe", "--json"], "publisher-weir", workdir))
        nginx_origin = None
        if not a.no_nginx:
            nginx_origin = bench.Nginx(workdir / "nginx-origin", app_body="")
            pubs.append(bench.start([str(loadgen), "--publish", "rtmp", "--url", nginx_origin.publish_url(), "--file",
                                     str(clip), "--probe", "--json"], "publisher-nginx", workdir))
            bench.wait_for(lambda: STREAM in nginx_origin.publishing(), 20, "the stream on nginx-rtmp")
        weir_origin.wait_stream()
        time.sleep(2.5)  # a whole GOP in each origin's memory
        if a.only in (None, "cold"):
            r["commands"]["cold"] = command
            r["cold"] = cold_start(a, weir_bin, loadgen, weir_origin, nginx_origin, workdir)
        if a.only in (None, "fanout"):
            r["commands"]["fanout"] = command
            r["fanout"] = {"steady": a.steady, "ramp": a.ramp,
                           "cases": fanout(a, weir_bin, loadgen, weir_origin, nginx_origin, workdir)}
    finally:
        for p in pubs:
            bench.stop(p, signal.SIGINT)
        bench.stop_all()
    bench.save_results(r, a.json_out or build / "bench" / "edge_results.json", a.out, render(r), START, END, bench.log)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        bench.stop_all()
        sys.exit(130)
