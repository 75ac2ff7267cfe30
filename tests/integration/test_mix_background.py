"""A mix's background image (POST/PATCH /api/v1/mixes "background":
{"color", "image"}) and transcode.media_dir, the directory files named
through the API must be inside.

Real processes: ffmpeg makes a solid-colour PNG and publishes flat-colour
inputs over RTMP; the program is played over HTTP-FLV and its pictures are
decoded by ffmpeg and sampled per quadrant (test_mix's helpers)."""

import time

from weirtest.httpc import FlvViewer
from weirtest.server import wait_until

from test_mix import (BACKGROUND, FPS, INPUTS, api, config, decode_pictures, last_picture, mix_body, near, push,
                      quadrants, video_tags)
from test_watermark import make_png

MAGENTA = (255, 0, 255)  # the background image's colour: no input has it


def test_background_image_under_a_dropped_input_patch_and_refusals(weir, tmp_path):
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    png = make_png(media_dir / "bg.png", "magenta", size="64x36")
    notimg = media_dir / "notimage.png"
    notimg.write_text("not an image\n" * 20)
    outside = make_png(tmp_path / "outside.png", "magenta", size="64x36")
    (media_dir / "escape.png").symlink_to(outside)
    cfg = config()
    cfg["transcode"]["media_dir"] = str(media_dir)
    s = weir(cfg)
    pubs = {n: push(s, tmp_path, n) for n in ("a", "b")}
    v = None
    try:
        # a top left, b bottom right; the other two quadrants show the background.
        layout = {"rects": [{"input": 0, "x": 0, "y": 0, "w": 50, "h": 50, "z": 1},
                            {"input": 1, "x": 50, "y": 50, "w": 50, "h": 50, "z": 1}]}
        inputs = [{"stream": "live/a"}, {"stream": "live/b"}]
        st, mix = api(s, "POST", "/api/v1/mixes", mix_body(layout=layout, inputs=inputs,
                                                            background={"color": "#000000", "image": png}))
        assert st == 201, mix
        assert mix["background"] == {"color": "#000000", "image": png}, mix["background"]
        mid = mix["id"]
        v = FlvViewer(s.http_addr, "/studio/prog.flv")
        v.start()
        wait_until(lambda: len(video_tags(v)) >= 2 * FPS, 60, "2 s of program video")
        q = quadrants(last_picture(v, tmp_path))
        assert near(q[0], INPUTS["a"][1]) and near(q[3], INPUTS["b"][1]), q
        assert near(q[1], MAGENTA) and near(q[2], MAGENTA), q

        # b drops: its rectangle shows the background image (on_input_loss: background, the default).
        pubs.pop("b").stop()
        wait_until(lambda: near(quadrants(last_picture(v, tmp_path))[3], MAGENTA), 20,
                   "the dropped input's rectangle to show the background image", interval=0.5)
        assert near(quadrants(last_picture(v, tmp_path))[0], INPUTS["a"][1])

        # Refused: 400 naming background.image; the program goes on unchanged.
        for bad in (str(notimg), outside, str(media_dir / "escape.png"), str(media_dir / ".." / "outside.png"),
                    str(media_dir / "missing.png"), "relative.png"):
            st, r = api(s, "PATCH", f"/api/v1/mixes/{mid}", {"background": {"image": bad}})
            assert st == 400 and r["error"]["field"] == "background.image", (bad, st, r)
            st, r = api(s, "POST", "/api/v1/mixes", mix_body(name="prog2", background={"image": bad}))
            assert st == 400 and r["error"]["field"] == "background.image", (bad, st, r)
        print("refused background.image:", r["error"]["message"])
        st, now = api(s, "GET", f"/api/v1/mixes/{mid}")
        assert st == 200 and now["background"] == {"color": "#000000", "image": png}, now
        n = len(video_tags(v))
        wait_until(lambda: len(video_tags(v)) >= n + FPS, 20, "1 s more of program video")
        assert near(quadrants(last_picture(v, tmp_path))[1], MAGENTA)

        # PATCH back to a colour: the image goes within a second, no reconnect.
        n_before = len(video_tags(v))
        sent = time.monotonic()
        st, r = api(s, "PATCH", f"/api/v1/mixes/{mid}", {"background": "#000000"})
        assert st == 200 and r["background"] == "#000000", r
        wait_until(lambda: len(video_tags(v)) >= n_before + 2 * FPS, 30, "2 s more of program video")
        tags = video_tags(v)
        pics = decode_pictures(bytes(v.raw), tmp_path)
        changed = next((i for i in range(n_before, min(len(pics), len(tags)))
                        if near(quadrants(pics[i])[1], BACKGROUND, 30)), None)
        assert changed is not None, "the colour background never showed"
        latency = tags[changed].arrival - sent
        print(f"background PATCH (image -> colour) visible to the viewer after {latency:.3f} s")
        assert latency <= 1.0, latency
        assert all(near(quadrants(p)[3], BACKGROUND, 30) for p in pics[changed:changed + FPS])
        assert v.end is None

        # And an image again through PATCH.
        st, r = api(s, "PATCH", f"/api/v1/mixes/{mid}", {"background": {"image": png}})
        assert st == 200 and r["background"] == {"color": "#000000", "image": png}, r
        wait_until(lambda: near(quadrants(last_picture(v, tmp_path))[1], MAGENTA), 10,
                   "the background image again", interval=0.5)
    finally:
        if v:
            v.stop()
        for p in pubs.values():
            p.stop()


def test_no_media_dir_refuses_every_api_file(weir, tmp_path):
    """Without transcode.media_dir the API may name no file (the safe default)."""
    png = make_png(tmp_path / "bg.png", "magenta", size="64x36")
    s = weir(config())
    st, r = api(s, "POST", "/api/v1/mixes", mix_body(background={"image": png}))
    assert st == 400 and r["error"]["field"] == "background.image", r
    assert "transcode.media_dir" in r["error"]["message"], r
    st, r = api(s, "POST", "/api/v1/mixes", mix_body(background="#102030"))
    assert st == 201 and r["background"] == "#102030", r
