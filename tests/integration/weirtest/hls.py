"""HLS helpers for the black-box tests: an M3U8 media-playlist parser (RFC
8216 / 8216bis tags Weir writes, including LL-HLS parts, preload hints and
delta updates), a playlist follower that downloads every segment once (as a
player would) and writes a local VOD copy ffmpeg can read, MPEG-TS checks,
a small fMP4 box reader (sync-sample flags of moof/trun), AES-128 decryption
through the openssl CLI, and a paced HEVC publisher over Enhanced RTMP."""

import datetime
import json
import re
import struct
import subprocess
import threading
import time
from pathlib import Path

from . import httpc, media

# ----------------------------------------------------------------- playlists


def parse_attrs(s):
    """EXT-X attribute list -> {NAME: value} (quoted strings unquoted)."""
    out = {}
    i = 0
    while i < len(s):
        eq = s.find("=", i)
        if eq < 0:
            break
        name = s[i:eq].strip()
        j = eq + 1
        if j < len(s) and s[j] == '"':
            end = s.index('"', j + 1)
            value = s[j + 1:end]
            j = end + 1
        else:
            end = s.find(",", j)
            end = len(s) if end < 0 else end
            value = s[j:end]
            j = end
        out[name] = value
        if j < len(s) and s[j] == ",":
            j += 1
        i = j
    return out


def parse_pdt(s):
    """ISO 8601 date-time (as in EXT-X-PROGRAM-DATE-TIME) -> Unix seconds (float)."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(s).timestamp()


class Part:
    def __init__(self, attrs):
        self.attrs = attrs
        self.duration = float(attrs["DURATION"])
        self.uri = attrs["URI"]
        self.independent = attrs.get("INDEPENDENT") == "YES"

    def __repr__(self):
        return f"Part({self.uri}, {self.duration:.3f}{', I' if self.independent else ''})"


class Segment:
    """One media segment of a playlist. `complete` is False for the open
    segment of an LL-HLS playlist (parts, no EXTINF yet)."""

    def __init__(self):
        self.msn = None
        self.uri = None
        self.duration = None
        self.title = ""
        self.pdt = None
        self.pdt_text = None
        self.discontinuity = False
        self.disc_seq = None  # discontinuity sequence number of this segment
        self.key = None  # EXT-X-KEY attributes in effect (None = none / METHOD=NONE)
        self.map = None  # EXT-X-MAP URI in effect
        self.parts = []
        self.complete = False

    def __repr__(self):
        return f"Segment({self.msn}, {self.uri}, {self.duration}, parts={len(self.parts)})"


class Playlist:
    def __init__(self, text):
        self.text = text
        self.lines = [ln for ln in text.split("\n")]
        self.tags = {}  # tag name -> list of values (after the colon)
        self.segments = []
        self.version = None
        self.target = None
        self.media_sequence = None
        self.disc_sequence = 0
        self.independent_segments = False
        self.server_control = None
        self.part_inf = None
        self.preload_hint = None
        self.skip = None
        self.endlist = False
        self.playlist_type = None
        self.keys = []  # every EXT-X-KEY attribute dict in order
        self.maps = []
        self._parse()

    def _parse(self):
        lines = self.text.split("\n")
        if not lines or lines[0] != "#EXTM3U":
            raise ValueError(f"playlist does not start with #EXTM3U: {self.text[:80]!r}")
        if not self.text.endswith("\n"):
            raise ValueError("playlist does not end with a newline")
        cur = Segment()
        key = None
        mp = None
        pending_pdt = None
        disc = False
        skipped = 0
        for ln in lines[1:]:
            if not ln:
                continue
            if ln.startswith("#"):
                name, _, value = ln[1:].partition(":")
                self.tags.setdefault(name, []).append(value)
                if name == "EXT-X-VERSION":
                    self.version = int(value)
                elif name == "EXT-X-TARGETDURATION":
                    self.target = int(value)
                elif name == "EXT-X-MEDIA-SEQUENCE":
                    self.media_sequence = int(value)
                elif name == "EXT-X-DISCONTINUITY-SEQUENCE":
                    self.disc_sequence = int(value)
                elif name == "EXT-X-INDEPENDENT-SEGMENTS":
                    self.independent_segments = True
                elif name == "EXT-X-SERVER-CONTROL":
                    self.server_control = parse_attrs(value)
                elif name == "EXT-X-PART-INF":
                    self.part_inf = parse_attrs(value)
                elif name == "EXT-X-PRELOAD-HINT":
                    self.preload_hint = parse_attrs(value)
                elif name == "EXT-X-SKIP":
                    self.skip = parse_attrs(value)
                    skipped = int(self.skip["SKIPPED-SEGMENTS"])
                elif name == "EXT-X-ENDLIST":
                    self.endlist = True
                elif name == "EXT-X-PLAYLIST-TYPE":
                    self.playlist_type = value
                elif name == "EXT-X-KEY":
                    a = parse_attrs(value)
                    self.keys.append(a)
                    key = None if a.get("METHOD") == "NONE" else a
                elif name == "EXT-X-MAP":
                    a = parse_attrs(value)
                    self.maps.append(a)
                    mp = a["URI"]
                elif name == "EXT-X-DISCONTINUITY":
                    disc = True
                elif name == "EXT-X-PROGRAM-DATE-TIME":
                    pending_pdt = value
                elif name == "EXT-X-PART":
                    if not cur.parts:
                        cur.pdt_text = pending_pdt
                    cur.parts.append(Part(parse_attrs(value)))
                elif name == "EXTINF":
                    dur, _, title = value.partition(",")
                    cur.duration = float(dur)
                    cur.title = title
            else:
                cur.uri = ln
                cur.complete = True
                self._close(cur, pending_pdt, disc, key, mp)
                cur = Segment()
                pending_pdt = None
                disc = False
        if cur.parts:
            self._close(cur, pending_pdt, disc, key, mp)
        # Numbering: the first listed segment (skipped ones included) is MEDIA-SEQUENCE.
        base = (self.media_sequence or 0) + skipped
        d = self.disc_sequence
        for i, s in enumerate(self.segments):
            s.msn = base + i
            if s.discontinuity:
                d += 1
            s.disc_seq = d

    def _close(self, seg, pdt, disc, key, mp):
        seg.pdt_text = pdt if pdt is not None else seg.pdt_text
        seg.pdt = parse_pdt(seg.pdt_text) if seg.pdt_text else None
        seg.discontinuity = disc
        seg.key = key
        seg.map = mp
        self.segments.append(seg)

    # ---- conveniences
    @property
    def complete_segments(self):
        return [s for s in self.segments if s.complete]

    @property
    def open_segment(self):
        return self.segments[-1] if self.segments and not self.segments[-1].complete else None

    def segment(self, msn):
        for s in self.segments:
            if s.msn == msn:
                return s
        return None

    @property
    def last_msn(self):
        c = self.complete_segments
        return c[-1].msn if c else None

    def count(self, tag):
        return len(self.tags.get(tag, []))

    def __repr__(self):
        return f"Playlist(seq {self.media_sequence}, {len(self.segments)} segments)"


PART_RE = re.compile(r"part(\d+)\.(\d+)\.m4s$")
def part_name(uri):
    """'part123.4.m4s' -> (123, 4)."""
    m = PART_RE.search(uri)
    assert m, f"not a part URI: {uri}"
    return int(m.group(1)), int(m.group(2))


def get(server, path, timeout=10.0, headers=None):
    return httpc.get(server.http_addr, path, timeout=timeout, headers=headers)


def get_ok(server, path, timeout=10.0, headers=None):
    r = get(server, path, timeout=timeout, headers=headers)
    assert r.status == 200, f"GET {path}: {r.status} {r.body[:300]!r}"
    return r


def playlist(server, path, timeout=15.0):
    r = get_ok(server, path, timeout=timeout)
    return Playlist(r.body.decode())


def one_line_reason(r):
    """The body of an error answer: one line of text ending in a newline."""
    body = r.body.decode(errors="replace")
    assert body.endswith("\n") and body.count("\n") == 1 and len(body.strip()) > 5, \
        f"error body is not a one-line reason: {body!r}"
    return body.strip()


# ----------------------------------------------------------------- follower


def _dir_of(path):
    return path.rsplit("/", 1)[0] + "/"


class Follower(threading.Thread):
    """Reloads a live playlist every `interval` seconds and downloads each new
    segment once (and init sections / keys it references). Records every
    playlist it saw, and the first fetch of each segment's bytes.

    Checks while it runs (collected in .problems): MEDIA-SEQUENCE never goes
    back, a msn keeps its URI / duration / PDT / discontinuity number across
    reloads, no msn is skipped between reloads, and EXT-X-TARGETDURATION
    does not change (RFC 8216 6.2.1)."""

    def __init__(self, server, path, interval=0.5, keep_bytes=True):
        super().__init__(daemon=True)
        self.server = server
        self.path = path
        self.base = _dir_of(path)
        self.interval = interval
        self.keep_bytes = keep_bytes
        self.playlists = []  # (monotonic time, Playlist)
        self.segments = {}  # msn -> Segment (as first seen complete)
        self.data = {}  # msn -> bytes
        self.fetched_at = {}  # msn -> time.time() when fetched
        self.inits = {}  # uri -> bytes
        self.keys = {}  # uri -> bytes
        self.problems = []
        self.errors = []
        self._halt = threading.Event()
        self.ended = False

    def stop(self, timeout=10.0):
        self._halt.set()
        self.join(timeout)

    def _fetch(self, rel):
        r = get(self.server, self.base + rel, timeout=15)
        if r.status != 200:
            self.errors.append(f"GET {self.base + rel}: {r.status} {r.body[:200]!r}")
            return None
        return r.body

    def run(self):
        last_seq = None
        target = None
        while not self._halt.is_set():
            try:
                r = get(self.server, self.path, timeout=15)
            except OSError as e:
                self.errors.append(f"GET {self.path}: {e}")
                self._halt.wait(self.interval)
                continue
            if r.status == 200:
                pl = Playlist(r.body.decode())
                self.playlists.append((time.monotonic(), pl))
                if last_seq is not None and pl.media_sequence < last_seq:
                    self.problems.append(f"MEDIA-SEQUENCE went back from {last_seq} to {pl.media_sequence}")
                last_seq = pl.media_sequence
                if target is not None and pl.target != target:
                    self.problems.append(f"EXT-X-TARGETDURATION changed from {target} to {pl.target}:\n{pl.text}")
                target = pl.target
                for s in pl.complete_segments:
                    old = self.segments.get(s.msn)
                    if old is not None:
                        # (The EXT-X-DISCONTINUITY tag of a playlist's first
                        # segment is left out, its number being the header's
                        # EXT-X-DISCONTINUITY-SEQUENCE: disc_seq covers it.)
                        for attr in ("uri", "duration", "pdt", "disc_seq"):
                            if getattr(old, attr) != getattr(s, attr):
                                self.problems.append(f"msn {s.msn}: {attr} changed from {getattr(old, attr)!r} "
                                                     f"to {getattr(s, attr)!r} between reloads")
                        continue
                    if self.segments and s.msn > max(self.segments) + 1:
                        self.problems.append(f"msn {max(self.segments) + 1}..{s.msn - 1} never listed")
                    if self.segments and s.msn < max(self.segments):
                        continue  # an old segment we never saw (we started late): ignore
                    self.segments[s.msn] = s
                    if s.map and s.map not in self.inits:
                        b = self._fetch(s.map)
                        if b is not None:
                            self.inits[s.map] = b
                    if s.key and s.key["URI"] not in self.keys:
                        b = self._fetch(s.key["URI"])
                        if b is not None:
                            self.keys[s.key["URI"]] = b
                    if self.keep_bytes:
                        b = self._fetch(s.uri)
                        if b is not None:
                            self.data[s.msn] = b
                            self.fetched_at[s.msn] = time.time()
                if pl.endlist:
                    self.ended = True
                    return
            self._halt.wait(self.interval)

    # ---- results
    def msns(self):
        return sorted(self.segments)

    def total_duration(self, msns=None):
        return sum(self.segments[m].duration for m in (msns or self.msns()))

    def write_vod(self, outdir, name="vod.m3u8", msns=None, version=None):
        """Writes the downloaded segments (and inits/keys) to outdir with a
        VOD playlist ffmpeg can read. Returns its path."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        msns = msns or [m for m in self.msns() if m in self.data]
        assert msns, "no segment downloaded"
        first = self.segments[msns[0]]
        target = max(round(self.segments[m].duration) for m in msns)
        target = max(target, max(int(self.segments[m].duration + 0.999) for m in msns))
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{version or (6 if first.map else 3)}",
                 f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{msns[0]}",
                 "#EXT-X-PLAYLIST-TYPE:VOD"]
        cur_map = cur_key = None
        for i, m in enumerate(msns):
            s = self.segments[m]
            if i and (s.discontinuity or m != msns[i - 1] + 1):
                lines.append("#EXT-X-DISCONTINUITY")
            if s.map != cur_map and s.map:
                fn = "init_" + s.map.replace("/", "_")
                (outdir / fn).write_bytes(self.inits[s.map])
                lines.append(f'#EXT-X-MAP:URI="{fn}"')
                cur_map = s.map
            kuri = s.key["URI"] if s.key else None
            if kuri != cur_key:
                if kuri:
                    fn = "key_" + kuri.replace("/", "_")
                    (outdir / fn).write_bytes(self.keys[kuri])
                    lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{fn}"')
                else:
                    lines.append("#EXT-X-KEY:METHOD=NONE")
                cur_key = kuri
            fn = s.uri.replace("/", "_")
            (outdir / fn).write_bytes(self.data[m])
            lines.append(f"#EXTINF:{s.duration:.3f},")
            lines.append(fn)
        lines.append("#EXT-X-ENDLIST")
        p = outdir / name
        p.write_text("\n".join(lines) + "\n")
        return p


# ----------------------------------------------------------------- ffmpeg


def ffmpeg_decode(url_or_path, seconds=None, loglevel="warning", extra_in=(), timeout=90):
    """Decodes an input (an HLS playlist URL or file) with ffmpeg at
    `loglevel` to the null muxer; returns (rc, stderr)."""
    cmd = [media.FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-v", loglevel]
    cmd += list(extra_in) + ["-i", str(url_or_path)]
    if seconds is not None:
        cmd += ["-t", str(seconds)]
    cmd += ["-enc_time_base:v", "1:1000", "-f", "null", "-"]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return r.returncode, r.stderr.decode(errors="replace")


def count_frames(path_or_url, extra_in=(), timeout=90):
    """ffprobe -count_frames over an input: ({'video': n, 'audio': n}, stderr at -v warning)."""
    cmd = [media.FFPROBE, "-v", "warning", "-of", "json", "-count_frames", "-show_streams"]
    cmd += list(extra_in) + [str(path_or_url)]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    assert r.returncode == 0, f"ffprobe {path_or_url} failed ({r.returncode}): {r.stderr[-2000:]}"
    out = {}
    codecs = {}
    for s in json.loads(r.stdout)["streams"]:
        out[s["codec_type"]] = out.get(s["codec_type"], 0) + int(s.get("nb_read_frames", 0))
        codecs[s["codec_type"]] = s.get("codec_name")
    return out, codecs, r.stderr


def probe_streams(url_or_path, timeout=60, extra_in=()):
    """ffprobe -v warning -show_streams: (streams by kind, stderr)."""
    cmd = [media.FFPROBE, "-v", "warning", "-of", "json", "-show_streams"] + list(extra_in) + [str(url_or_path)]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    assert r.returncode == 0, f"ffprobe {url_or_path} failed ({r.returncode}): {r.stderr[-2000:]}"
    out = {}
    for s in json.loads(r.stdout)["streams"]:
        out.setdefault(s["codec_type"], s)
    return out, r.stderr


# FFmpeg 5.1's HLS demuxer allocates a new EXT-X-MAP record on every reload of
# a live playlist and then feeds the (same) init segment to the mp4 demuxer
# again, which logs this at warning level. It comes from the reader, not the
# stream: the same playlist read as a VOD copy is checked without exception.
FFMPEG_LIVE_FMP4_NOISE = re.compile(r"^\[mov,mp4,m4a,3gp,3g2,mj2 @ 0x[0-9a-f]+\] Found duplicated MOOV Atom\. Skipped it\s*$"
                                    r"|^\s*Last message repeated \d+ times\s*$")


def warnings_except_live_fmp4_noise(stderr):
    return "\n".join(ln for ln in stderr.splitlines() if ln.strip() and not FFMPEG_LIVE_FMP4_NOISE.match(ln))


# ----------------------------------------------------------------- MPEG-TS


def is_plain_ts(data):
    """True when data is a whole number of 188-byte packets, each starting with 0x47."""
    if not data or len(data) % 188:
        return False
    return all(data[i] == 0x47 for i in range(0, len(data), 188))


def aes128_cbc_decrypt(data, key, iv):
    """AES-128-CBC with PKCS#7 padding, through the openssl CLI."""
    r = subprocess.run(["openssl", "enc", "-d", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex()],
                       input=data, capture_output=True, timeout=30)
    assert r.returncode == 0, f"openssl could not decrypt: {r.stderr.decode(errors='replace')}"
    return r.stdout


def iv_for_msn(msn):
    return int(msn).to_bytes(16, "big")


# ----------------------------------------------------------------- fMP4

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf"}


def boxes(data, start=0, end=None):
    """[(type str, offset, size, payload offset)] of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    out = []
    off = start
    while off + 8 <= end:
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - off
        if size < hdr or off + size > end:
            raise ValueError(f"box {typ!r} at {off}: size {size} runs past {end}")
        out.append((typ.decode("latin-1"), off, size, off + hdr))
        off += size
    if off != end:
        raise ValueError(f"{end - off} trailing bytes after the last box")
    return out


def find_boxes(data, path, start=0, end=None):
    """Boxes at a path like 'moov/trak/mdia/hdlr' -> [(offset, size, payload offset)]."""
    first, _, rest = path.partition("/")
    out = []
    for typ, off, size, pay in boxes(data, start, end):
        if typ != first:
            continue
        if rest:
            out += find_boxes(data, rest, pay, off + size)
        else:
            out.append((off, size, pay))
    return out


class InitInfo:
    """Tracks of an fMP4 init segment: {track_id: handler}, trex default sample flags."""

    def __init__(self, data):
        self.tracks = {}
        self.trex_flags = {}
        self.codecs = {}
        for off, size, pay in find_boxes(data, "moov/trak"):
            tkhd = find_boxes(data, "tkhd", pay, off + size)[0]
            v = data[tkhd[2]]
            tid = struct.unpack(">I", data[tkhd[2] + (20 if v == 1 else 12):][:4])[0]
            hdlr = find_boxes(data, "mdia/hdlr", pay, off + size)[0]
            handler = data[hdlr[2] + 8:hdlr[2] + 12].decode("latin-1")
            self.tracks[tid] = handler
            stsd = find_boxes(data, "mdia/minf/stbl/stsd", pay, off + size)
            if stsd:
                self.codecs[tid] = data[stsd[0][2] + 12:stsd[0][2] + 16].decode("latin-1")
        for off, size, pay in find_boxes(data, "moov/mvex/trex"):
            tid, _desc, _dur, _size, flags = struct.unpack(">IIIII", data[pay + 4:pay + 24])
            self.trex_flags[tid] = flags

    def track_of(self, handler):
        for tid, h in self.tracks.items():
            if h == handler:
                return tid
        return None


def fragment_samples(data, init):
    """Samples of every moof in data: {track_id: [(is_sync, duration)]} in order."""
    out = {}
    for off, size, pay in find_boxes(data, "moof"):
        for toff, tsize, tpay in find_boxes(data, "traf", pay, off + size):
            tfhd = find_boxes(data, "tfhd", tpay, toff + tsize)[0]
            p = tfhd[2]
            tf_flags = int.from_bytes(data[p + 1:p + 4], "big")
            tid = struct.unpack(">I", data[p + 4:p + 8])[0]
            q = p + 8
            default_dur = None
            default_flags = init.trex_flags.get(tid, 0)
            if tf_flags & 0x1:
                q += 8
            if tf_flags & 0x2:
                q += 4
            if tf_flags & 0x8:
                default_dur = struct.unpack(">I", data[q:q + 4])[0]
                q += 4
            if tf_flags & 0x10:
                q += 4
            if tf_flags & 0x20:
                default_flags = struct.unpack(">I", data[q:q + 4])[0]
                q += 4
            for roff, rsize, rpay in find_boxes(data, "trun", tpay, toff + tsize):
                r_flags = int.from_bytes(data[rpay + 1:rpay + 4], "big")
                count = struct.unpack(">I", data[rpay + 4:rpay + 8])[0]
                q = rpay + 8
                if r_flags & 0x1:
                    q += 4
                first_flags = None
                if r_flags & 0x4:
                    first_flags = struct.unpack(">I", data[q:q + 4])[0]
                    q += 4
                for i in range(count):
                    dur = default_dur
                    flags = default_flags
                    if r_flags & 0x100:
                        dur = struct.unpack(">I", data[q:q + 4])[0]
                        q += 4
                    if r_flags & 0x200:
                        q += 4
                    if r_flags & 0x400:
                        flags = struct.unpack(">I", data[q:q + 4])[0]
                        q += 4
                    if r_flags & 0x800:
                        q += 4
                    if i == 0 and first_flags is not None:
                        flags = first_flags
                    is_sync = not (flags & 0x10000)  # sample_is_non_sync_sample
                    out.setdefault(tid, []).append((is_sync, dur))
    return out


# ----------------------------------------------------------------- HEVC over E-RTMP

FOURCC_HVC1 = 0x68766331


class HevcClip:
    """An HEVC + AAC clip made with ffmpeg (libx265), split into the FLV tag
    bodies an Enhanced-RTMP publisher sends."""

    def __init__(self, workdir, seconds=8, fps=25, gop=25):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        mp4 = workdir / "hevc.mp4"
        r = subprocess.run([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                            "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={fps}",
                            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds),
                            "-c:v", "libx265", "-preset", "ultrafast",
                            "-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error",
                            "-tag:v", "hvc1", "-c:a", "aac", "-ac", "2", str(mp4)],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stderr
        info = media.ffprobe_json(mp4, "-show_streams", "-show_packets", "-show_data")
        streams = {s["index"]: s for s in info["streams"]}
        vidx = next(i for i, s in streams.items() if s["codec_type"] == "video")
        aidx = next(i for i, s in streams.items() if s["codec_type"] == "audio")
        self.hvcc = media.hexdump_to_bytes(streams[vidx]["extradata"])
        self.asc = media.hexdump_to_bytes(streams[aidx]["extradata"])

        def ms(x):
            return round(float(x) * 1000)

        pk = info["packets"]
        shift = max(0, -min(ms(p["dts_time"]) for p in pk))
        tags = []
        for p in pk:
            data = media.hexdump_to_bytes(p["data"])
            dts = ms(p["dts_time"]) + shift
            if p["stream_index"] == vidx:
                cts = ms(p["pts_time"]) + shift - dts
                ft = 1 if "K" in p["flags"] else 2
                body = bytes([0x80 | ft << 4 | 1]) + b"hvc1" + (cts & 0xFFFFFF).to_bytes(3, "big") + data
                tags.append((dts, 0, 9, body))
            elif p["stream_index"] == aidx:
                tags.append((dts, 1, 8, b"\xaf\x01" + data))
        tags.sort(key=lambda t: (t[0], t[1]))
        self.media = [(t, ts, body) for ts, _, t, body in tags]
        self.video_frames = sum(1 for t, _, _ in self.media if t == 9)


class HevcPublisher(threading.Thread):
    """Publishes an HevcClip over Enhanced RTMP, paced in real time."""

    def __init__(self, server, clip, app="live", name="hevc"):
        super().__init__(daemon=True)
        from .rtmp import RtmpClient
        self.clip = clip
        self.client = RtmpClient.open(server.rtmp_addr)
        self.client.start_publish(app, name, chunk_size=65536, extra_connect={"fourCcList": ["hvc1"]})
        self._halt = threading.Event()
        self.error = None
        self.sent_frames = 0

    def run(self):
        c = self.client
        try:
            c.send_metadata({"width": 320.0, "height": 240.0, "framerate": 25.0,
                             "videocodecid": float(FOURCC_HVC1), "audiocodecid": 10.0,
                             "audiosamplerate": 44100.0, "stereo": True})
            c.send_video(0, bytes([0x80 | 1 << 4 | 0]) + b"hvc1" + self.clip.hvcc)
            c.send_audio(0, b"\xaf\x00" + self.clip.asc)
            t0 = time.monotonic()
            for t, ts, body in self.clip.media:
                wait = t0 + ts / 1000.0 - time.monotonic()
                if wait > 0 and self._halt.wait(wait):
                    return
                if t == 9:
                    c.send_video(ts, body)
                    self.sent_frames += 1
                else:
                    c.send_audio(ts, body)
        except Exception as e:  # noqa: BLE001 - reported through .error
            self.error = e

    def stop(self):
        self._halt.set()
        self.join(10)
        try:
            self.client.close()
        except OSError:
            pass
