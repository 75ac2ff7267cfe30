"""A publisher and an HTTP-FLV viewer running beside a module's cases: after
each case, assert_still_flowing() checks that whatever the case did to the
server, other sessions went on."""

from . import media
from .httpc import FlvViewer


class Background:
    def __init__(self, server, pub, viewer):
        self.s, self.pub, self.viewer = server, pub, viewer

    def assert_still_flowing(self, what):
        assert self.pub.running(), f"publisher died after {what}: {self.pub.log()}"
        n = len(self.viewer.snapshot())
        self.viewer.wait(lambda t: len(t) >= n + 15, 10, f"more media after {what}")
        assert self.s.get("/healthz").status == 200, f"/healthz not 200 after {what}"

    def stop(self):
        self.viewer.stop()
        self.pub.stop()


def start_background(s, logdir, app="live", stream="bg"):
    """Publishes app/stream with ffmpeg until stopped and plays it over HTTP-FLV."""
    pub = media.start_publisher(s.rtmp_url(app, stream), logdir, f"{stream}-publisher", duration=None)
    s.wait_stream(app, stream, pred=lambda i: i["video_frames"] >= 3)
    viewer = FlvViewer(s.http_addr, f"/{app}/{stream}.flv")
    viewer.start()
    viewer.wait(lambda t: len(t) > 5, 10, "background stream")
    return Background(s, pub, viewer)
