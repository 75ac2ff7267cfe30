"""ffmpeg publishers (lavfi testsrc2 + sine -> libx264 + AAC, paced with -re)
and ffprobe helpers. Every child process writes its stderr to a file so a
failing test can show it."""

import json
import signal
import subprocess
import time
from pathlib import Path

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# Every child started through Proc, so the test fixtures can reap leftovers.
ALL_PROCS = []


def publisher_args(url, duration=3.0, size="320x240", fps=25, gop=25, bitrate="500k", audio=True, video=True,
                   cbr=False, realtime=True, extra=(), fmt="flv", pattern="testsrc2"):
    """ffmpeg argument list that publishes a test pattern (and a 440 Hz tone)
    to `url`. gop: fixed keyframe interval in frames (scene cuts off). cbr:
    pad to a constant `bitrate` with filler NAL units. duration None = until
    killed. pattern: the lavfi video source ("color=c=blue" for a flat one)."""
    a = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error"]
    if video:
        if realtime:
            a += ["-re"]
        a += ["-f", "lavfi", "-i", f"{pattern}:size={size}:rate={fps}" if "=" in pattern else f"{pattern}=size={size}:rate={fps}"]
    if audio:
        if realtime:
            a += ["-re"]
        a += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    if duration is not None:
        a += ["-t", f"{duration}"]
    if video:
        a += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
              "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-b:v", bitrate]
        if cbr:
            a += ["-minrate", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-x264-params", "nal-hrd=cbr"]
    if audio:
        a += ["-c:a", "aac", "-ar", "44100", "-ac", "2", "-b:a", "96k"]
    a += list(extra)
    a += ["-f", fmt, url]
    return a


class Proc:
    """A child process with stderr (and optionally stdout) in files."""

    def __init__(self, args, logdir, name, stdout=None):
        self.args = args
        self.name = name
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.log_path = Path(logdir) / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
                                  stderr=self._log)
        self.started = time.monotonic()
        ALL_PROCS.append(self)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        finally:
            if self.p.poll() is not None:
                self._log.close()

    def running(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGINT, timeout=5):
        """Stops it (SIGINT lets ffmpeg finish its output); returns the exit code."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self._log.close()
        return self.p.returncode

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __repr__(self):
        return f"Proc({self.name}, rc={self.p.poll()})"


def start_publisher(url, logdir, name="publisher", **kw):
    return Proc(publisher_args(url, **kw), logdir, name)


def start_recorder(url, out_path, logdir, name="recorder", extra_in=(), timeout_s=None):
    """ffmpeg reading `url` (RTMP or HTTP) and copying it to an FLV file."""
    a = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error"]
    a += list(extra_in)
    a += ["-i", url, "-c", "copy", "-f", "flv", str(out_path)]
    return Proc(a, logdir, name)


def run(args, timeout=60, input=None):
    """Runs a command; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(args, input=input, capture_output=True, timeout=timeout,
                          text=not isinstance(input, (bytes, bytearray)))


def ffprobe_json(path, *args, fmt=None, timeout=60):
    cmd = [FFPROBE, "-v", "error", "-of", "json"]
    if fmt:
        cmd += ["-f", fmt]
    cmd += list(args) + [str(path)]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    if r.returncode != 0:
        raise AssertionError(f"ffprobe {path} failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def streams(path):
    """{'video': stream dict, 'audio': stream dict} (first of each kind)."""
    out = {}
    for s in ffprobe_json(path, "-show_streams")["streams"]:
        out.setdefault(s["codec_type"], s)
    return out


def count_frames(path):
    """Decoded frames per kind: {'video': n, 'audio': n} (ffprobe -count_frames)."""
    out = {}
    for s in ffprobe_json(path, "-count_frames", "-show_streams")["streams"]:
        out[s["codec_type"]] = int(s.get("nb_read_frames", 0))
    return out


def packets(path):
    """Packets in file order: dicts with codec_type, pts_time, dts_time (floats or None), flags."""
    data = ffprobe_json(path, "-show_entries", "packet=stream_index,pts_time,dts_time,flags,size:stream=index,codec_type",
                        "-show_streams")
    kinds = {s["index"]: s["codec_type"] for s in data["streams"]}
    out = []
    for p in data.get("packets", []):
        out.append({
            "type": kinds.get(p["stream_index"]),
            "pts": float(p["pts_time"]) if p.get("pts_time") not in (None, "N/A") else None,
            "dts": float(p["dts_time"]) if p.get("dts_time") not in (None, "N/A") else None,
            "flags": p.get("flags", ""),
            "size": int(p.get("size", 0)),
        })
    return out


def decode_errors(path, fmt=None, timeout=120):
    """Decodes the whole file with ffmpeg; returns (returncode, stderr). A
    clean decode has rc 0 and empty stderr at -v error."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error"]
    if fmt:
        cmd += ["-f", fmt]
    # Millisecond encoder time base: FLV timestamps are ms, and ffmpeg's
    # default (1/guessed frame rate) makes two frames 30 ms apart collide
    # ("non monotonically increasing dts") when a splice (reconnect,
    # takeover) makes it guess 24.75 fps for a 25 fps stream.
    cmd += ["-i", str(path), "-enc_time_base:v", "1:1000", "-f", "null", "-"]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    return r.returncode, r.stderr


def decode_count(data_or_path, fmt, timeout=120):
    """Frames ffmpeg decodes from raw bytes (piped) or a file: (rc, frames, stderr)."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-f", fmt]
    out = ["-enc_time_base:v", "1:1000", "-f", "null", "-"]
    if isinstance(data_or_path, (bytes, bytearray)):
        cmd += ["-i", "-"] + out
        r = subprocess.run(cmd, input=bytes(data_or_path), capture_output=True, timeout=timeout)
    else:
        cmd += ["-i", str(data_or_path)] + out
        r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    frames = 0
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("frame="):
            frames = int(line.split("=", 1)[1])
    return r.returncode, frames, r.stderr.decode(errors="replace")


def hexdump_to_bytes(text):
    """Bytes of an ffprobe -show_data hex dump ("00000000: 0011 2233 ...  ascii")."""
    out = bytearray()
    for line in text.splitlines():
        if ":" not in line:
            continue
        hexpart = line.split(":", 1)[1][:41]
        out += bytes.fromhex(hexpart.replace(" ", ""))
    return bytes(out)
