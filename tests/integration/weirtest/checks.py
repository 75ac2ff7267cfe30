"""Assertions shared by the tests."""

from . import media


def assert_per_track_monotonic(tags, what="stream"):
    """Video and audio tag timestamps (DTS) never go back, each on its own track."""
    for kind, sel in (("video", lambda t: t.is_video), ("audio", lambda t: t.is_audio)):
        last = None
        for t in tags:
            if not sel(t):
                continue
            if last is not None:
                assert t.timestamp >= last.timestamp, \
                    f"{what}: {kind} timestamp went back from {last.timestamp} to {t.timestamp} (tag at byte {t.offset})"
            last = t


def assert_av_basics(path, width=320, height=240, sample_rate=44100, channels=2):
    st = media.streams(path)
    assert "video" in st and "audio" in st, f"{path}: streams {list(st)}"
    v, a = st["video"], st["audio"]
    assert v["codec_name"] == "h264", v["codec_name"]
    assert (v["width"], v["height"]) == (width, height), (v["width"], v["height"])
    assert a["codec_name"] == "aac", a["codec_name"]
    assert int(a["sample_rate"]) == sample_rate, a["sample_rate"]
    assert int(a["channels"]) == channels, a["channels"]
    return st


def within(value, expected, frac, what):
    lo, hi = expected * (1 - frac), expected * (1 + frac)
    assert lo <= value <= hi, f"{what}: {value}, expected {expected} +-{frac * 100:.0f}% ({lo:.1f}..{hi:.1f})"


def assert_decodes_cleanly(path, fmt=None):
    rc, err = media.decode_errors(path, fmt)
    assert rc == 0 and not err.strip(), f"ffmpeg could not decode {path} cleanly (rc {rc}):\n{err[-3000:]}"


def video_gaps(tags, max_gap_ms):
    """[(index in the video frame list, previous ts, ts)] where consecutive video frames are more than max_gap_ms apart."""
    frames = [t for t in tags if t.is_video_frame]
    out = []
    for i in range(1, len(frames)):
        if frames[i].timestamp - frames[i - 1].timestamp > max_gap_ms:
            out.append((i, frames[i - 1].timestamp, frames[i].timestamp))
    return out
