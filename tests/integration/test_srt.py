"""SRT ingest and play: ffmpeg pushes H.264/AAC and HEVC/AAC over SRT and the
stream is read back over SRT, HTTP-FLV, RTMP, HTTP MPEG-TS and HLS; RTMP push
to SRT play; srt-live-transmit relaying in and out; every reject reason as a
libsrt caller sees it; passphrases; and bad input (garbage datagrams, TS
without PAT, corrupt PES headers, absurd PES lengths) while another stream
keeps flowing."""

import random
import socket
import subprocess
import time

from weirtest import checks, media
from weirtest import srt as S
from weirtest.flv import FlvTag, read_flv_file
from weirtest.httpc import FlvViewer
from weirtest.rtmp import RtmpClient
from weirtest.hls import Follower
from weirtest.server import clean_env, wait_until

FPS = 25
AUDIO_FPS = 44100 / 1024


def assert_close(value, expected, frac, what):
    lo, hi = expected * (1 - frac), expected * (1 + frac)
    assert lo <= value <= hi, f"{what}: {value}, expected {expected:.1f} +-{frac * 100:.0f}% ({lo:.1f}..{hi:.1f})"


def ingested(s, stream="s"):
    """(video, audio) frames Weir took from an SRT publisher of live/`stream`
    (from its close line). An SRT live sender drops what is still unsent when
    it closes (SRTO_LINGER is 0 in live mode) and the receiver drops what it
    still holds for the latency window, so the last few hundred ms of a file
    pushed with ffmpeg never arrive: outputs are compared with what came in."""
    m = s.wait_log(rf"stopped publishing live/{stream}: [^\n]*\((\d+) bytes in, (\d+) video \+ (\d+) audio frames")
    return int(m.group(2)), int(m.group(3))


def check_output(path, frames, vcodec, what):
    """Codecs, frame counts (+-2% of frames=(video, audio)) and A/V start alignment."""
    st = media.streams(path)
    assert st.get("video", {}).get("codec_name") == vcodec, f"{what}: video {st.get('video')}"
    assert st.get("audio", {}).get("codec_name") == "aac", f"{what}: audio {st.get('audio')}"
    assert (st["video"]["width"], st["video"]["height"]) == (320, 240), f"{what}: size"
    counts = media.count_frames(path)
    assert_close(counts.get("video", 0), frames[0], 0.02, f"{what}: video frames")
    assert_close(counts.get("audio", 0), frames[1], 0.02, f"{what}: audio frames")
    v, a = S.first_times(path)
    assert v is not None and a is not None and abs(v - a) <= 0.1, \
        f"{what}: first video at {v} s, first audio at {a} s (more than 100 ms apart)"
    return counts


def wait_procs(procs, timeout):
    for p in procs:
        rc = p.wait(timeout)
        assert rc == 0, f"{p.name} exited with {rc}: {p.log()[-2000:]}"


APP = {"play_wait_ms": 15000, "reconnect_grace_ms": 1500, "hls": {"segment_ms": 1000, "part_ms": 300}}


def test_srt_h264_to_srt_flv_rtmp_ts_and_hls(weir, tmp_path):
    # Two loops: connections go round-robin, so publisher and SRT reader
    # land on different loops.
    s = weir({"workers": 2, "apps": {"live": APP}})
    # Readers first: they wait for the stream (play_wait_ms), so each gets it all.
    readers = [
        S.start_reader(S.srt_url(s, S.streamid(mode="request")), tmp_path / "srt.ts", tmp_path, "srt-reader"),
        S.start_reader(s.flv_url(), tmp_path / "http.flv", tmp_path, "flv-reader", fmt="flv"),
        S.start_reader(s.rtmp_url(), tmp_path / "rtmp.flv", tmp_path, "rtmp-reader", fmt="flv"),
        S.start_reader(s.http_url("/live/s.ts"), tmp_path / "http.ts", tmp_path, "ts-reader"),
    ]
    wait_until(lambda: s.metric("weir_srt_connections") >= 1, 10, "the SRT reader to connect")
    pub = S.start_ts_publisher(S.srt_url(s, S.streamid(), encode=True), tmp_path, duration=5)
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    info = s.stream_info()
    assert info["publisher"]["protocol"] == "srt", info
    hls = Follower(s, "/live/s.m3u8", interval=0.3)
    hls.start()
    assert pub.wait(30) == 0, pub.log()
    wait_procs(readers, 20)
    hls.stop()
    s.wait_log(r"srt #\d+ 127\.0\.0\.1:\d+: stopped publishing live/s: connection closed by the peer")
    frames = ingested(s)
    # Most of the 5 s (125 video, 216 audio frames) arrived.
    assert frames[0] >= 110 and frames[1] >= 180, frames

    for name, what in (("srt.ts", "SRT play"), ("http.flv", "HTTP-FLV"), ("rtmp.flv", "RTMP"),
                       ("http.ts", "HTTP .ts")):
        check_output(tmp_path / name, frames, "h264", what)
        checks.assert_decodes_cleanly(tmp_path / name)
    flv = read_flv_file(tmp_path / "http.flv")[1]
    checks.assert_per_track_monotonic(flv, "HTTP-FLV of an SRT stream")
    assert not checks.video_gaps(flv, 100), checks.video_gaps(flv, 100)

    # HLS: the segments followed decode to the frames their EXTINFs promise.
    assert not hls.errors and not hls.problems, (hls.errors[:3], hls.problems[:3])
    vod = hls.write_vod(tmp_path / "hls")
    total = hls.total_duration([m for m in hls.msns() if m in hls.data])
    assert total >= 3, f"HLS: only {total:.1f} s of segments followed"
    counts = media.count_frames(vod)
    assert_close(counts.get("video", 0), total * FPS, 0.02, f"HLS: video frames in {total:.2f} s")
    assert_close(counts.get("audio", 0), total * AUDIO_FPS, 0.02, f"HLS: audio frames in {total:.2f} s")
    st = media.streams(vod)
    assert st["video"]["codec_name"] == "h264" and st["audio"]["codec_name"] == "aac", st

    m = s.metrics()
    assert m["weir_srt_connections_total"] == 2 and m["weir_srt_connections"] == 0, m
    assert m["weir_srt_ts_cc_errors_total"] == 0 and m["weir_srt_input_dropped_total"] == 0, m


def test_srt_hevc_to_srt_flv_rtmp_and_hls(weir, tmp_path):
    s = weir({"apps": {"live": APP}})
    srt_reader = S.start_reader(S.srt_url(s, S.streamid(mode="request")), tmp_path / "srt.ts", tmp_path,
                                "srt-reader")
    ts_reader = S.start_reader(s.http_url("/live/s.ts"), tmp_path / "http.ts", tmp_path, "ts-reader")
    wait_until(lambda: s.metric("weir_srt_connections") >= 1, 10, "the SRT reader to connect")
    pub = S.start_ts_publisher(S.srt_url(s, S.streamid()), tmp_path, duration=6, vcodec="hevc")
    s.wait_stream(pred=lambda i: i["video_frames"] >= 5)
    flv = FlvViewer(s.http_addr, "/live/s.flv")
    flv.start()
    rtmp = RtmpClient.open(s.rtmp_addr)
    rtmp.handshake()
    assert rtmp.connect("live", extra={"fourCcList": ["hvc1"]}).command()[0] == "_result"
    rtmp.send_command("play", 0.0, None, "s", -2000.0, stream_id=rtmp.create_stream())
    followers = [Follower(s, "/live/s.m3u8", interval=0.3), Follower(s, "/live/s/llhls.m3u8", interval=0.3)]
    for f in followers:
        f.start()
    rtmp_media, rtmp_end = rtmp.read_media(timeout=40)
    assert pub.wait(30) == 0, pub.log()
    wait_procs([srt_reader, ts_reader], 20)
    assert flv.wait_end(10) in ("eof", "closed"), flv
    for f in followers:
        f.stop()
    assert rtmp_end in ("eof", "reset"), rtmp_end
    frames = ingested(s)
    assert frames[0] >= 135 and frames[1] >= 230, frames
    check_output(tmp_path / "srt.ts", frames, "hevc", "SRT play (HEVC)")
    check_output(tmp_path / "http.ts", frames, "hevc", "HTTP .ts (HEVC)")
    checks.assert_decodes_cleanly(tmp_path / "srt.ts")
    # HTTP-FLV and RTMP carry HEVC as Enhanced RTMP 'hvc1' (ffmpeg 5.1 cannot read it).
    rtmp_tags = [FlvTag(m.type_id, m.timestamp, m.payload) for m in rtmp_media]
    for what, tags in (("HTTP-FLV", flv.snapshot()), ("RTMP", rtmp_tags)):
        video = [t for t in tags if t.is_video]
        assert video and all(t.enhanced and t.fourcc == "hvc1" for t in video), f"{what}: {video[:3]}"
        assert video[0].is_video_config, f"{what}: first video tag {video[0]}"
        vframes = [t for t in video if t.is_video_frame]
        assert vframes and vframes[0].is_keyframe, f"{what}: {vframes[:2]}"
        # Joined a few frames in: the GOP cache gives from the last keyframe on.
        assert_close(len(vframes), frames[0], 0.1, f"{what}: HEVC video frames")
        # Frames only: the hub stamps a config packet no earlier than the last
        # packet of either track, so a video config that follows the first audio
        # frames of a TS input can carry a later time than the keyframe after it.
        frames_only = [t for t in tags if t.is_video_frame or t.is_audio_frame]
        checks.assert_per_track_monotonic(frames_only, f"{what} of an HEVC SRT stream")
    # HLS, both containers: the segments followed decode as HEVC + AAC to the
    # frame counts their EXTINFs promise.
    for f, what in zip(followers, ("HLS MPEG-TS", "HLS fMP4")):
        assert not f.errors and not f.problems, (what, f.errors[:3], f.problems[:3])
        vod = f.write_vod(tmp_path / what.replace(" ", "_"))
        total = f.total_duration([m for m in f.msns() if m in f.data])
        assert total >= 3, f"{what}: only {total:.1f} s of segments followed"
        st = media.streams(vod)
        assert st["video"]["codec_name"] == "hevc" and st["audio"]["codec_name"] == "aac", (what, st)
        counts = media.count_frames(vod)
        assert_close(counts.get("video", 0), total * FPS, 0.02, f"{what}: video frames in {total:.2f} s")


def test_rtmp_push_to_srt_play(weir, tmp_path):
    s = weir({"apps": {"live": APP}})
    reader = S.start_reader(S.srt_url(s, S.streamid(mode="request")), tmp_path / "srt.ts", tmp_path, "srt-reader")
    wait_until(lambda: s.metric("weir_srt_connections") >= 1, 10, "the SRT reader to connect")
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=4.0, gop=FPS)
    assert pub.wait(30) == 0, pub.log()
    wait_procs([reader], 20)
    check_output(tmp_path / "srt.ts", (4 * FPS, 4 * AUDIO_FPS), "h264", "SRT play of an RTMP stream")
    checks.assert_decodes_cleanly(tmp_path / "srt.ts")
    # Messages are whole TS packets, at most payload_size (1316) bytes.
    s2 = weir({"apps": {"live": {"reconnect_grace_ms": 0}}}, name="msgs")
    pub2 = media.start_publisher(s2.rtmp_url(), tmp_path, "pub2", duration=3.0, gop=FPS)
    s2.wait_stream(pred=lambda i: i["video_frames"] >= 30)
    rep = S.probe(s2, S.streamid(mode="request"), recv=1.5)
    pub2.stop()
    assert rep["connected"] and rep["received"] > 20000, rep
    assert rep["whole_ts_messages"] and rep["max_message"] == 1316, rep


def test_srt_live_transmit_relays_in_and_out(weir, tmp_path):
    s = weir({"apps": {"live": APP}})
    host, port = S.srt_addr(s)
    out = tmp_path / "out.ts"
    # Out: SRT -> file, with srt-live-transmit as the SRT reader.
    slt_out = media.Proc(["srt-live-transmit", "-q", "-a:no",
                          f"srt://{host}:{port}?streamid=#!::r=live/s,m=request", "file://con"],
                         tmp_path, "slt-out", stdout=open(out, "wb"))
    wait_until(lambda: s.metric("weir_srt_connections") >= 1, 10, "srt-live-transmit (out) to connect")
    # In: ffmpeg -> UDP -> srt-live-transmit -> SRT publish.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    uport = udp.getsockname()[1]
    udp.close()
    slt_in = media.Proc(["srt-live-transmit", "-q", "-a:no", "-c:1316", f"udp://127.0.0.1:{uport}",
                         f"srt://{host}:{port}?streamid=#!::r=live/s,m=publish"], tmp_path, "slt-in")
    wait_until(lambda: s.metric("weir_srt_connections") >= 2, 10, "srt-live-transmit (in) to connect")
    pub = media.Proc(S.ts_publisher_args(f"udp://127.0.0.1:{uport}?pkt_size=1316", duration=4), tmp_path, "pub")
    assert pub.wait(30) == 0, pub.log()
    s.wait_stream(pred=lambda i: i["video_frames"] >= 95, what="95 video frames relayed in")
    info = s.stream_info()
    assert info["publisher"]["protocol"] == "srt", info
    time.sleep(0.5)
    slt_in.stop()
    wait_until(lambda: not slt_out.running(), 15, "srt-live-transmit (out) to end with the stream")
    slt_out.stop()
    # Over UDP nothing is lost on loopback; the relay may cut the very end.
    counts = media.count_frames(out)
    assert_close(counts.get("video", 0), 4 * FPS, 0.04, "srt-live-transmit out: video frames")
    assert_close(counts.get("audio", 0), 4 * AUDIO_FPS, 0.04, "srt-live-transmit out: audio frames")
    st = media.streams(out)
    assert st["video"]["codec_name"] == "h264" and st["audio"]["codec_name"] == "aac", st
    checks.assert_decodes_cleanly(out)


def test_every_reject_reason_reaches_the_caller(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0},
                       "sec": {"srt": {"passphrase": "correct horse battery", "pbkeylen": 16}}}})
    pub = S.start_ts_publisher(S.srt_url(s, S.streamid(stream="busy")), tmp_path, duration=None)
    s.wait_stream(name="busy", pred=lambda i: i["video_frames"] >= 1)
    cases = [
        ("#!::r=live,m=publish", 1400, r"resource 'live' is not APP/STREAM"),
        ("", 1400, r"empty stream id"),
        ("#!::r=live/s,m=publish,m=request", 1400, r"key 'm' given twice"),
        ("#!::r=live/.hidden,m=publish", 1400, r"illegal stream name '\.hidden'"),
        ("#!::r=nope/s,m=publish", 1404, r"app 'nope' is not configured"),
        ("#!::r=live/absent,m=request", 1404, r"stream live/absent is not published"),
        ("#!::r=live/s,m=bidirectional", 1405, r"mode 'bidirectional' is not supported"),
        ("read:live/s", 1405, r"mode 'read:' is not supported"),
        ("#!::r=live/s,m=publish,t=file", 1415, r"type 'file' is not supported"),
        ("#!::r=live/busy,m=publish", 1409, r"stream live/busy is already being published"),
    ]
    for sid, code, reason in cases:
        off = s.log_offset()
        rep = S.probe(s, sid)
        assert not rep["connected"] and rep["reject_code"] == code, f"{sid!r}: {rep}"
        s.wait_log(r"srt 127\.0\.0\.1:\d+: refused '[^\n]*': [^\n]*" + reason + rf"[^\n]*\(reject code {code}\)",
                   start=off)
    # Encryption: libsrt refuses after our callback; the log still names the peer.
    off = s.log_offset()
    rep = S.probe(s, "#!::r=sec/x,m=publish", passphrase="wrong passphrase!")
    assert not rep["connected"] and rep["reject_code"] == 10, rep  # SRT_REJ_BADSECRET
    s.wait_log(r"srt 127\.0\.0\.1:\d+: refused '#!::r=sec/x,m=publish': wrong passphrase", start=off)
    rep = S.probe(s, "#!::r=sec/x,m=publish")
    assert not rep["connected"] and rep["reject_code"] == 11, rep  # SRT_REJ_UNSECURE
    rep = S.probe(s, "#!::r=live/y,m=publish", passphrase="correct horse battery")
    assert not rep["connected"] and rep["reject_code"] == 11, rep
    rep = S.probe(s, "#!::r=sec/x,m=publish", passphrase="correct horse battery")
    assert rep["connected"], rep
    # A real client: ffmpeg fails to connect (it does not print the code).
    r = media.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                   S.srt_url(s, S.streamid(stream="absent", mode="request")), "-f", "null", "-"], timeout=30)
    assert r.returncode != 0 and "srt" in r.stderr.lower(), r.stderr[-500:]
    refused = s.metric("weir_srt_rejected_total")
    assert refused >= len(cases) + 4, refused
    pub.stop()


def test_app_srt_options_are_applied(weir, tmp_path):
    s = weir({"apps": {"live": {"play_wait_ms": 2000, "srt": {"latency_ms": 333, "peer_latency_ms": 222}}}})
    rep = S.probe(s, "#!::r=live/s,m=request", latency=50, recv=3)
    # Our receiver latency is the caller's peer latency, and the reverse.
    assert rep["connected"] and rep["peer_latency_ms"] == 333 and rep["rcv_latency_ms"] == 222, rep
    s.wait_log(r"srt #\d+ 127\.0\.0\.1:\d+: closed: play refused: stream live/s was not published within 2000 ms",
               timeout=5)


def test_bad_input_closes_only_that_session(weir, tmp_path):
    s = weir({"apps": {"live": {"reconnect_grace_ms": 0}}})
    good = S.start_ts_publisher(S.srt_url(s, S.streamid(stream="good")), tmp_path, "good", duration=14,
                                pes_payload_size=None)
    s.wait_stream(name="good", pred=lambda i: i["video_frames"] >= 10)
    viewer = FlvViewer(s.http_addr, "/live/good.flv")
    viewer.start()

    clip = S.make_ts_clip(tmp_path / "clip.ts", duration=2.0)
    data = clip.read_bytes()
    files = {
        "notables": S.without_tables(data),
        "badpes": S.corrupt_pes_headers(data, every=2),
        "longpes": S.absurd_pes_lengths(data),
        "noise": random.Random(7).randbytes(300 * 1316),
    }
    probes = []
    for name, blob in files.items():
        p = tmp_path / f"{name}.ts"
        p.write_bytes(blob)
        probes.append((name, S.start_probe(s, S.streamid(stream=name), tmp_path, f"probe-{name}", send=p,
                                           rate=400000, hold=6.5)))
    # Garbage datagrams at the SRT port itself.
    host, port = S.srt_addr(s)
    rnd = random.Random(1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for i in range(3000):
            u.sendto(rnd.randbytes(rnd.choice([1, 16, 64, 200, 1316, 1500])), (host, port))
    before = s.stream_info("live", "good")["video_frames"]

    for name, p in probes:
        assert p.wait(30) == 0, f"{name}: {p.log()[-1000:]}"
        rep = S.probe_report(p)
        assert rep["connected"] and rep["sent"] > 0, f"{name}: {rep}"
    # Each bad publisher is closed with a reason or survives counting damage.
    s.wait_log(r"stopped publishing live/notables: ts: no PAT/PMT in the first 5000 ms", timeout=5)
    s.wait_log(r"stopped publishing live/noise: ts: no PAT/PMT in the first 5000 ms", timeout=5)
    for name in ("badpes", "longpes"):
        s.wait_log(rf"stopped publishing live/{name}: ", timeout=5)
    m = s.metrics()
    assert m["weir_srt_ts_pes_dropped_total"] > 0, m
    assert m["weir_srt_ts_resyncs_total"] > 0 or m["weir_srt_ts_errors_total"] > 0, m
    # The good stream kept flowing the whole time, to its viewer too.
    after = s.stream_info("live", "good")["video_frames"]
    assert after - before >= 6 * FPS * 0.9, f"good stream: {after - before} frames in the bad-input window"
    tags = viewer.snapshot()
    assert not checks.video_gaps(tags, 300), checks.video_gaps(tags, 300)
    viewer.stop()
    good.stop()
    assert s.running()


def test_srt_port_in_use_and_srt_disabled(weir, weir_bin, tmp_path):
    s = weir()
    host, port = S.srt_addr(s)
    # A second server on the same SRT port does not start, and says why.
    env = clean_env({"WEIR_RTMP_LISTEN": "127.0.0.1:0", "WEIR_HTTP_LISTEN": "127.0.0.1:0", "WEIR_API_LISTEN": "127.0.0.1:0",
                     "WEIR_SRT_LISTEN": f"{host}:{port}"})
    r = subprocess.run([str(weir_bin), "-c", str(s.config_path)], env=env, capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1, (r.returncode, r.stderr[-1000:])
    assert f"srt.listen: bind {host}:{port}" in r.stderr and "in use" in r.stderr, r.stderr[-1000:]
    # srt.enabled: false -> no SRT listener and no "srt" in the listening line.
    off = weir({"srt": {"enabled": False}}, name="nosrt")
    assert "srt" not in off.info, off.info


def test_srt_publisher_reconnects_within_grace(weir, tmp_path):
    s = weir({"apps": {"live": {"play_wait_ms": 10000, "reconnect_grace_ms": 3000}}})
    reader = S.start_reader(S.srt_url(s, S.streamid(mode="request")), tmp_path / "srt.ts", tmp_path, "srt-reader")
    wait_until(lambda: s.metric("weir_srt_connections") >= 1, 10, "the SRT reader to connect")
    for i in range(2):
        pub = S.start_ts_publisher(S.srt_url(s, S.streamid()), tmp_path, f"pub{i}", duration=2.5)
        assert pub.wait(30) == 0, pub.log()
        s.wait_log(rf"(?s)(stopped publishing live/s: .*){{{i + 1}}}")
    info = s.stream_info()
    assert info["publishes"] == 2 and s.metric("weir_republish_total") == 1, info
    reader_rc = reader.wait(20)
    assert reader_rc == 0, reader.log()
    # One continuous output: both sessions' frames, timestamps never going back.
    counts = media.count_frames(tmp_path / "srt.ts")
    assert counts["video"] >= 2 * 2.5 * FPS * 0.85, counts
    pk = [p for p in media.packets(tmp_path / "srt.ts") if p["type"] == "video"]
    dts = [p["dts"] for p in pk if p["dts"] is not None]
    assert all(b >= a for a, b in zip(dts, dts[1:])), "video DTS went back in the SRT output across the reconnect"
    assert s.metric("weir_srt_connections") == 0


def read_http_ts(s, seconds):
    """GET /live/s.ts for `seconds`; the body bytes."""
    host, port = s.http_addr
    with socket.create_connection((host, port), timeout=5) as c:
        c.sendall(b"GET /live/s.ts HTTP/1.1\r\nHost: x\r\n\r\n")
        data = bytearray()
        end = time.monotonic() + seconds
        c.settimeout(0.5)
        while time.monotonic() < end:
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return body


def cc_errors(ts):
    """(pid, offset, expected, got) for every continuity-counter break."""
    assert ts[:1] == b"\x47", ts[:8]
    last, errors = {}, []
    for off in range(0, len(ts) - 187, 188):
        p = ts[off:off + 188]
        pid = ((p[1] & 0x1F) << 8) | p[2]
        afc, cc = (p[3] >> 4) & 3, p[3] & 0x0F
        disc = afc & 2 and p[4] > 0 and p[5] & 0x80
        if afc & 1:
            if pid in last and not disc and cc != (last[pid] + 1) & 0x0F:
                errors.append((pid, off, (last[pid] + 1) & 0x0F, cc))
            last[pid] = cc
    return errors


def test_ts_viewers_coming_and_going_see_continuous_counters(weir, tmp_path):
    # The stream's one TS mux idles while nobody reads TS; a later first reader
    # starts in a GOP whose first packets were muxed for an earlier reader.
    s = weir({"apps": {"live": APP}})
    pub = media.start_publisher(s.rtmp_url(), tmp_path, duration=12, gop=2 * FPS)
    s.wait_stream(pred=lambda i: i["video_frames"] >= FPS)
    bodies = []
    # The first spans a keyframe (2 s GOP) and leaves mid-GOP; the second
    # starts in that GOP; the third after a pause past the next keyframe.
    for seconds, pause in ((2.5, 0.2), (1.0, 2.5), (2.0, 0)):
        bodies.append(read_http_ts(s, seconds))
        time.sleep(pause)
    pub.stop()
    for i, body in enumerate(bodies):
        assert len(body) > 50 * 188, f"reader {i}: {len(body)} bytes"
        errs = cc_errors(body[:len(body) - len(body) % 188])
        assert not errs, f"reader {i}: continuity breaks (pid, offset, expected, got): {errs[:8]}"
    path = tmp_path / "last.ts"
    path.write_bytes(bodies[-1])
    checks.assert_decodes_cleanly(path)
