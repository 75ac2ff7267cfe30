"""Renditions with encoded audio (apps.<app>.renditions.<name>.audio: aac |
opus) and the master playlists (/{app}/{stream}/master.m3u8 and the LL-HLS
one, /{app}/{stream}/llhls_master.m3u8): CODECS with the audio each variant
sends, time-shift positions and signed-play tokens carried to the variants,
and hls.js in headless Chromium playing the signed LL-HLS master through a
forced level switch.

One server, one publisher (ffmpeg: 720p30 H.264 + 44.1 kHz stereo AAC) and one
transcode job (transcode_mode always: 360p with AAC 64 kbit/s, 180p with
Opus 48 kbit/s) serve the module. The app signs plays, so every URL here
carries a token made in Python (test_signed_urls.token), as a viewer's would."""

import json
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from weirtest import checks, hls, media
from weirtest.httpc import FlvViewer, get

from test_hls import check_ll_playlist
from test_hls_browser import Browser, PageServer, chromium_binary, ensure_hls_js, HLS_JS
from test_signed_urls import token

PLAY_KEY = "play-key-audio-0001"
AAC_KBPS, OPUS_KBPS = 64, 48
CONFIG = {
    "workers": 2,
    "transcode": {"threads": 2, "max_jobs": 2, "idle_ms": 5000, "encoder_threads": 1},
    "apps": {"live": {
        "reconnect_grace_ms": 2000,
        "sign": {"play_keys": PLAY_KEY, "hls_session_s": 60},
        "hls": {"enabled": True, "segment_ms": 1000, "part_ms": 500, "window_segments": 8},
        "timeshift": {"enabled": True, "window_ms": 120000, "memory_bytes": "32MiB"},
        "transcode_mode": "always",
        "renditions": {
            "360p": {"height": 360, "fps": 30, "preset": "ultrafast", "bitrate_kbps": 600, "maxrate_kbps": 800,
                     "audio": "aac", "audio_bitrate_kbps": AAC_KBPS},
            "180p": {"height": 180, "fps": 30, "preset": "ultrafast", "bitrate_kbps": 250,
                     "audio": "opus", "audio_bitrate_kbps": OPUS_KBPS},
        }}},
}


def signed(path, stream, extra=None, expires=None):
    """`path` with a play token for live/`stream` (and `extra` query first)."""
    exp = expires or int(time.time()) + 600
    q = f"expires={exp}&token={token(PLAY_KEY, 'play', 'live', stream, exp)}"
    return f"{path}?{extra + '&' if extra else ''}{q}"


@pytest.fixture(scope="module")
def env(weir_module, tmp_path_factory):
    d = tmp_path_factory.mktemp("transcode_audio")
    s = weir_module(CONFIG)
    pub = media.start_publisher(s.rtmp_url("live", "s"), d, "pub", duration=None, size="1280x720", fps=30, gop=30,
                                bitrate="2000k")
    s.wait_stream("live", "s", timeout=20)
    for name in ("s_360p", "s_180p"):
        s.wait_stream("live", name, pred=lambda i: i["video_frames"] >= 60 and i["audio_frames"] > 0,
                      timeout=60, what=f"the always-on rendition {name}")
    yield s, d, time.monotonic()
    pub.stop()


def probe_audio(url, seconds, timeout=90):
    """ffprobe's audio stream and packets over `seconds` of a live URL."""
    r = subprocess.run([media.FFPROBE, "-v", "error", "-of", "json", "-select_streams", "a", "-show_streams",
                        "-show_packets", "-read_intervals", f"%+{seconds}", url],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"ffprobe {url}: {r.stderr[-2000:]}"
    out = json.loads(r.stdout)
    assert out.get("streams"), f"ffprobe {url}: no audio stream"
    return out["streams"][0], out.get("packets", [])


def kbps_of(packets):
    ts = [float(p["pts_time"]) for p in packets]
    span = max(ts) - min(ts) + float(packets[-1].get("duration_time", 0) or 0)
    assert span >= 3, f"only {span:.2f} s of audio packets"
    return sum(int(p["size"]) for p in packets) * 8 / span / 1000


def master(s, path, stream="s", extra=None):
    r = get(s.http_addr, signed(path, stream, extra), timeout=20)
    assert r.status == 200, (path, r.status, r.body[:300])
    assert r.headers.get("content-type") == "application/vnd.apple.mpegurl"
    return r.body.decode()


def check_master(text):
    """RFC 8216 4.3.4.2 / 4.3.3: what a multivariant playlist must be; returns [(attrs, uri)]."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U", text
    for tag in ("#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-PART", "#EXT-X-MAP"):
        assert not any(ln.startswith(tag) for ln in lines), f"media-playlist tag {tag} in a master playlist:\n{text}"
    assert sum(ln.startswith("#EXT-X-VERSION") for ln in lines) <= 1
    variants = []
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        attrs = hls.parse_attrs(line.split(":", 1)[1])
        assert int(attrs["BANDWIDTH"]) > 0, line
        w, h = attrs["RESOLUTION"].split("x")
        assert int(w) > 0 and int(h) > 0 and int(w) % 2 == 0 and int(h) % 2 == 0, line
        assert f'CODECS="{attrs["CODECS"]}"' in line, line  # a quoted-string
        assert float(attrs["FRAME-RATE"]) > 0, line
        uri = lines[i + 1]
        assert uri and not uri.startswith("#"), f"EXT-X-STREAM-INF without a URI line: {line}"
        variants.append((attrs, uri))
    assert variants, text
    return variants


def resolve(master_path, uri):
    return urllib.parse.urljoin(master_path, uri)


def test_aac_rendition_sends_aac_at_its_bitrate(env):
    s, _, _ = env
    st, pkts = probe_audio(s.http_url(signed("/live/s_360p.flv", "s_360p")), 8)
    assert st["codec_name"] == "aac" and int(st["sample_rate"]) == 44100 and st["channels"] == 2, st
    kbps = kbps_of(pkts)
    print(f"\naac rendition: {kbps:.1f} kbit/s (setting {AAC_KBPS})")
    assert AAC_KBPS * 0.8 <= kbps <= AAC_KBPS * 1.2, f"AAC rendition at {kbps:.1f} kbit/s, setting {AAC_KBPS}"
    # Interleaved per output: the encoded audio waits for the renditions' video (kMaxHeldAudio), so an FLV
    # viewer's audio never runs ahead of its video by more than a frame or two, nor far behind it.
    v = FlvViewer(s.http_addr, signed("/live/s_360p.flv", "s_360p"), connect_timeout=30)
    v.start()
    try:
        v.wait(lambda tags: sum(t.is_audio for t in tags) >= 4 * 43, 60, "4 s of rendition audio")
    finally:
        v.stop()
    tags = v.snapshot()
    checks.assert_per_track_monotonic(tags, "aac rendition")
    last_video, worst_lead, worst_lag = None, 0, 0
    for t in tags:
        if t.is_video:
            last_video = t.timestamp
        elif t.is_audio and not t.is_aac_seq_header and last_video is not None:
            worst_lead = max(worst_lead, t.timestamp - last_video)
            worst_lag = max(worst_lag, last_video - t.timestamp)
    assert worst_lead <= 70 and worst_lag <= 500, (worst_lead, worst_lag)
    # The job lists each output's audio and counts the one shared decode.
    job = [j for j in s.api("/api/v1/transcodes") if j["stream"] == "s"][0]
    assert {o["rendition"]: (o["audio"], o["audio_bitrate_kbps"]) for o in job["outputs"]} == \
        {"360p": ("aac", AAC_KBPS), "180p": ("opus", OPUS_KBPS)}, job
    assert job["audio_frames_decoded"] > 100 and job["audio_decode_errors"] == 0, job
    # The source's audio is untouched (96 kbit/s from the publisher).
    st, pkts = probe_audio(s.http_url(signed("/live/s.flv", "s")), 5)
    assert st["codec_name"] == "aac" and kbps_of(pkts) > 80


def test_opus_rendition_in_fmp4_and_mpegts(env):
    s, _, _ = env
    st, pkts = probe_audio(s.http_url(signed("/live/s_180p/llhls.m3u8", "s_180p")), 6)
    assert st["codec_name"] == "opus" and int(st["sample_rate"]) == 48000 and st["channels"] == 2, st
    kbps = kbps_of(pkts)
    print(f"\nopus rendition (fMP4): {kbps:.1f} kbit/s (setting {OPUS_KBPS})")
    assert OPUS_KBPS * 0.75 <= kbps <= OPUS_KBPS * 1.25, f"Opus rendition at {kbps:.1f} kbit/s, setting {OPUS_KBPS}"
    st, pkts = probe_audio(s.http_url(signed("/live/s_180p.m3u8", "s_180p")), 4)
    assert st["codec_name"] == "opus" and len(pkts) >= 100, (st, len(pkts))


def test_llhls_master_lists_llhls_variants_that_play_with_the_carried_token(env):
    s, _, _ = env
    r = get(s.http_addr, signed("/live/s/llhls_master.m3u8", "s"), timeout=20)
    assert r.status == 200 and r.headers.get("cache-control") == "private, no-store", (r.status, r.headers)
    text = r.body.decode()
    variants = check_master(text)
    uris = [u.split("?")[0] for _, u in variants]
    assert uris == ["../s/llhls.m3u8", "../s_180p/llhls.m3u8", "../s_360p/llhls.m3u8"], text
    res = [a["RESOLUTION"] for a, _ in variants]
    assert res == ["1280x720", "320x180", "640x360"], text
    codecs = [a["CODECS"].split(",") for a, _ in variants]
    assert [c[1] for c in codecs] == ["mp4a.40.2", "Opus", "mp4a.40.2"], codecs
    assert all(c[0].startswith("avc1.") for c in codecs), codecs
    assert all(float(a["FRAME-RATE"]) == 30.0 for a, _ in variants), text
    assert int(variants[2][0]["BANDWIDTH"]) >= (800 + AAC_KBPS) * 1000
    for attrs, uri in variants:
        q = urllib.parse.parse_qs(uri.split("?", 1)[1])
        assert set(q) == {"expires", "token"}, uri
        path = resolve("/live/s/llhls_master.m3u8", uri)
        r = get(s.http_addr, path, timeout=30)
        assert r.status == 200, (path, r.status, r.body[:200])
        # Its files carry the session token of a signed app; without it the playlist is any LL-HLS one.
        body = r.body.decode()
        assert "?hs=" in body, body[:300]
        check_ll_playlist(hls.Playlist(re.sub(r"\?hs=[0-9a-f.]+", "", body)), path, 8)
        # Without the carried token the variant is refused: the master really handed out access.
        r = get(s.http_addr, path.split("?")[0], timeout=10)
        assert r.status == 403, (path, r.status)
    # The master itself needs a token, and another stream's token does not open it.
    assert get(s.http_addr, "/live/s/llhls_master.m3u8", timeout=10).status == 403
    assert get(s.http_addr, signed("/live/s/llhls_master.m3u8", "s_360p"), timeout=10).status == 403
    # The MPEG-TS master carries it the same way, to the .m3u8 variants.
    ts_variants = check_master(master(s, "/live/s/master.m3u8"))
    assert [u.split("?")[0] for _, u in ts_variants] == ["../s.m3u8", "../s_180p.m3u8", "../s_360p.m3u8"]
    path = resolve("/live/s/master.m3u8", ts_variants[2][1])
    r = get(s.http_addr, path, timeout=30)
    assert r.status == 200 and b"#EXTINF" in r.body, (path, r.status, r.body[:200])


def test_master_passes_time_shift_to_every_variant(env):
    s, _, t_ready = env
    delay = 6
    # Enough history in every variant (the renditions run from the source's publish).
    left = t_ready + delay + 4 - time.monotonic()
    if left > 0:
        time.sleep(left)
    for extra in (f"delay={delay}", f"txTimeshift=on&tsDelay={delay}"):
        for mpath in ("/live/s/llhls_master.m3u8", "/live/s/master.m3u8"):
            variants = check_master(master(s, mpath, extra=extra))
            for _, uri in variants:
                # Time-shifted positions are MPEG-TS playlists, in the native spelling.
                assert uri.split("?")[0].endswith(".m3u8") and "/llhls" not in uri, uri
                assert urllib.parse.parse_qs(uri.split("?", 1)[1])["delay"] == [str(delay)], uri
                path = resolve(mpath, uri)
                r = get(s.http_addr, path, timeout=30)
                assert r.status == 200, (path, r.status, r.body[:200])
                pl = hls.Playlist(r.body.decode())
                edge = pl.segments[-1].pdt + pl.segments[-1].duration
                behind = time.time() - edge
                assert delay - 1.5 <= behind <= delay + 4, f"{path}: live edge {behind:.1f} s behind, delay {delay}"
    r = get(s.http_addr, signed("/live/s/llhls_master.m3u8", "s", extra="delay=-3"), timeout=10)
    assert r.status == 400 and b"delay" in r.body, (r.status, r.body)


# hls.js: plays the signed LL-HLS master, starts on the source (720p), then
# asks for the 360p level (hls.nextLevel: switch at the next fragment) and
# reports currentTime, the level playing and the switches.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>weir hls.js level switch</title></head>
<body>
<video id="v" muted autoplay playsinline></video>
<script src="hls.min.js"></script>
<script>
const params = new URLSearchParams(location.search);
const v = document.getElementById("v");
const errors = [], switched = [], frags = [];
let fatal = null, asked = null, hls = null, levels = [];
function report(extra) {
  fetch("/report", {method: "POST", body: JSON.stringify(Object.assign({
    now: Date.now(), currentTime: v.currentTime, level: hls ? hls.currentLevel : null, levels: levels,
    asked: asked, switched: switched, frags: frags.slice(-30), errors: errors.slice(-20), fatal: fatal,
  }, extra || {}))}).catch(() => {});
}
if (!Hls.isSupported()) {
  report({unsupported: true});
} else {
  hls = new Hls({lowLatencyMode: true, capLevelToPlayerSize: false});
  hls.on(Hls.Events.ERROR, (e, d) => {
    errors.push({type: d.type, details: d.details, fatal: d.fatal});
    if (d.fatal) fatal = d.type + "/" + d.details;
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
    levels = d.levels.map((l) => ({height: l.height, bitrate: l.bitrate, codecs: l.codecSet || l.attrs.CODECS}));
    const top = levels.findIndex((l) => l.height === 720);
    hls.currentLevel = top;
    v.play().catch((err) => errors.push({details: "play(): " + err}));
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => switched.push({level: d.level, at: v.currentTime}));
  hls.on(Hls.Events.FRAG_BUFFERED, (e, d) => frags.push({level: d.frag.level, sn: d.frag.sn, type: d.frag.type}));
  setInterval(() => {
    if (asked === null && v.currentTime > 3) {
      asked = levels.findIndex((l) => l.height === 360);
      hls.nextLevel = asked;
    }
  }, 250);
  hls.loadSource(params.get("src"));
  hls.attachMedia(v);
  setInterval(report, 500);
}
</script>
</body></html>
"""


def test_hlsjs_plays_the_llhls_master_through_a_level_switch(env):
    s, d, _ = env
    ensure_hls_js()
    binary = chromium_binary()
    root = d / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text(PAGE)
    shutil.copy(HLS_JS, root / "hls.min.js")
    pages = PageServer(root)
    src = urllib.parse.quote(s.http_url(signed("/live/s/llhls_master.m3u8", "s")), safe="")
    b = Browser(binary, f"http://127.0.0.1:{pages.port}/index.html?src={src}", d / "chromium")
    reports = []
    try:
        deadline = time.monotonic() + 60
        switched_at = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            reports += pages.take()
            if b.p.poll() is not None:
                raise AssertionError(f"chromium exited with {b.p.returncode}:\n{b.log_tail()}")
            last = reports[-1] if reports else {}
            assert not last.get("unsupported"), "hls.js: MSE unsupported in this Chromium"
            assert not last.get("fatal"), f"hls.js fatal error {last['fatal']}; errors {last['errors']}"
            if switched_at is None and last.get("asked") is not None and \
                    any(x["level"] == last["asked"] for x in last.get("switched", [])):
                switched_at = time.monotonic()
                deadline = switched_at + 8  # keep playing on the new level
    finally:
        b.stop()
        pages.close()
    assert reports, f"no report from the page; chromium log:\n{b.log_tail()}"
    last = reports[-1]
    heights = [lv["height"] for lv in last["levels"]]
    assert sorted(heights) == [180, 360, 720], last["levels"]
    assert switched_at is not None, f"no switch to the 360p level: asked {last['asked']}, " \
                                    f"switched {last['switched']}, errors {last['errors']}"
    assert last["level"] == last["asked"], (last["level"], last["asked"])
    assert any(f["level"] == last["asked"] and f["type"] == "main" for f in last["frags"]), \
        f"no fragment of the new level buffered: {last['frags']}"
    # No stall: after playback started, currentTime kept up with the wall clock, across the switch too.
    playing = [r for r in reports if r["currentTime"] > 0]
    wall = (playing[-1]["now"] - playing[0]["now"]) / 1000
    advanced = playing[-1]["currentTime"] - playing[0]["currentTime"]
    assert wall >= 8 and advanced >= 0.8 * wall, f"currentTime advanced {advanced:.2f} s in {wall:.2f} s; " \
                                                 f"errors {last['errors']}"
    worst = 0.0
    for a, b2 in zip(playing, playing[1:]):
        if b2["currentTime"] <= a["currentTime"]:
            worst = max(worst, (b2["now"] - a["now"]) / 1000)
    assert worst < 1.6, f"currentTime stood still for {worst:.1f} s; errors {last['errors']}"
    print(f"\nhls.js level switch: levels {heights}, switched {last['switched']}, "
          f"{advanced:.1f} s played in {wall:.1f} s, errors {last['errors']}")
