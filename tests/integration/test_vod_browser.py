"""Headless Chromium plays a recorded asset: `<video src="/vod/ASSET.mp4">`
(no script library: the browser's own MP4 demuxer, Range requests), plays,
seeks to the middle and keeps playing. The page reports what the element sees
(currentTime, duration, error) to the test's page server, as in
test_hls_browser.py, whose page server and browser driver it reuses."""

import time

import pytest

from test_hls_browser import Browser, PageServer, chromium_binary
from weirtest import media
from weirtest.server import wait_until

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>weir vod test</title></head>
<body>
<video id="v" muted autoplay playsinline preload="auto"></video>
<script>
const params = new URLSearchParams(location.search);
const v = document.getElementById("v");
let seekedTo = null, seekDone = false, events = [];
for (const e of ["loadedmetadata", "playing", "seeking", "seeked", "waiting", "error", "ended"])
  v.addEventListener(e, () => { events.push(e); if (e === "seeked") seekDone = true; });
v.src = params.get("src");
v.play().catch((e) => events.push("play failed: " + e));
setInterval(() => {
  if (seekedTo === null && v.currentTime > 1.5 && isFinite(v.duration)) {
    seekedTo = v.duration / 2;
    v.currentTime = seekedTo;
  }
  fetch("/report", {method: "POST", body: JSON.stringify({
    currentTime: v.currentTime, duration: v.duration, paused: v.paused, readyState: v.readyState,
    seekedTo: seekedTo, seekDone: seekDone, error: v.error ? v.error.code + " " + v.error.message : null,
    width: v.videoWidth, events: events.slice(-20)})}).catch(() => {});
}, 250);
</script></body></html>
"""


@pytest.fixture(scope="module")
def vod_asset(weir_module, tmp_path_factory):
    s = weir_module({"apps": {"rec": {"reconnect_grace_ms": 0, "record": {"enabled": True, "resume_s": 0}}}},
                    name="vodbrowser")
    d = tmp_path_factory.mktemp("vodbrowser")
    p = media.start_publisher(s.rtmp_url("rec", "b"), d, "pub", duration=12, gop=25)
    p.wait(60)
    box = {}

    def ready():
        items = s.api("/api/v1/assets?app=rec&state=ready")
        if items:
            box["a"] = items[0]
        return bool(items)

    wait_until(ready, 60, "asset ready", interval=0.25)
    return s, box["a"], d


def test_chromium_plays_and_seeks_a_recorded_mp4(vod_asset):
    s, a, d = vod_asset
    root = d / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text(PAGE)
    pages = PageServer(root)
    src = s.http_url(a["urls"]["mp4"])
    b = Browser(chromium_binary(), f"http://127.0.0.1:{pages.port}/index.html?src={src}", d / "chromium")
    reports = []
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            time.sleep(0.5)
            reports += pages.take()
            if b.p.poll() is not None:
                raise AssertionError(f"chromium exited with {b.p.returncode}:\n{b.log_tail()}")
            last = reports[-1] if reports else None
            if last and last["error"]:
                raise AssertionError(f"the video element failed: {last}")
            if last and last["seekDone"] and last["currentTime"] >= last["seekedTo"] + 2:
                break
        assert reports, f"no report from the page; chromium log:\n{b.log_tail()}"
        last = reports[-1]
        assert abs(last["duration"] - a["duration_s"]) < 0.5, last
        assert last["width"] == 320, last
        assert last["seekedTo"] is not None and last["seekDone"], f"never seeked: {last}"
        # It kept playing after the seek: 2 s of media past the seek point.
        assert last["currentTime"] >= last["seekedTo"] + 2, last
        assert not last["paused"], last
    finally:
        b.stop()
        pages.close()
