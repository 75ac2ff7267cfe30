"""Periodic snapshots of a recorded stream go into the asset store's
catalogue as the asset's thumbnails: listed by the admin API (paged, oldest
first, with their offset into the recording), served under /vod/{id}/thumbs/
while it records and after, kept when the snapshot directory's own retention
deletes the originals, and deleted with the asset.

Real processes: `weir`, ffmpeg publishing over RTMP, ffprobe decoding the
pictures; the catalogue is the embedded SQLite file."""

from weirtest import media
from weirtest.server import wait_until

from test_record import api, fetch, wait_assets
from test_snapshot import decode_rgb


def thumbnails(s, asset, query=""):
    st, j = api(s, "GET", f"/api/v1/assets/{asset}/thumbnails{query}")
    assert st == 200, (st, j)
    return j


def test_snapshots_of_a_recording_become_its_thumbnails(weir, tmp_path):
    s = weir({"workers": 2, "storage": {"root": str(tmp_path / "store")}, "apps": {"rec": {
        "reconnect_grace_ms": 0, "hls": {"enabled": False},
        "record": {"enabled": True, "segment_s": 4, "fragment_ms": 500, "resume_s": 0},
        "snapshot": {"interval_s": 1, "width": 320, "keep": 2, "dir": "pics/{app}-{stream}"}}}})
    pub = media.start_publisher(s.rtmp_url("rec", "cam"), tmp_path, "pub", duration=None, size="640x360")
    try:
        rec = wait_until(lambda: next((r for r in s.api("/api/v1/recordings") or [] if r["stream"] == "cam"), None),
                         30, "the recording")
        asset = rec["asset"]
        # While it records: thumbnails are listed and served.
        wait_until(lambda: len(thumbnails(s, asset)["items"]) >= 3, 30, "three thumbnails while recording")
        first = thumbnails(s, asset)["items"][0]
        r = fetch(s, first["url"])
        assert r.status == 200, (r.status, r.body[:200])
        assert r.headers.get("content-type") == "image/jpeg"
        codec, w, h, _ = decode_rgb(r.body)
        assert (codec, w, h) == ("mjpeg", 320, 180)
        assert (first["width"], first["height"]) == (320, 180) and first["bytes"] == len(r.body)
        wait_until(lambda: len(thumbnails(s, asset)["items"]) >= 5, 30, "five thumbnails")
    finally:
        pub.stop()
    [a] = wait_assets(s, 1, app="rec", state="ready")
    assert a["id"] == asset

    items = thumbnails(s, asset, "?limit=1000")["items"]
    assert len(items) >= 5
    offsets = [t["offset_ms"] for t in items]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), offsets
    assert 0 <= offsets[0] < 5000 and offsets[-1] <= a["duration_s"] * 1000 + 3000, (offsets, a["duration_s"])
    assert all(t["url"].startswith(f"/vod/{asset}/thumbs/") and t["time"].endswith("Z") for t in items)
    # The snapshot directory keeps its 2 newest files; the thumbnails are the asset's own.
    pics = tmp_path / "store" / "pics" / "rec-cam"
    assert len(list(pics.glob("*.jpg"))) == 2
    for t in items:
        r = fetch(s, t["url"])
        assert r.status == 200 and len(r.body) == t["bytes"], (t, r.status)

    # Paging: pages of 2, every thumbnail once, in order.
    seen, cursor = [], None
    while True:
        page = thumbnails(s, asset, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [t["url"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [t["url"] for t in items]

    # Errors: unknown asset, bad cursor, unknown parameter, a name that is not a thumbnail's.
    assert api(s, "GET", "/api/v1/assets/nosuchasset/thumbnails")[0] == 404
    st, j = api(s, "GET", f"/api/v1/assets/{asset}/thumbnails?cursor=bogus")
    assert st == 400 and j["error"]["field"] == "cursor", j
    st, j = api(s, "GET", f"/api/v1/assets/{asset}/thumbnails?offset=3")
    assert st == 400, j
    for bad in ("../index.m3u8", "x.jpg", "1.gif", "%2e%2e%2fcatalogue.sqlite3"):
        assert fetch(s, f"/vod/{asset}/thumbs/{bad}").status in (400, 404), bad

    # Deleting the asset deletes its thumbnails.
    assert api(s, "DELETE", f"/api/v1/assets/{asset}")[0] == 204
    assert fetch(s, items[0]["url"]).status == 404
    assert api(s, "GET", f"/api/v1/assets/{asset}/thumbnails")[0] == 404
