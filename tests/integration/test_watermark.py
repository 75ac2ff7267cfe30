"""Watermarks changed live (apps.<app>.watermark, PUT/GET/DELETE
/api/v1/streams/{app}/{stream}/watermark): the transcode job draws an image
(PNG with alpha, through libavfilter's movie/overlay) or a text (drawtext) on
the picture and publishes it as an output stream; a change through the API
reaches viewers already connected within a second, without reconnecting.

Real processes: ffmpeg publishes a flat blue picture over RTMP; the viewer is
ffmpeg itself reading HTTP-FLV and writing raw RGB frames to a pipe, read in
a thread that stamps each frame with its arrival time. The watermark PNGs are
made by ffmpeg."""

import subprocess
import threading
import time

from weirtest import media
from weirtest.server import wait_until

from test_forward import api

W, H = 320, 240
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def config(watermark, renditions=None, hls=False, media_dir=None):
    app = {"reconnect_grace_ms": 2000, "hls": {"enabled": hls}, "watermark": dict(enabled=True, **watermark)}
    if renditions:
        app["renditions"] = renditions
    tc = {"threads": 2, "max_jobs": 2, "idle_ms": 2000, "encoder_threads": 1}
    if media_dir:
        tc["media_dir"] = str(media_dir)
    return {"workers": 2, "transcode": tc, "apps": {"live": app}}


def make_png(path, colour, size="64x64"):
    media.run([media.FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:size={size}",
               "-frames:v", "1", "-vf", "format=rgba", str(path)])
    return str(path)


class RgbViewer(threading.Thread):
    """ffmpeg playing an HTTP-FLV URL into raw RGB24 frames; keeps
    (arrival time, frame bytes) for the last frames."""

    def __init__(self, url, logdir, name, size=(W, H)):
        super().__init__(daemon=True)
        self.size = size
        self.frames = []
        self.lock = threading.Lock()
        self.log = open(logdir / f"{name}.log", "wb")
        self.proc = subprocess.Popen([media.FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-fflags", "nobuffer",
                                      "-i", url, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        self.start()

    def run(self):
        size = self.size[0] * self.size[1] * 3
        while True:
            buf = self.proc.stdout.read(size)
            if not buf or len(buf) < size:
                return
            with self.lock:
                self.frames.append((time.monotonic(), buf))
                del self.frames[:-200]

    def count(self):
        with self.lock:
            return len(self.frames)

    def since(self, t):
        with self.lock:
            return [f for at, f in self.frames if at >= t]

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)
        self.join(10)
        self.log.close()


def region_mean(frame, x0, y0, x1, y1, width=W):
    n, acc = 0, [0, 0, 0]
    for y in range(y0, y1, 2):
        row = y * width * 3
        for x in range(x0, x1, 2):
            i = row + x * 3
            acc[0] += frame[i]
            acc[1] += frame[i + 1]
            acc[2] += frame[i + 2]
            n += 1
    return tuple(a / n for a in acc)


def top_right(frame):  # inside an 80x80 image at the top-right corner
    return region_mean(frame, W - 70, 10, W - 10, 70)


def is_red(rgb):
    return rgb[0] > 170 and rgb[1] < 90 and rgb[2] < 90


def is_blue(rgb):
    return rgb[2] > 170 and rgb[0] < 90 and rgb[1] < 90


def first_frame_where(viewer, t0, pred, timeout):
    """Arrival time of the first frame after t0 for which pred holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with viewer.lock:
            for at, f in viewer.frames:
                if at >= t0 and pred(f):
                    return at
        time.sleep(0.05)
    return None


def publish_blue(s, tmp_path, name="s"):
    p = media.start_publisher(s.rtmp_url("live", name), tmp_path, name=f"pub-{name}", duration=None,
                              size=f"{W}x{H}", fps=30, gop=60, pattern="color=c=blue")
    s.wait_stream("live", name, timeout=20)
    return p


def test_image_and_text_changed_live(weir, tmp_path):
    media_dir = tmp_path / "media"  # transcode.media_dir: files named through the API must be inside
    media_dir.mkdir()
    red = make_png(media_dir / "red.png", "red")
    font = media_dir / "font.ttf"
    font.write_bytes(open(FONT, "rb").read())
    outside = make_png(tmp_path / "outside.png", "red")
    (media_dir / "escape.png").symlink_to(outside)
    s = weir(config({}, media_dir=media_dir))
    pub = publish_blue(s, tmp_path)
    viewer = RgbViewer(s.http_url("/live/s_wm.flv"), tmp_path, "viewer")
    try:
        wait_until(lambda: viewer.count() >= 25, 60, "the watermarked output's first second")
        assert is_blue(top_right(viewer.since(0)[-1])), "no watermark yet: the output is the blue source"
        st, wm = api(s, "GET", "/api/v1/streams/live/s/watermark")
        assert st == 200 and wm["image"] is None and wm["text"] is None and wm["set_by"] == "config", wm
        assert wm["output"] == "s_wm"

        # Set: the connected viewer's frames turn red at the top right within 1 s of the answer.
        st, wm = api(s, "PUT", "/api/v1/streams/live/s/watermark",
                     {"image": {"file": red, "position": "top-right", "width_percent": 25}})
        answered = time.monotonic()
        assert st == 200, wm
        assert wm["image"]["position"] == "top-right" and wm["set_by"] == "api", wm
        seen = first_frame_where(viewer, answered, lambda f: is_red(top_right(f)), 5)
        assert seen is not None, f"no red at the top right; last: {top_right(viewer.since(0)[-1])}"
        print(f"image shown {seen - answered:.3f} s after the PUT answer")
        assert seen - answered <= 1.0, seen - answered
        # The rest of the picture stays blue.
        assert is_blue(region_mean(viewer.since(seen)[0], 10, 100, 100, 200))
        frames_before = viewer.count()

        # Bad input: 400 naming the field; the viewer goes on, the watermark stays.
        notimg = media_dir / "notimage.png"
        notimg.write_text("not an image at all\n" * 10)
        for body, field in [
            ({"image": {"file": red, "position": "upper-right"}}, "image.position"),
            ({"image": {"file": red, "position": "top-right+10+101%"}}, "image.position"),
            ({"image": {"file": str(media_dir / "missing.png")}}, "image.file"),
            ({"image": {"file": outside}}, "image.file"),  # outside transcode.media_dir
            ({"image": {"file": str(media_dir / ".." / "outside.png")}}, "image.file"),
            ({"image": {"file": str(media_dir / "escape.png")}}, "image.file"),  # a symlink leading out
            ({"text": {"text": "x", "font": FONT}}, "text.font"),  # a real font, outside media_dir
            ({"image": {"file": str(notimg)}}, "image.file"),
            ({"image": {"file": "relative.png"}}, "image.file"),
            ({"text": {"text": "x", "font": str(media_dir / "nofont.ttf")}}, "text.font"),
            ({"text": {"text": "x", "font": red}}, "text.font"),
            ({"text": {"text": "x", "color": "notacolour"}}, "text.color"),
            ({"image": {"file": red, "opacity": 101}}, "image.opacity"),
            ({"image": {"file": red, "size": 3}}, "image.size"),
            ({"logo": {}}, "logo"),
            ({}, "image"),
        ]:
            st, e = api(s, "PUT", "/api/v1/streams/live/s/watermark", body)
            assert st == 400, (body, st, e)
            assert e["error"]["field"] == field, (body, e)
        assert api(s, "PUT", "/api/v1/streams/live/nosuch/watermark", {"image": {"file": red}})[0] == 404
        st, e = api(s, "PUT", "/api/v1/streams/live/s_wm/watermark", {"image": {"file": red}})
        assert st == 409, e
        wait_until(lambda: viewer.count() >= frames_before + 25, 10, "frames after the refused requests")
        assert is_red(top_right(viewer.since(0)[-1]))
        assert api(s, "GET", "/api/v1/streams/live/s/watermark")[1]["image"]["file"] == red

        # Remove: blue again within 1 s.
        st, wm = api(s, "DELETE", "/api/v1/streams/live/s/watermark")
        answered = time.monotonic()
        assert st == 200 and wm["image"] is None, wm
        seen = first_frame_where(viewer, answered, lambda f: is_blue(top_right(f)), 5)
        assert seen is not None and seen - answered <= 1.0, seen and seen - answered
        print(f"image removed {seen - answered:.3f} s after the DELETE answer")
        late = viewer.since(seen + 0.2)
        wait_until(lambda: len(viewer.since(seen + 0.2)) >= 10, 10, "frames after the removal")
        assert all(is_blue(top_right(f)) for f in viewer.since(seen + 0.2)), "red after the DELETE"
        del late

        # Text (a clock through strftime, in a box): the bottom-left region changes.
        box = (4, H - 60, 200, H - 4)
        before = region_mean(viewer.since(0)[-1], *box)
        st, wm = api(s, "PUT", "/api/v1/streams/live/s/watermark",
                     {"text": {"text": "%H:%M:%S", "strftime": True, "font": str(font), "size_percent": 15,
                               "color": "yellow", "box": True, "box_color": "white@1.0",
                               "position": "bottom-left+4+4"}})
        answered = time.monotonic()
        assert st == 200 and wm["text"]["strftime"] is True, wm

        def changed(f):
            r, g, b = region_mean(f, *box)
            return abs(r - before[0]) + abs(g - before[1]) + abs(b - before[2]) > 60

        seen = first_frame_where(viewer, answered, changed, 5)
        assert seen is not None, f"text region unchanged: {before} -> {region_mean(viewer.since(0)[-1], *box)}"
        print(f"text shown {seen - answered:.3f} s after the PUT answer")
        assert seen - answered <= 1.0, seen - answered
        assert viewer.proc.poll() is None, "the viewer was disconnected"
        assert s.metric("weir_transcode_jobs") == 1
        # One graph at start, one per change (PUT image, DELETE, PUT text); none failed.
        assert s.metric('weir_transcode_graph_builds_total{app="live",stream="s"}') == 4
        assert s.metric('weir_transcode_watermark_errors_total{app="live",stream="s"}') == 0
    finally:
        viewer.stop()
        pub.stop()


def test_replace_mode_renditions_and_clean_name(weir, tmp_path):
    red = make_png(tmp_path / "red.png", "red")
    s = weir(config({"serve": "replace", "image": {"file": red, "position": "top-right", "width_percent": 25}},
                    renditions={"small": {"height": 120, "bitrate_kbps": 300}}, hls=True))
    pub = publish_blue(s, tmp_path)
    viewers = {}
    try:
        for name in ("s", "s_clean"):
            viewers[name] = RgbViewer(s.http_url(f"/live/{name}.flv"), tmp_path, f"viewer-{name}")
        viewers["s_small"] = RgbViewer(s.http_url("/live/s_small.flv"), tmp_path, "viewer-small", size=(160, 120))
        wait_until(lambda: all(v.count() >= 10 for v in viewers.values()), 60, "frames of every viewer")
        # The published name plays the watermarked picture; clean_name the source.
        assert is_red(top_right(viewers["s"].since(0)[-1]))
        assert is_blue(top_right(viewers["s_clean"].since(0)[-1]))
        assert is_blue(region_mean(viewers["s"].since(0)[-1], 10, 100, 100, 200))
        # The rendition carries the watermark too (drawn before the scaling).
        small = viewers["s_small"].since(0)[-1]
        assert is_red(region_mean(small, 160 - 30, 6, 160 - 6, 30, width=160)), "rendition without the watermark"
        assert is_blue(region_mean(small, 6, 60, 60, 110, width=160))
        st, wm = api(s, "GET", "/api/v1/streams/live/s/watermark")
        assert st == 200 and wm["serve"] == "replace" and wm["clean_name"] == "s_clean" and wm["set_by"] == "config"
        assert wm["image"]["file"] == red
        # HLS of the published name (playlist and segments) is the watermarked picture too.
        raw = media.run([media.FFMPEG, "-v", "error", "-i", s.http_url("/live/s.m3u8"), "-frames:v", "1",
                         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], timeout=90, input=b"").stdout
        assert len(raw) == W * H * 3, len(raw)
        assert is_red(top_right(raw)), f"HLS of live/s without the watermark: {top_right(raw)}"
        # DELETE reaches the published name's viewers too.
        st, _ = api(s, "DELETE", "/api/v1/streams/live/s/watermark")
        answered = time.monotonic()
        assert st == 200
        seen = first_frame_where(viewers["s"], answered, lambda f: is_blue(top_right(f)), 5)
        assert seen is not None and seen - answered <= 1.0, seen and seen - answered
    finally:
        for v in viewers.values():
            v.stop()
        pub.stop()
