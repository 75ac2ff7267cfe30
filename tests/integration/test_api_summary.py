"""GET /api/v1/summary (the process at a glance, rates measured) and
GET /api/v1/config (the running config, secrets masked), with a real
publisher at a known rate."""

import json
import time

from weirtest import httpc, media
from weirtest.server import wait_until

ADMIN = "admin-token-summary-0123"
READER = "read-token-summary-01234"
SECRETS = {
    "events": "whsec-summary-secret-9876",
    "publish": "pub-key-summary-5555",
    "play": "play-key-summary-6666",
    "passphrase": "srt-passphrase-summary-77",
}


def api(s, path, token=ADMIN):
    r = httpc.get(s.api_addr, path, headers={"Authorization": f"Bearer {token}"})
    return r, (json.loads(r.body) if r.body else None)


def test_summary_measures_rates_and_config_masks_secrets(weir, tmp_path):
    s = weir({"api": {"token": ADMIN, "read_token": READER},
              "events": {"url": "http://127.0.0.1:9/none", "secret": SECRETS["events"], "max_attempts": 1},
              "apps": {"live": {},
                       "sig": {"sign": {"publish_keys": SECRETS["publish"], "play_keys": SECRETS["play"]},
                               "srt": {"passphrase": SECRETS["passphrase"]}}}})
    r, body = api(s, "/api/v1/summary", token="wrong")
    assert r.status == 401
    pub = media.start_publisher(s.rtmp_url("live", "rate"), tmp_path, "pub", duration=40, bitrate="2000k",
                                size="640x360", cbr=True)
    viewers = [httpc.FlvViewer(s.http_addr, "/live/rate.flv") for _ in range(2)]
    try:
        s.api_token = ADMIN
        s.wait_stream("live", "rate")
        for v in viewers:
            v.start()
        # The rates span up to 10 s of 1 s samples: wait for a full window
        # past the viewers' start (their GOP-cache burst).
        time.sleep(12)
        r, sm = api(s, "/api/v1/summary")
        assert r.status == 200, r.body
        assert sm["loops"] == 1 and sm["streams"] == 1, sm
        assert sm["connections"]["publishers"] == 1 and sm["connections"]["viewers"] == 2, sm
        assert sm["connections"]["tcp"] >= 3, sm
        assert sm["rate_window_s"] >= 9, sm
        # What the encoder sends (2 Mbit/s CBR video + 96 kbit/s audio); what
        # leaves is about twice that (two viewers).
        assert 1.7e6 <= sm["bitrate_in_bps"] <= 2.6e6, sm
        assert 1.6 <= sm["bitrate_out_bps"] / sm["bitrate_in_bps"] <= 2.4, sm
        assert sm["bytes_in"] > 0 and sm["bytes_out"] > sm["bytes_in"], sm
        assert 0 < sm["cpu_percent"] < 400 and sm["rss_bytes"] > 5 * 2**20, sm
        assert sm["uptime_s"] >= 12 and sm["started_at"].endswith("Z"), sm
        # The loop was never held up for long while it served them.
        m = s.metrics()
        count = m['weir_loop_lag_seconds_count{loop="0"}']
        assert count >= 20, m
        assert m['weir_loop_lag_seconds_bucket{loop="0",le="0.25"}'] >= 0.9 * count, m
        assert m['weir_loop_lag_seconds_bucket{loop="0",le="+Inf"}'] == count
        # Bytes by configured app: all of it is app "live"'s (the counters of
        # one scrape are read a moment apart while media flows).
        for app_key, total_key in (("weir_app_bytes_in_total", "weir_bytes_in_total"),
                                   ("weir_app_bytes_out_total", "weir_viewer_bytes_out_total")):
            live, total = m[app_key + '{app="live"}'], m[total_key]
            assert total > 0 and total <= live <= total * 1.02 + 200000, (app_key, live, total)
            assert m[app_key + '{app="sig"}'] == 0, m
        # Per-stream series (under limits.metrics_max_streams).
        key = '{app="live",stream="rate"}'
        assert m["weir_stream_players" + key] == 2 and m["weir_stream_live" + key] == 1, m
        assert m["weir_stream_bytes_in_total" + key] > 1e6 and m["weir_stream_publishes_total" + key] == 1, m
        assert m["weir_stream_video_frames_total" + key] >= 200 and m["weir_stream_series_omitted"] == 0, m
        # The stream's own record: codecs and sizes from its configs, rates
        # measured, viewers by protocol from the client registry.
        r, st = api(s, "/api/v1/streams/live/rate")
        assert r.status == 200, r.body
        v, a = st["video"], st["audio"]
        assert v["codec"] == "h264" and v["codecs"].startswith("avc1.") and (v["width"], v["height"]) == (640, 360), st
        assert 20 <= v["frame_rate"] <= 26, v
        assert a["codec"] == "aac" and a["codecs"].startswith("mp4a.40.") and a["sample_rate"] == 44100, a
        assert a["channels"] == 2, a
        assert 1.6e6 <= st["bitrate_in_bps"] <= 2.8e6, st
        assert st["viewers"] == {"total": 2, "by_protocol": {"http-flv": 2}}, st
        assert st["bytes_out"] > 0 and st["bitrate_out_bps"] == 2 * st["bitrate_in_bps"], st
        r2, sm2 = api(s, "/api/v1/summary", token=READER)
        assert r2.status == 200 and sm2["uptime_s"] >= sm["uptime_s"]
        assert api(s, "/api/v1/summary?x=1")[0].status == 400
    finally:
        for v in viewers:
            v.stop()
        pub.stop()

    r, cfg = api(s, "/api/v1/config", token=READER)
    assert r.status == 200, r.body
    for secret in list(SECRETS.values()) + [ADMIN, READER]:
        assert secret.encode() not in r.body, f"{secret} leaked"
    c = cfg["config"]
    assert cfg["source"].endswith(".yaml")
    assert c["api"]["token"] == "********" and c["api"]["read_token"] == "********"
    assert c["events"]["secret"] == "********" and c["events"]["url"] == "http://127.0.0.1:9/none"
    assert c["apps"]["sig"]["sign"]["publish_keys"] == "********"
    assert c["apps"]["sig"]["sign"]["play_keys"] == "********"
    assert c["apps"]["sig"]["srt"]["passphrase"] == "********"
    assert c["apps"]["live"]["srt"]["passphrase"] == ""  # unset is shown as unset
    assert c["storage"]["s3"]["secret_key"] == ""
    # Plain values as in effect, defaults included.
    assert c["workers"] == 1 and c["rtmp"]["chunk_size"] == 60000 and c["shutdown"]["drain_ms"] == 0
    assert c["apps"]["live"]["gop_cache"] is True and isinstance(c["limits"]["ingest_buffer_bytes"], int)
