"""The load generator (tools/loadgen) and the benchmark script (tools/bench)
run end to end against a real Weir.

loadgen is found next to the weir binary (WEIR_BIN's build dir:
tools/loadgen/loadgen) or at LOADGEN_BIN.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weirtest import media
from weirtest.server import wait_until

PROBE_UUID = b"WEIRLATENCYPROBE"


@pytest.fixture(scope="session")
def loadgen_bin(weir_bin):
    p = Path(os.environ.get("LOADGEN_BIN") or Path(weir_bin).parents[1] / "tools" / "loadgen" / "loadgen")
    if not p.is_file():
        pytest.fail(f"loadgen binary not found at {p} (build the loadgen target or set LOADGEN_BIN)")
    return p


def make_clip(path, seconds=4, fmt="flv", size="320x240", fps=25, gop=25):
    """A short test-pattern clip (x264 + AAC) in FLV or MPEG-TS, encoded as fast as possible."""
    args = [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(gop),
            "-keyint_min", str(gop), "-sc_threshold", "0", "-b:v", "400k",
            "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2", "-f", fmt, str(path)]
    r = media.run(args, timeout=120)
    assert r.returncode == 0, r.stderr
    return path


def start_loadgen(loadgen_bin, args, logdir, name):
    return media.Proc([str(loadgen_bin)] + [str(a) for a in args], logdir, name, stdout=subprocess.PIPE)


def finish_loadgen(proc, timeout=60):
    """Waits for a loadgen run; returns (exit code, parsed JSON report)."""
    out, _ = proc.p.communicate(timeout=timeout)
    proc._log.close()
    lines = [x for x in out.decode(errors="replace").splitlines() if x.startswith("{")]
    assert lines, f"{proc.name}: no JSON report (rc {proc.p.returncode}); stderr:\n{proc.log()[-3000:]}"
    return proc.p.returncode, json.loads(lines[-1])


def players(loadgen_bin, kind, url, n, duration, logdir, name, extra=()):
    return start_loadgen(loadgen_bin, ["--kind", kind, "--url", url, "-n", n, "--ramp", 100, "--duration", duration,
                                       "--json"] + list(extra), logdir, name)


def assert_healthy(rep, n, what, ratio_tolerance=0.05):
    assert rep["connected"] == n, f"{what}: {rep['connected']}/{n} connected; errors {rep['errors']}"
    assert rep["failed"] == 0, f"{what}: {rep['failed']} failed: {rep['errors']}"
    assert rep["bytes"] > 0, what
    assert rep["ttfk_ms"]["samples"] == n, f"{what}: ttfk for {rep['ttfk_ms']['samples']}/{n} players"
    assert 0 < rep["ttfk_ms"]["p50"] <= rep["ttfk_ms"]["p99"], rep["ttfk_ms"]
    assert rep["ttfb_ms"]["p50"] <= rep["ttfk_ms"]["p50"], (rep["ttfb_ms"], rep["ttfk_ms"])
    assert rep["stalls"] == 0, f"{what}: {rep['stalls']} stalls"
    ratio = rep["media_time_ratio"]
    assert ratio["samples"] == n, f"{what}: media-time ratio for {ratio['samples']}/{n} players"
    assert abs(ratio["mean"] - 1) <= ratio_tolerance and ratio["min"] >= 1 - 2 * ratio_tolerance, \
        f"{what}: media-time ratio {ratio}"
    assert rep["cpu_user_s"] + rep["cpu_sys_s"] > 0, rep
    for key in ("kind", "url", "n", "duration_s", "mbit_s", "latency_ms"):
        assert key in rep, key


def test_loadgen_players_against_weir(weir, tmp_path, loadgen_bin):
    s = weir()
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=12.0, gop=25)
    s.wait_stream(pred=lambda i: i["video_frames"] > 30, timeout=20, what="1 s of video")
    runs = {
        "flv": (players(loadgen_bin, "flv", s.flv_url(), 5, 4, tmp_path, "lg-flv"), 5),
        "rtmp": (players(loadgen_bin, "rtmp", s.rtmp_url(), 5, 4, tmp_path, "lg-rtmp"), 5),
        "wsflv": (players(loadgen_bin, "wsflv", "ws://%s:%d/live/s.flv" % s.http_addr, 2, 4, tmp_path, "lg-ws"), 2),
    }
    for kind, (proc, n) in runs.items():
        rc, rep = finish_loadgen(proc)
        assert rc == 0, f"{kind}: exit {rc}; {rep}"
        assert rep["kind"] == kind and rep["n"] == n
        assert_healthy(rep, n, kind)
        # Bytes at least ~2.5 s of a 500 kb/s stream per player.
        assert rep["bytes"] >= n * 500_000 / 8 * 2.5, f"{kind}: only {rep['bytes']} bytes"
        # Without probe SEI in the stream there are no latency samples.
        assert rep["latency_ms"]["samples"] == 0, rep["latency_ms"]
    assert pub.wait(30) == 0, pub.log()


def test_probe_publisher_and_latency(weir, tmp_path, loadgen_bin):
    s = weir()
    clip = make_clip(tmp_path / "clip.flv", seconds=3)
    pub = start_loadgen(loadgen_bin, ["--publish", "rtmp", "--url", s.rtmp_url(), "--file", clip, "--probe",
                                      "--duration", 9, "--json"], tmp_path, "lg-pub")
    s.wait_stream(pred=lambda i: i["video_frames"] > 25, timeout=20, what="1 s of video")
    flv = players(loadgen_bin, "flv", s.flv_url(), 3, 5, tmp_path, "lg-flv")
    rtmp = players(loadgen_bin, "rtmp", s.rtmp_url(), 3, 5, tmp_path, "lg-rtmp")
    for kind, proc in (("flv", flv), ("rtmp", rtmp)):
        rc, rep = finish_loadgen(proc)
        assert rc == 0, rep
        assert_healthy(rep, 3, kind)
        lat = rep["latency_ms"]
        # ~4 s of steady window x 25 frames/s x 3 players.
        assert lat["samples"] >= 3 * 25 * 3, lat
        assert 0 <= lat["p50"] <= lat["p99"] <= lat["max"], lat
        assert lat["p99"] < 500, f"{kind}: latency {lat} on an idle loopback server"
    rc, prep = finish_loadgen(pub, timeout=30)
    assert rc == 0, prep
    assert prep["published"] and prep["error"] == "", prep
    # The 3 s clip looped twice or more (rebased timestamps: the players'
    # media-time ratio above stayed ~1 across the loop points), and every
    # video frame carried a probe.
    assert prep["loops"] >= 2, prep
    assert prep["probes"] == prep["video_frames"] > 150, prep


def test_hls_and_llhls_players(weir, tmp_path, loadgen_bin):
    s = weir()
    clip = make_clip(tmp_path / "clip.flv", seconds=4)
    pub = start_loadgen(loadgen_bin, ["--publish", "rtmp", "--url", s.rtmp_url(), "--file", clip, "--probe",
                                      "--duration", 30, "--json"], tmp_path, "lg-pub")
    s.wait_stream(timeout=20)

    def segments(path):
        r = s.get(path, timeout=5)
        return r.status == 200 and r.body.count(b"#EXTINF") >= 4
    wait_until(lambda: segments("/live/s.m3u8") and segments("/live/s/llhls.m3u8"), 25, "4 HLS segments")
    hls = players(loadgen_bin, "hls", s.http_url("/live/s.m3u8"), 3, 9, tmp_path, "lg-hls")
    ll = players(loadgen_bin, "llhls", s.http_url("/live/s/llhls.m3u8"), 3, 9, tmp_path, "lg-llhls")
    for kind, proc in (("hls", hls), ("llhls", ll)):
        rc, rep = finish_loadgen(proc)
        assert rc == 0, rep
        # Segments (parts) arrive whole, found by polling every target/2, so
        # the ratio over a ~8 s window is only good to about one poll interval.
        assert_healthy(rep, 3, kind, ratio_tolerance=0.4 if kind == "hls" else 0.15)
        assert rep["skips"] == 0, rep
        assert rep["latency_ms"]["samples"] > 0, f"{kind}: no probe SEI seen in segments/parts: {rep}"
    pub.stop()


def test_usage_errors_and_nothing_connected(tmp_path, loadgen_bin):
    def run(*args):
        return media.run([str(loadgen_bin)] + [str(a) for a in args], timeout=30)
    r = run("--kind", "flv", "--url", "http://10.1.2.3:8080/live/s.flv", "-n", 1)
    assert r.returncode == 2 and "loopback" in r.stderr, r.stderr
    r = run("--kind", "mp4", "--url", "http://127.0.0.1:1/live/s.flv", "-n", 1)
    assert r.returncode == 2 and "--kind" in r.stderr, r.stderr
    r = run("--kind", "rtmp", "--url", "http://127.0.0.1:1/live/s", "-n", 1)
    assert r.returncode == 2 and "rtmp://" in r.stderr, r.stderr
    r = run("--kind", "flv", "--url", "http://127.0.0.1:1/live/s.flv", "-n", 0)
    assert r.returncode == 2, r.stderr
    r = run("--publish", "rtmp", "--url", "rtmp://127.0.0.1:1/live/s")
    assert r.returncode == 2 and "--file" in r.stderr, r.stderr
    # A port nobody listens on: every player fails, exit 1, and the report says why.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = run("--kind", "flv", "--url", f"http://127.0.0.1:{port}/live/s.flv", "-n", 3, "--duration", 1, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["connected"] == 0 and rep["failed"] == 3, rep
    assert any("connect" in k for k in rep["errors"]), rep["errors"]


@pytest.mark.skipif(not shutil.which("srt-live-transmit"), reason="srt-live-transmit (srt-tools) not installed")
def test_srt_publisher_to_srt_live_transmit(tmp_path, loadgen_bin):
    clip = make_clip(tmp_path / "clip.ts", seconds=2, fmt="mpegts")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "received.ts"
    with open(out, "wb") as f:
        rx = subprocess.Popen(["srt-live-transmit", "-q", f"srt://127.0.0.1:{port}?mode=listener", "file://con"],
                              stdout=f, stderr=subprocess.PIPE)
        try:
            time.sleep(0.5)
            pub = start_loadgen(loadgen_bin, ["--publish", "srt", "--url", f"srt://127.0.0.1:{port}?streamid=live/s",
                                              "--file", clip, "--probe", "--duration", 5, "--json"], tmp_path, "lg-srt")
            rc, rep = finish_loadgen(pub, timeout=30)
            time.sleep(0.5)
        finally:
            rx.terminate()
            rx.wait(5)
    assert rc == 0, rep
    assert rep["published"] and rep["loops"] >= 1 and rep["probes"] > 50, rep
    data = out.read_bytes()
    assert len(data) > 100_000 and len(data) % 188 == 0, len(data)
    assert data.count(PROBE_UUID) >= 50, "probe SEI missing from the received transport stream"
    # The received stream decodes, and timestamps keep going across the loop
    # (5 s of media from a 2 s clip).
    pk = media.packets(out)
    video = [p for p in pk if p["type"] == "video" and p["dts"] is not None]
    assert len(video) > 100, len(video)
    dts = [p["dts"] for p in video]
    assert all(b > a for a, b in zip(dts, dts[1:])), "video DTS not increasing across loops"
    assert dts[-1] - dts[0] > 3.5, (dts[0], dts[-1])
    rc, err = media.decode_errors(out, fmt="mpegts")
    assert rc == 0, err[-2000:]


def test_srt_publisher_into_weir(weir, tmp_path, loadgen_bin):
    s = weir(env={"WEIR_SRT_LISTEN": "127.0.0.1:0"})
    if "srt" not in s.info:
        pytest.skip("this weir has no SRT listener")
    clip = make_clip(tmp_path / "clip.ts", seconds=3, fmt="mpegts")
    url = f"srt://{s.info['srt']}?streamid=%23!::r=live/s,m=publish"
    pub = start_loadgen(loadgen_bin, ["--publish", "srt", "--url", url, "--file", clip, "--probe", "--duration", 10,
                                      "--json"], tmp_path, "lg-srt")
    s.wait_stream(pred=lambda i: i["video_frames"] > 25, timeout=20, what="1 s of video over SRT")
    rc, rep = finish_loadgen(players(loadgen_bin, "flv", s.flv_url(), 3, 5, tmp_path, "lg-flv"))
    assert rc == 0, rep
    assert_healthy(rep, 3, "flv from srt")
    # SRT's receive latency (120 ms by default) is part of this figure.
    assert rep["latency_ms"]["samples"] > 100 and rep["latency_ms"]["p50"] < 1000, rep["latency_ms"]
    rc, prep = finish_loadgen(pub, timeout=30)
    assert rc == 0 and prep["published"] and prep["loops"] >= 2, prep


def bench_tools_missing():
    need = ["nginx", "wrk", "valgrind", "callgrind_control"]
    missing = [t for t in need if not shutil.which(t)]
    if not Path("/usr/lib/nginx/modules/ngx_rtmp_module.so").exists():
        missing.append("libnginx-mod-rtmp")
    return missing


def run_quick_bench(script, tmp_path, source_dir, weir_bin, notes, extra=(), timeout=900):
    """Runs tools/bench/SCRIPT --quick into a markdown file that starts with
    `notes`; returns (markdown text, raw results). The notes must survive."""
    out = tmp_path / f"{script}.md"
    out.write_text(notes)
    raw = tmp_path / f"{script}.json"
    build_dir = Path(weir_bin).parents[1]
    r = subprocess.run([sys.executable, str(Path(source_dir) / "tools" / "bench" / script), "--quick",
                        "--out", str(out), "--json-out", str(raw), "--build-dir", str(build_dir), *extra],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{script} failed ({r.returncode}):\n{r.stderr[-4000:]}"
    text = out.read_text()
    assert text.startswith(notes), text[:300]
    return text, json.loads(raw.read_text())


@pytest.mark.skipif(bool(bench_tools_missing()), reason=f"bench tools missing: {bench_tools_missing()}")
def test_bench_quick_writes_a_table(tmp_path, source_dir, weir_bin, loadgen_bin):
    text, res = run_quick_bench("run.py", tmp_path, source_dir, weir_bin, "# Hand-written notes\n\nkept as they are\n",
                                extra=("--workdir", str(tmp_path / "work")))
    assert "<!-- BEGIN GENERATED" in text and "<!-- END GENERATED" in text
    cases = {(c["label"], c["protocol"]): c for c in res["cases"]}
    for key in [("weir w1", "rtmp"), ("weir w1", "flv"), ("weir w2", "rtmp"), ("weir w2", "flv"),
                ("nginx-rtmp", "rtmp"), ("nginx-rtmp", "hls")]:
        assert key in cases, f"case {key} missing: {sorted(cases)}"
        c = cases[key]
        assert c["n"] == 10 and c["fig"]["connected"] == 10, c["fig"]
        assert c["fig"]["mbit_s"] > 10, c["fig"]
        row = f"| {key[0]} | {key[1]} | 10 |"
        assert row in text, f"no table row {row!r}"
    assert res["static"]["cpu_per_gbit"] is not None and res["static"]["gbit_s"] > 0, res["static"]
    assert res["callgrind"]["instructions_per_mb"] > 0, res["callgrind"]
    assert "Targets" in text and "Machine:" in text and "--quick" in text
    # Exactly one generated section, after the hand-written notes.
    assert text.count("<!-- BEGIN GENERATED") == 1


@pytest.mark.skipif(bool(bench_tools_missing()), reason=f"bench tools missing: {bench_tools_missing()}")
def test_hls_bench_quick_writes_a_table(tmp_path, source_dir, weir_bin, loadgen_bin):
    text, res = run_quick_bench("hls_bench.py", tmp_path, source_dir, weir_bin, "# Notes\n\nkept\n", timeout=600)
    assert "<!-- hls-bench:start -->" in text, text[:300]
    # Parts every 500 ms over 6 s; each listed well within a second of its last frame.
    assert res["ll_part"]["n"] >= 5 and 0 < res["ll_part"]["p50"] < 1000, res["ll_part"]
    assert res["ts_segment"]["n"] >= 1 and 0 < res["ts_segment"]["p50"] < 1000, res["ts_segment"]
    for key in ("wrk_ts", "wrk_fmp4"):
        for srv in ("weir", "nginx"):
            w = res[key][srv]
            assert w["requests"] > 10 and w["non_2xx"] == 0, (key, srv, w)
        assert f"| {'MPEG-TS' if key == 'wrk_ts' else 'fMP4'} | {res[key]['bytes']} | Weir" in text


@pytest.mark.skipif(bool(bench_tools_missing()), reason=f"bench tools missing: {bench_tools_missing()}")
def test_record_cost_quick_checks_the_recordings(tmp_path, source_dir, weir_bin, loadgen_bin):
    text, res = run_quick_bench("record_cost.py", tmp_path, source_dir, weir_bin, "# Notes\n\nkept\n", timeout=600)
    assert "<!-- record-cost:start -->" in text and text.count("<!-- record-cost:start -->") == 1
    phases = {p["label"]: p for p in res["phases"]}
    assert sorted(phases) == ["nginx-off", "nginx-on", "weir-off", "weir-on"], sorted(phases)
    for label, p in phases.items():
        # Every viewer played; the probes came through; every publisher published.
        assert p["viewers"] == 3 * 2 and p["viewer_failed"] == 0, (label, p)
        assert p["lat_samples"] > 100 and p["published"] == 3, (label, p)
        assert p["cpu_s"] > 0 and p["rss_mib"] > 1, (label, p)
        assert f"| {label} | 6 {p['viewer_kind']} |" in text, label
        if p["record"]:
            # Each stream's recording grew in the window at about the ingest rate.
            assert p["rec_streams_grown"] == 3, (label, p)
            assert 0.5 * p["ingest_mbit_s"] / 8 < p["rec_mb_s"] < 1.5 * p["ingest_mbit_s"] / 8, (label, p)
        else:
            assert p["rec_mb_s"] == 0 and p["rec_streams_grown"] == 0, (label, p)
    on = phases["weir-on"]
    assert on["recordings"] == 3 and on["recording_gaps"] == 0, on
    assert on["merge"]["ready"] == 3 and not on["merge"]["failed"], on["merge"]
    assert "weir-store" in on["threads_pct"], on["threads_pct"]
    assert phases["nginx-on"]["rec_files"] == 3, phases["nginx-on"]
    assert "Recording on minus off" in text and "--quick" in text


@pytest.mark.skipif(bool(bench_tools_missing()), reason=f"bench tools missing: {bench_tools_missing()}")
def test_edge_bench_quick_measures_cold_start_and_one_upstream(tmp_path, source_dir, weir_bin, loadgen_bin):
    text, res = run_quick_bench("edge_bench.py", tmp_path, source_dir, weir_bin, "# Notes\n\nkept\n",
                                extra=("--workdir", str(tmp_path / "work")), timeout=600)
    assert text.count("<!-- edge-bench:start -->") == 1 and "--quick" in text
    assert sorted(res["cold"]) == ["nginx-rtmp", "weir-flv", "weir-rtmp"], sorted(res["cold"])
    for case, c in res["cold"].items():
        # Every trial got a keyframe; a cold start is more than a loopback connect and less than the run.
        assert c["trials"] == 3 and c["failed"] == 0 and len(c["samples"]) == 3, (case, c)
        assert 0 < c["p50"] <= c["p99"] < 4500, (case, c)
    assert "| Weir <- Weir | HTTP-FLV | 3 | 0 |" in text
    cases = {(c["label"], c["n"]): c for c in res["fanout"]["cases"]}
    assert sorted(cases) == sorted([("weir edge", 2), ("weir edge", 5), ("weir origin", 5), ("nginx-rtmp edge", 2),
                                    ("nginx-rtmp edge", 5), ("nginx-rtmp origin", 5)]), sorted(cases)
    for (label, n), c in cases.items():
        assert c["fig"]["connected"] == n and c["fig"]["mbit_s"] > 1 and c["fig"]["server_cpu_s"] is not None, c
        if label.endswith("edge"):
            # The origin serves the edge only, one copy of the stream whatever N.
            assert c["origin_players"] == 1, c
            # Weir counts queued media bytes (steady); nginx-rtmp's /stat moves in bursts a 2 s window cuts.
            lo, hi = (0.9, 1.1) if label.startswith("weir") else (0.5, 1.5)
            assert lo < c["upstream_ratio"] < hi, c
        else:
            assert c["origin_players"] == n, c


def ladder_tools_missing():
    if not shutil.which("ffmpeg"):
        return ["ffmpeg"]
    r = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return [] if "libx264" in r.stdout else ["ffmpeg with libx264"]


@pytest.mark.skipif(bool(ladder_tools_missing()), reason=f"ladder bench tools missing: {ladder_tools_missing()}")
def test_transcode_ladder_quick_measures_latency_and_capacity(tmp_path, source_dir, weir_bin):
    text, res = run_quick_bench("transcode_ladder.py", tmp_path, source_dir, weir_bin, "# Notes\n\nkept\n",
                                extra=("--workdir", str(tmp_path / "work")), timeout=300)
    assert text.count("<!-- transcode-ladder:start -->") == 1 and "--quick" in text
    assert "cpu" not in res  # --quick leaves the separate CPU part out; capacity N = 1 measures both sides
    lat = res["latency"]
    for who in ("weir", "ffmpeg"):
        for name, x in lat[who]["renditions"].items():
            # Every source frame of the window came out of every rendition with its pts, after it went in
            # (x264's lookahead holds ~16 frames) and within a few seconds.
            assert x["frames"] >= 60 and x["matched"] >= 0.95 * x["frames"], (who, name, x)
            assert 0 < x["p50"] <= x["p99"] < 5000, (who, name, x)
    relay = lat["relay"]
    assert relay["matched"] >= 0.95 * relay["frames"] and 0 < relay["p50"] < lat["ffmpeg"]["p50"], relay
    assert lat["weir_dropped"] == 0, lat
    cap = res["capacity"]
    for kind in ("weir", "ffmpeg"):
        (st,) = cap[kind]["steps"]
        assert st["n"] == 1 and st["window"] > 2, st
        # The renditions' frame counts moved with the source's (the check itself is what --quick smokes).
        assert st["min_source_fps"] > 20 and st["min_rendition_fps"] > 20, st
        assert sorted(st["detail"][0]["outputs"]) == ["c0_360p", "c0_480p", "c0_720p"], st
        assert 0 < st["max_lag_ms"] < 5000, st
    # Three encoders at 720p/480p/360p cost something and fit the machine; Weir dropped nothing.
    assert 0.05 < cap["weir"]["steps"][0]["weir_cpu"] < os.cpu_count() + 0.5, cap["weir"]
    assert 0.05 < cap["ffmpeg"]["steps"][0]["ladders_cpu"] < os.cpu_count() + 0.5, cap["ffmpeg"]
    assert cap["weir"]["steps"][0]["dropped"] == 0
    # Weir's own latency histogram saw the rendition frames of the window.
    ip = lat["weir_in_process"]
    assert ip["samples"] >= 3 * 60 and 0 < ip["mean"] < 5000 and ip["p50_le"] <= ip["p99_le"], ip
    # Without --watermark-app / --mix-body the added-CPU rows say so (the full run measures them).
    assert "not_measured" in res["extras"]["watermark"] and "not_measured" in res["extras"]["mixer"]
    assert "| Weir | 720p |" in text and "| ffmpeg | 1 |" in text and "**Added CPU**" in text
    assert "not measured (run with --watermark-app)" in text and "not measured (run with --mix-body)" in text
