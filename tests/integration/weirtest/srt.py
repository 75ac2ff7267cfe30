"""SRT helpers for the black-box tests: srt:// URLs with Access Control
stream ids, ffmpeg MPEG-TS publishers (H.264 or HEVC + AAC) and readers over
SRT, srt-live-transmit relays, the srtprobe tool (a libsrt caller that prints
the listener's reject reason, which ffmpeg and srt-live-transmit do not show),
and MPEG-TS byte surgery for bad-input tests."""

import json
import os
import subprocess
import urllib.parse
from pathlib import Path

from . import media

TS = 188


def srt_addr(server):
    """(host, port) of the server's SRT listener (from the listening line)."""
    s = server.info.get("srt")
    assert s, f"{server.name}: no 'srt' in the listening line {server.info}"
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def streamid(app="live", stream="s", mode="publish", **keys):
    """Access Control stream id: #!::r=APP/STREAM,m=MODE[,k=v...]."""
    sid = f"#!::r={app}/{stream},m={mode}"
    for k, v in keys.items():
        sid += f",{k}={v}"
    return sid


def srt_url(server, sid, encode=False, **opts):
    """srt:// URL of the server with `sid` as streamid and extra query options
    (latency=..., passphrase=...). ffmpeg 5.1 passes the streamid to libsrt
    as written (no URL decoding), so it goes raw by default; encode=True
    percent-encodes it (Weir decodes an id that starts with %23)."""
    host, port = srt_addr(server)
    q = "streamid=" + (urllib.parse.quote(sid, safe="") if encode else sid)
    for k, v in opts.items():
        q += f"&{k}={urllib.parse.quote(str(v), safe='')}"
    return f"srt://{host}:{port}?{q}"


def ts_publisher_args(url, duration=4.0, vcodec="h264", fps=25, gop=25, size="320x240", audio=True,
                      realtime=True, pes_payload_size=0):
    """ffmpeg arguments that publish a test pattern (+ 440 Hz tone) as
    MPEG-TS to `url` (srt:// or udp://). pes_payload_size 0: one AAC frame
    per PES, sent at once (ffmpeg's default, 2930, sends ~0.25 s of audio per
    PES: bursty audio that lags video), None = ffmpeg's default."""
    a = [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error"]
    if realtime:
        a += ["-re"]
    a += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if audio:
        if realtime:
            a += ["-re"]
        a += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    if duration is not None:
        a += ["-t", f"{duration}"]
    if vcodec == "h264":
        a += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(gop),
              "-keyint_min", str(gop), "-sc_threshold", "0", "-b:v", "500k"]
    elif vcodec == "hevc":
        a += ["-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
              "-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error", "-b:v", "500k"]
    else:
        raise ValueError(vcodec)
    a += ["-pix_fmt", "yuv420p"]
    if audio:
        a += ["-c:a", "aac", "-ar", "44100", "-ac", "2", "-b:a", "96k"]
    if pes_payload_size is not None:
        a += ["-pes_payload_size", str(pes_payload_size)]
    a += ["-f", "mpegts", "-mpegts_flags", "+resend_headers", url]
    return a


def start_ts_publisher(url, logdir, name="srt-publisher", **kw):
    return media.Proc(ts_publisher_args(url, **kw), logdir, name)


def start_reader(url, out_path, logdir, name="reader", fmt="mpegts", extra_in=()):
    """ffmpeg copying `url` (srt://, http://, rtmp://) to a file until the
    input ends."""
    a = [media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    a += list(extra_in) + ["-i", url, "-map", "0", "-c", "copy", "-f", fmt, str(out_path)]
    return media.Proc(a, logdir, name)


def make_ts_clip(path, duration=2.0, vcodec="h264", gop=25):
    """A short MPEG-TS file (test pattern + tone), encoded as fast as possible."""
    a = ts_publisher_args(str(path), duration=duration, vcodec=vcodec, gop=gop, realtime=False)
    a = [x for x in a if x not in ("-mpegts_flags", "+resend_headers")]
    r = subprocess.run(a, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ffmpeg could not make {path}: {r.stderr[-2000:]}"
    return Path(path)


# ----------------------------------------------------------------- srtprobe


def srtprobe_bin():
    env = os.environ.get("WEIR_SRTPROBE")
    if env:
        return Path(env)
    weir_bin = Path(os.environ.get("WEIR_BIN") or Path(__file__).resolve().parents[3] / "build" / "src" / "weir")
    p = weir_bin.resolve().parents[1] / "tools" / "srtprobe" / "srtprobe"
    assert p.is_file(), f"srtprobe not built at {p} (build target srtprobe, or set WEIR_SRTPROBE)"
    return p


def probe_args(server, sid, passphrase=None, send=None, rate=None, loop=False, recv=None, out=None, hold=None,
               latency=None, pbkeylen=None):
    host, port = srt_addr(server)
    a = [str(srtprobe_bin()), f"{host}:{port}", "--streamid", sid]
    if passphrase is not None:
        a += ["--passphrase", passphrase]
    if pbkeylen is not None:
        a += ["--pbkeylen", str(pbkeylen)]
    if latency is not None:
        a += ["--latency", str(latency)]
    if send is not None:
        a += ["--send", str(send)]
    if rate is not None:
        a += ["--rate", str(rate)]
    if loop:
        a += ["--loop"]
    if recv is not None:
        a += ["--recv", str(recv)]
    if out is not None:
        a += ["--out", str(out)]
    if hold is not None:
        a += ["--hold", str(hold)]
    return a


def probe(server, sid, timeout=60, **kw):
    """Runs srtprobe to the end; returns its JSON report."""
    r = subprocess.run(probe_args(server, sid, **kw), capture_output=True, text=True, timeout=timeout)
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert lines, f"srtprobe printed no report (rc {r.returncode}): {r.stdout!r} {r.stderr[-2000:]!r}"
    rep = json.loads(lines[-1])
    rep["rc"] = r.returncode
    return rep


def start_probe(server, sid, logdir, name="srtprobe", **kw):
    """srtprobe in the background (stdout, the JSON report, in <name>.out)."""
    out = open(Path(logdir) / f"{name}.out", "wb")
    p = media.Proc(probe_args(server, sid, **kw), logdir, name, stdout=out)
    p.report_path = Path(logdir) / f"{name}.out"
    return p


def probe_report(proc):
    text = proc.report_path.read_text()
    lines = [x for x in text.splitlines() if x.startswith("{")]
    assert lines, f"{proc.name} printed no report: {text!r}; log: {proc.log()[-1000:]}"
    return json.loads(lines[-1])


# ----------------------------------------------------------------- MPEG-TS surgery


def ts_packets(data):
    assert len(data) % TS == 0, f"{len(data)} bytes is not whole TS packets"
    return [bytearray(data[i:i + TS]) for i in range(0, len(data), TS)]


def pid_of(p):
    return ((p[1] & 0x1F) << 8) | p[2]


def pusi(p):
    return bool(p[1] & 0x40)


def payload_offset(p):
    afc = (p[3] >> 4) & 3
    if afc in (0, 2):
        return None
    off = 4
    if afc == 3:
        off += 1 + p[4]
    return off if off < TS else None


def es_pids(packets):
    """PIDs that carry PES packets (payload starting 00 00 01 at a unit start)."""
    out = set()
    for p in packets:
        off = payload_offset(p)
        if off is not None and pusi(p) and p[off:off + 3] == b"\x00\x00\x01":
            out.add(pid_of(p))
    return out


def without_tables(data):
    """The stream without PAT (PID 0) and PMT packets: ES packets only."""
    pk = ts_packets(data)
    keep = es_pids(pk)
    return b"".join(bytes(p) for p in pk if pid_of(p) in keep)


def corrupt_pes_headers(data, every=1):
    """Breaks the PES start code of every `every`-th PES (00 00 01 -> 00 00 02)."""
    pk = ts_packets(data)
    pids = es_pids(pk)
    n = 0
    for p in pk:
        off = payload_offset(p)
        if pid_of(p) in pids and pusi(p) and off is not None:
            if n % every == 0:
                p[off + 2] = 0x02
            n += 1
    return b"".join(bytes(p) for p in pk)


def absurd_pes_lengths(data):
    """Sets PES_packet_length of every PES to 0xFFFF (far more than it holds)."""
    pk = ts_packets(data)
    pids = es_pids(pk)
    for p in pk:
        off = payload_offset(p)
        if pid_of(p) in pids and pusi(p) and off is not None and off + 6 <= TS:
            p[off + 4] = 0xFF
            p[off + 5] = 0xFF
    return b"".join(bytes(p) for p in pk)


# ----------------------------------------------------------------- checks


def first_times(path):
    """(first video pts, first audio pts) in seconds, from ffprobe packets."""
    v = a = None
    for p in media.packets(path):
        t = p["pts"] if p["pts"] is not None else p["dts"]
        if t is None:
            continue
        if p["type"] == "video" and v is None:
            v = t
        elif p["type"] == "audio" and a is None:
            a = t
        if v is not None and a is not None:
            break
    return v, a
