"""Mixing (POST/PATCH/DELETE /api/v1/mixes): a program stream composed from
input streams in-process (src/transcode/mix_*), played like any other stream.

Real processes: ffmpeg publishes flat-colour pictures with a sine tone each
over RTMP; the program is played over HTTP-FLV (weirtest.httpc.FlvViewer) and
decoded by ffmpeg; the tones are found with a Goertzel filter (no numpy here)."""

import json
import math
import struct
import time

from weirtest import media
from weirtest.httpc import FlvViewer, request
from weirtest.receiver import Receiver
from weirtest.server import wait_until

W, H, FPS = 320, 180, 25
# Input name -> (colour name for lavfi, RGB, tone in Hz); grid order a b / c d.
INPUTS = {"a": ("red", (255, 0, 0), 600), "b": ("lime", (0, 255, 0), 1000),
          "c": ("blue", (0, 0, 255), 1400), "d": ("yellow", (255, 255, 0), 1800)}
# Inputs differ from the program (320x180, 25 fps, 48 kHz stereo) and from each other: normalised by the mixer.
FORMATS = {"a": ("160x90", 25, 44100, 2), "b": ("160x90", 25, 44100, 2), "c": ("256x144", 30, 48000, 2),
           "d": ("640x360", 15, 32000, 1)}
BACKGROUND = (0, 0, 0)
SMALL = (32, 18)  # pictures are decoded at this size: a quadrant is 16x9 pixels


def config(max_jobs=2):
    return {"workers": 2,
            "transcode": {"threads": 2, "max_jobs": max_jobs, "encoder_threads": 1},
            "apps": {"live": {"reconnect_grace_ms": 10000, "hls": {"enabled": False}},
                     "studio": {"hls": {"enabled": False}}}}


def push(s, tmp_path, name):
    colour, _, tone = INPUTS[name]
    size, fps, rate, channels = FORMATS[name]
    args = [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i", f"color=c={colour}:size={size}:rate={fps}",
            "-re", "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate={rate}",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(fps), "-b:v", "200k", "-c:a", "aac", "-ar", str(rate), "-ac", str(channels), "-b:a", "64k",
            "-f", "flv", s.rtmp_url("live", name)]
    p = media.Proc(args, tmp_path, f"pub-{name}-{time.monotonic_ns()}")
    s.wait_stream("live", name, timeout=20)
    return p


def api(s, method, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    headers = {"Content-Type": "application/json"} if data else {}
    r = request(s.api_addr, method, path, headers=headers, body=data, timeout=15)
    return r.status, (json.loads(r.body) if r.body else None)


def mix_body(**kw):
    b = {"app": "studio", "name": "prog", "width": W, "height": H, "fps": FPS, "background": "#000000",
         "layout": "grid", "inputs": [{"stream": f"live/{n}"} for n in INPUTS],
         "video": {"preset": "ultrafast", "bitrate_kbps": 400}, "audio": {"bitrate_kbps": 128}}
    b.update(kw)
    return b


def decode_pictures(flv_bytes, tmp_path):
    """Every picture of an FLV recording, decoded at SMALL size, as RGB bytes (one per video frame, in order)."""
    src = tmp_path / f"prog-{time.monotonic_ns()}.flv"
    src.write_bytes(flv_bytes)
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(src), "-map", "0:v",
                   "-fps_mode", "passthrough", "-vf", f"scale={SMALL[0]}:{SMALL[1]}:flags=area",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], timeout=120, input=b"")
    n = SMALL[0] * SMALL[1] * 3
    return [r.stdout[i:i + n] for i in range(0, len(r.stdout) - n + 1, n)]


def decode_audio(flv_bytes, tmp_path):
    src = tmp_path / f"prog-audio-{time.monotonic_ns()}.flv"
    src.write_bytes(flv_bytes)
    r = media.run([media.FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(src), "-map", "0:a",
                   "-ac", "1", "-ar", "48000", "-f", "s16le", "pipe:1"], timeout=120, input=b"")
    return struct.unpack(f"<{len(r.stdout) // 2}h", r.stdout[:len(r.stdout) // 2 * 2])


def region(pic, qx, qy):
    """Mean RGB of the middle of quadrant (qx, qy) of a SMALL picture."""
    qw, qh = SMALL[0] // 2, SMALL[1] // 2
    acc, n = [0, 0, 0], 0
    for y in range(qy * qh + 2, (qy + 1) * qh - 2):
        for x in range(qx * qw + 3, (qx + 1) * qw - 3):
            o = (y * SMALL[0] + x) * 3
            for c in range(3):
                acc[c] += pic[o + c]
            n += 1
    return tuple(v / n for v in acc)


def near(rgb, want, tol=60):
    return all(abs(a - b) <= tol for a, b in zip(rgb, want))


def quadrants(pic):
    return [region(pic, 0, 0), region(pic, 1, 0), region(pic, 0, 1), region(pic, 1, 1)]


def goertzel(samples, rate, freq):
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + c * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def video_tags(v):
    return [t for t in list(v.tags) if t.is_video and not t.is_video_config]


def last_picture(v, tmp_path):
    pics = decode_pictures(bytes(v.raw), tmp_path)
    assert pics, "no picture decoded from the program"
    return pics[-1]


def test_four_inputs_grid_colours_tones_loss_and_return(weir, tmp_path):
    s = weir(config())
    pubs = {n: push(s, tmp_path, n) for n in INPUTS}
    v = None
    try:
        st, mix = api(s, "POST", "/api/v1/mixes", mix_body())
        assert st == 201, mix
        assert mix["stream"] == "studio/prog" and mix["id"].startswith("mx")
        assert all(i["live"] for i in mix["inputs"]), mix["inputs"]
        s.wait_stream("studio", "prog", timeout=20)
        v = FlvViewer(s.http_addr, "/studio/prog.flv")
        v.start()
        wait_until(lambda: len(video_tags(v)) >= 4 * FPS, 60, "4 s of program video")
        # Every quadrant has its input's colour.
        pic = last_picture(v, tmp_path)
        got = quadrants(pic)
        for q, name in enumerate(INPUTS):
            assert near(got[q], INPUTS[name][1]), (name, got)
        # The program's audio holds every input's tone, far above the gaps between them.
        pcm = decode_audio(bytes(v.raw), tmp_path)
        assert len(pcm) >= 48000 * 2, len(pcm)
        tail = pcm[-48000:]
        tones = {n: goertzel(tail, 48000, INPUTS[n][2]) for n in INPUTS}
        quiet = max(goertzel(tail, 48000, f) for f in (800, 1200, 1600, 2400))
        for n, p in tones.items():
            assert p > 50 * quiet, (n, tones, quiet)

        # b (top right) drops: its quadrant goes to the background, the others stay.
        before_kill = len(video_tags(v))
        pubs.pop("b").stop()
        killed = time.monotonic()

        def b_gone():
            q = quadrants(last_picture(v, tmp_path))
            return near(q[1], BACKGROUND, 30) and near(q[0], INPUTS["a"][1])
        wait_until(b_gone, 20, "b's quadrant to show the background", interval=0.5)
        gone_after = time.monotonic() - killed
        print(f"dropped input's quadrant seen as background {gone_after:.2f} s after its publisher stopped")
        assert gone_after < 8, gone_after
        # ... and it is silent while the others are still heard.
        n = len(video_tags(v))
        wait_until(lambda: len(video_tags(v)) >= n + FPS, 20, "1 s more of program video")
        tail = decode_audio(bytes(v.raw), tmp_path)[-24000:]
        tones = {n: goertzel(tail, 48000, INPUTS[n][2]) for n in INPUTS}
        for n in ("a", "c", "d"):
            assert tones["b"] * 100 < tones[n], tones
        # b comes back when it is pushed again.
        pubs["b"] = push(s, tmp_path, "b")
        back_from = len(video_tags(v))
        wait_until(lambda: near(quadrants(last_picture(v, tmp_path))[1], INPUTS["b"][1]), 30,
                   "b's quadrant to come back", interval=0.5)
        wait_until(lambda: len(video_tags(v)) >= back_from + FPS, 20, "1 s more of program video")
        # The program kept its frame rate and monotonic timestamps through all of it.
        tags = video_tags(v)[before_kill:]
        ts = [t.timestamp for t in tags]
        assert all(b > a for a, b in zip(ts, ts[1:])), "program timestamps not increasing"
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        assert max(gaps) <= 200, max(gaps)
        span = (ts[-1] - ts[0]) / 1000
        assert span >= 3, span
        rate = (len(ts) - 1) / span
        print(f"program frame rate through the drop and return: {rate:.2f} fps over {span:.1f} s, max gap {max(gaps)} ms")
        assert FPS - 1.5 <= rate <= FPS + 1.5, rate
        assert back_from > before_kill
        st, now = api(s, "GET", f"/api/v1/mixes/{mix['id']}")
        assert st == 200 and now["frames_out"] > 0, now
        assert s.metric(f'weir_mix_frames_out_total{{id="{mix["id"]}",app="studio",stream="prog"}}') > 0
        # DELETE ends the program.
        st, _ = api(s, "DELETE", f"/api/v1/mixes/{mix['id']}")
        assert st == 204
        st, _ = api(s, "GET", f"/api/v1/mixes/{mix['id']}")
        assert st == 404
        wait_until(lambda: s.stream_info("studio", "prog") is None, 10, "the program to end")
    finally:
        if v:
            v.stop()
        for p in pubs.values():
            p.stop()


def test_layout_patch_moves_an_input_within_one_second(weir, tmp_path):
    s = weir(config())
    pubs = {n: push(s, tmp_path, n) for n in ("a", "b")}
    v = None
    try:
        body = mix_body(layout={"rects": [{"input": 0, "x": 0, "y": 0, "w": 50, "h": 50, "z": 1},
                                          {"input": 1, "x": 50, "y": 50, "w": 50, "h": 50, "z": 1}]},
                        inputs=[{"stream": "live/a"}, {"stream": "live/b"}])
        st, mix = api(s, "POST", "/api/v1/mixes", body)
        assert st == 201, mix
        v = FlvViewer(s.http_addr, "/studio/prog.flv")
        v.start()
        wait_until(lambda: len(video_tags(v)) >= 2 * FPS, 60, "2 s of program video")
        q = quadrants(last_picture(v, tmp_path))
        assert near(q[0], INPUTS["a"][1]) and near(q[3], INPUTS["b"][1]), q
        assert near(q[1], BACKGROUND, 30) and near(q[2], BACKGROUND, 30), q
        first_ts = video_tags(v)[0].timestamp
        # a moves to the top right; b over a part of it (higher z), both live.
        patch = {"layout": {"rects": [{"input": 0, "x": 50, "y": 0, "w": 50, "h": 50, "z": 1},
                                      {"input": 1, "x": 0, "y": 50, "w": 50, "h": 50, "z": 2}]}}
        n_before = len(video_tags(v))
        sent = time.monotonic()
        st, after = api(s, "PATCH", f"/api/v1/mixes/{mix['id']}", patch)
        assert st == 200, after
        assert after["layout"] == {"rects": [dict(r, x=float(r["x"]), y=float(r["y"]), w=float(r["w"]),
                                                  h=float(r["h"])) for r in patch["layout"]["rects"]]}
        wait_until(lambda: len(video_tags(v)) >= n_before + 3 * FPS, 30, "3 s more of program video")
        tags = video_tags(v)
        pics = decode_pictures(bytes(v.raw), tmp_path)
        assert abs(len(pics) - len(tags)) <= 2, (len(pics), len(tags))
        moved = None
        for i in range(min(len(pics), len(tags))):
            q = quadrants(pics[i])
            if near(q[1], INPUTS["a"][1]) and near(q[2], INPUTS["b"][1]) and near(q[0], BACKGROUND, 30):
                moved = i
                break
        assert moved is not None, "the new layout never showed"
        print(f"layout PATCH visible to the viewer after {tags[moved].arrival - sent:.3f} s")
        assert tags[moved].arrival - sent <= 1.0, tags[moved].arrival - sent
        # No reconnect and no jump: one connection, timestamps continue at the frame rate.
        assert v.end is None
        ts = [t.timestamp for t in tags]
        assert ts[0] == first_ts
        assert max(b - a for a, b in zip(ts, ts[1:])) <= 200
        assert all(b > a for a, b in zip(ts, ts[1:]))
    finally:
        if v:
            v.stop()
        for p in pubs.values():
            p.stop()


def test_bad_bodies_conflicts_and_max_jobs(weir, tmp_path):
    rx = Receiver()
    cfg = config(max_jobs=1)
    cfg["events"] = {"url": rx.url}
    s = weir(cfg)

    def refused(body, field, status=400, method="POST", path="/api/v1/mixes"):
        st, r = api(s, method, path, body)
        assert st == status, (body, st, r)
        assert r["error"]["field"] == field, r
        return r

    refused(mix_body(colour="red"), "colour")
    refused(mix_body(inputs=[{"stream": f"live/s{i}"} for i in range(17)]), "inputs")
    refused(mix_body(inputs=[]), "inputs")
    refused(mix_body(inputs=[{"stream": "nosuchapp/x"}]), "inputs[0].stream")
    refused(mix_body(inputs=[{"stream": "live/a", "gain": -1}]), "inputs[0].gain")
    refused(mix_body(app="nosuchapp"), "app")
    refused(mix_body(width=321), "width")
    refused(mix_body(layout="mosaic"), "layout")
    refused(mix_body(layout={"rects": [{"input": 0, "x": 60, "y": 0, "w": 50, "h": 50}]}), "layout.rects[0].w")
    refused(mix_body(layout={"rects": [{"input": 0, "x": 0, "y": 0, "w": 50, "h": 50},
                                       {"input": 1, "x": 25, "y": 25, "w": 50, "h": 50}]}), "layout.rects[1].z")
    refused(mix_body(layout={"rects": [{"input": 9, "x": 0, "y": 0, "w": 50, "h": 50}]}), "layout.rects[0].input")
    st, r = api(s, "POST", "/api/v1/mixes", raw=b"{not json")
    assert st == 400, r
    # Inputs that are not live yet are accepted (shown as background, silent).
    st, mix = api(s, "POST", "/api/v1/mixes", mix_body())
    assert st == 201, mix
    assert not any(i["live"] for i in mix["inputs"])
    s.wait_stream("studio", "prog", timeout=20)
    refused(mix_body(), "name", status=409)
    # One slot (transcode.max_jobs 1) and it is taken.
    st, r = api(s, "POST", "/api/v1/mixes", mix_body(name="prog2"))
    assert st == 503 and "max_jobs" in r["error"]["message"], r
    mid = mix["id"]
    refused({"width": 640}, "width", method="PATCH", path=f"/api/v1/mixes/{mid}")
    refused({"layuot": "pip"}, "layuot", method="PATCH", path=f"/api/v1/mixes/{mid}")
    refused({"inputs": [{"stream": "live/a"}], "layout": {"rects": [{"input": 1, "x": 0, "y": 0, "w": 10, "h": 10}]}},
            "layout.rects[0].input", method="PATCH", path=f"/api/v1/mixes/{mid}")
    st, r = api(s, "PATCH", "/api/v1/mixes/mx0000000000000000", {"layout": "pip"})
    assert st == 404, r
    refused({"layout": "pip"}, "id", method="PATCH", path="/api/v1/mixes/not-a-mix-id")
    st, r = api(s, "PATCH", f"/api/v1/mixes/{mid}", {"layout": "pip", "inputs": [{"stream": "live/a", "gain": 0.5}]})
    assert st == 200 and r["layout"] == "pip" and r["inputs"][0]["gain"] == 0.5, r
    for route in ("mixes", "transcodes"):  # the same paged-list answer (api::respond_page)
        for q, field in (("limit=0", "limit"), ("cursor=not!base64", "cursor"), ("app=studio", "app")):
            st, r = api(s, "GET", f"/api/v1/{route}?{q}")
            assert st == 400 and r["error"]["field"] == field, (route, q, st, r)
    st, page = api(s, "GET", "/api/v1/transcodes?limit=5")
    assert st == 200 and page == {"items": [], "next_cursor": None}, page
    st, page = api(s, "GET", "/api/v1/mixes?limit=1")
    assert st == 200 and [m["id"] for m in page["items"]] == [mid] and page["next_cursor"] is None, page
    # The program runs with nothing live: background pictures at its frame rate.
    v = FlvViewer(s.http_addr, "/studio/prog.flv")
    v.start()
    try:
        wait_until(lambda: len(video_tags(v)) >= FPS, 30, "1 s of program video")
        assert all(near(q, BACKGROUND, 30) for q in quadrants(last_picture(v, tmp_path)))
    finally:
        v.stop()
    st, _ = api(s, "DELETE", f"/api/v1/mixes/{mid}")
    assert st == 204
    # The slot is free again.
    wait_until(lambda: api(s, "POST", "/api/v1/mixes", mix_body(name="prog2"))[0] == 201, 10, "the slot to free")
    # Events: created, the accepted PATCH (refused bodies and refused creations send none), deleted.
    wait_until(lambda: rx.events("mix.deleted", id=mid), 10, "mix.deleted")
    created = rx.events("mix.created", id=mid)
    assert len(created) == 1 and created[0]["data"]["stream"] == "studio/prog", created
    updated = rx.events("mix.updated", id=mid)
    assert len(updated) == 1 and updated[0]["data"]["layout"] == "pip", updated
    deleted = rx.events("mix.deleted", id=mid)[0]["data"]
    assert deleted["reason"] == "deleted" and deleted["frames_out"] > 0 and "error" not in deleted, deleted
    wait_until(lambda: rx.events("mix.created", name="prog2"), 10, "mix.created of prog2")
    assert len(rx.events("mix.created")) == 2, [e["data"]["name"] for e in rx.events("mix.created")]
    assert not rx.events("mix.failed")
    rx.close()
