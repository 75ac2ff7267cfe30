"""hls.js (npm, tests/browser) in headless Chromium plays Weir's LL-HLS and
MPEG-TS playlists. The page comes from a Python server on another port, so
the media requests are cross-origin (CORS); it POSTs what the player sees
(currentTime, hls.latency, hls.targetLatency, buffered ranges, errors) back
to that server twice a second.

Needs the Debian `chromium` package and Node's npm: `npm ci` runs in
tests/browser when tests/browser/node_modules is missing."""

import json
import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from weirtest import hls, media, npm

FPS = 25
BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
HLS_JS = BROWSER_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>weir hls.js test</title></head>
<body>
<video id="v" muted autoplay playsinline></video>
<script src="hls.min.js"></script>
<script>
const params = new URLSearchParams(location.search);
const src = params.get("src");
const low = params.get("ll") === "1";
const v = document.getElementById("v");
const errors = [];
const frags = [];   // buffered fragments/parts, oldest first (the first 40)
let tracks = {};    // per-SourceBuffer buffered ranges after the last append
let fatal = null;
let hls = null;
window.onerror = (m) => { errors.push({details: "js: " + m}); };
function report(extra) {
  const buf = [];
  for (let i = 0; i < v.buffered.length; i++) buf.push([v.buffered.start(i), v.buffered.end(i)]);
  const body = Object.assign({
    now: Date.now(), currentTime: v.currentTime, paused: v.paused, readyState: v.readyState,
    latency: hls ? hls.latency : null, targetLatency: hls ? hls.targetLatency : null,
    playingDate: hls && hls.playingDate ? hls.playingDate.getTime() : null,
    buffered: buf, errors: errors.slice(-20), fatal: fatal, frags: frags, tracks: tracks,
  }, extra || {});
  fetch("/report", {method: "POST", body: JSON.stringify(body)}).catch(() => {});
}
if (!Hls.isSupported()) {
  report({unsupported: true,
          avc: window.MediaSource ? MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"') : null});
} else {
  // maxLiveSyncPlaybackRate: play up to 1.5x to get back to the target
  // latency after a stall or a slow start (hls.js never speeds up by default).
  hls = new Hls({lowLatencyMode: low, maxLiveSyncPlaybackRate: Number(params.get("sync") || 1)});
  hls.on(Hls.Events.ERROR, (e, d) => {
    errors.push({type: d.type, details: d.details, fatal: d.fatal});
    if (d.fatal) fatal = d.type + "/" + d.details;
  });
  hls.on(Hls.Events.FRAG_BUFFERED, (e, d) => {
    const f = d.part || d.frag;
    if (frags.length < 40)
      frags.push({sn: d.frag.sn, part: d.part ? d.part.index : null, type: d.frag.type,
                  start: Math.round(f.start * 1000) / 1000, duration: Math.round(f.duration * 1000) / 1000});
  });
  hls.on(Hls.Events.BUFFER_APPENDED, (e, d) => {
    const out = {};
    for (const [k, r] of Object.entries(d.timeRanges || {})) {
      const a = [];
      for (let i = 0; r && i < r.length; i++) a.push([r.start(i), r.end(i)]);
      out[k] = a;
    }
    tracks = Object.assign({}, tracks, out);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    v.play().catch((err) => errors.push({details: "play(): " + err}));
  });
  hls.loadSource(src);
  hls.attachMedia(v);
  setInterval(report, 500);
}
</script>
</body></html>
"""


def ensure_hls_js():
    npm.ensure(BROWSER_DIR, HLS_JS)


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    pytest.fail("chromium not found: install the Debian package `chromium` (apt-get install chromium)")


class PageServer:
    """Serves the page and hls.js, and collects the page's reports."""

    def __init__(self, root):
        self.root = Path(root)
        self.reports = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                name = self.path.split("?", 1)[0].lstrip("/") or "index.html"
                f = outer.root / name
                if not f.is_file():
                    self.send_error(404)
                    return
                data = f.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if name.endswith(".html") else "text/javascript")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                try:
                    rep = json.loads(body)
                    rep["_received"] = time.monotonic()
                    with outer.lock:
                        outer.reports.append(rep)
                except ValueError:
                    pass
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def take(self):
        with self.lock:
            out = list(self.reports)
            self.reports.clear()
        return out

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Browser:
    def __init__(self, binary, url, workdir):
        self.profile = Path(workdir) / "profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log_path = Path(workdir) / "chromium.log"
        self._log = open(self.log_path, "wb")
        args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={self.profile}", "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0", "--disable-dev-shm-usage", url]
        # Its own process group, so stopping it takes its helper processes too.
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                  start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self._log.close()

    def log_tail(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


@pytest.fixture(scope="module")
def player_env(weir_module, tmp_path_factory):
    ensure_hls_js()
    binary = chromium_binary()
    d = tmp_path_factory.mktemp("browser")
    root = d / "www"
    root.mkdir()
    (root / "index.html").write_text(PAGE)
    shutil.copy(HLS_JS, root / "hls.min.js")
    # The default HLS settings (2 s segments, 400 ms parts) with a 2 s GOP.
    s = weir_module({"apps": {"live": {}}})
    pub = media.start_publisher(s.rtmp_url(), d, "pub", duration=120, gop=2 * FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 3 * FPS)
    hls.playlist(s, "/live/s/llhls.m3u8")  # packaging starts; the window fills meanwhile
    pages = PageServer(root)
    yield s, pages, binary, d
    pages.close()
    pub.stop()


def play(player_env, path, low_latency, seconds, name, sync_rate=1.5):
    s, pages, binary, d = player_env
    pages.take()
    src = s.http_url(path)
    url = f"http://127.0.0.1:{pages.port}/index.html?src={src}&ll={1 if low_latency else 0}&sync={sync_rate}"
    b = Browser(binary, url, d / name)
    try:
        deadline = time.monotonic() + 30
        started = None
        reports = []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            reports += pages.take()
            if b.p.poll() is not None:
                raise AssertionError(f"chromium exited with {b.p.returncode}:\n{b.log_tail()}")
            if reports and reports[-1].get("unsupported"):
                raise AssertionError(f"hls.js says MSE playback is unsupported in this Chromium: {reports[-1]}")
            if reports and reports[-1].get("fatal"):
                raise AssertionError(f"hls.js fatal error: {reports[-1]['fatal']}; errors {reports[-1]['errors']}")
            if started is None and reports and reports[-1]["currentTime"] > 0:
                started = time.monotonic()
                deadline = started + seconds
        assert started is not None, f"playback never started; last report: {reports[-1:] or 'none'}; " \
                                    f"chromium log:\n{b.log_tail()}"
        return reports
    finally:
        b.stop()


def summarize(reports):
    playing = [r for r in reports if r["currentTime"] > 0]
    first, last = playing[0], playing[-1]
    wall = (last["now"] - first["now"]) / 1000
    advanced = last["currentTime"] - first["currentTime"]
    return playing, wall, advanced


def test_hlsjs_plays_llhls_with_low_latency(player_env, record_property):
    reports = play(player_env, "/live/s/llhls.m3u8", True, 12, "ll")
    playing, wall, advanced = summarize(reports)
    last = playing[-1]
    assert not last["fatal"], f"fatal hls.js error: {last['fatal']}"
    assert wall >= 10 and advanced >= 0.8 * wall, \
        f"currentTime advanced {advanced:.2f} s in {wall:.2f} s of wall time; errors {last['errors']}"
    tail = [r for r in playing if (last["now"] - r["now"]) / 1000 <= 5]
    latency = statistics.median(r["latency"] for r in tail)
    target = statistics.median(r["targetLatency"] for r in tail)
    wall_lat = [r["now"] / 1000 - r["playingDate"] / 1000 for r in tail if r.get("playingDate")]
    wall_latency = statistics.median(wall_lat) if wall_lat else None
    print(f"\nhls.js LL-HLS: hls.latency {latency:.2f} s (target {target:.2f} s), "
          f"wall clock - playingDate {wall_latency if wall_latency is None else round(wall_latency, 2)} s, "
          f"buffered {last['buffered']}, errors {last['errors']}")
    record_property("hlsjs_latency_s", round(latency, 3))
    record_property("hlsjs_target_latency_s", round(target, 3))
    if wall_latency is not None:
        record_property("hlsjs_wallclock_latency_s", round(wall_latency, 3))
    assert latency < 3.0, f"hls.js latency to live {latency:.2f} s (target {target:.2f} s), want < 3 s; " \
                          f"buffered {last['buffered']}, per track {last.get('tracks')}, errors {last['errors']}, " \
                          f"fragments buffered {last.get('frags')}"


def test_hlsjs_plays_mpegts_playlist(player_env):
    reports = play(player_env, "/live/s.m3u8", False, 8, "ts")
    playing, wall, advanced = summarize(reports)
    last = playing[-1]
    assert not last["fatal"], f"fatal hls.js error: {last['fatal']}"
    assert wall >= 6 and advanced >= 0.8 * wall, \
        f"currentTime advanced {advanced:.2f} s in {wall:.2f} s of wall time; errors {last['errors']}"
    print(f"\nhls.js MPEG-TS: hls.latency {last['latency']:.2f} s, errors {last['errors']}")
