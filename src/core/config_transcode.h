// Transcoding: renditions, watermarks and snapshots per app, and the transcode
// and snapshot pools.
// Part of the typed configuration (core/config.h includes every part; the
// rules of config.h hold here: each field listed once in its visit(), read-only
// after start).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/config_schema.h"
#include "core/status.h"

namespace weir::core {

// Still pictures of an app's live streams (src/transcode/snapshot_*.h): on
// demand at GET /{app}/{stream}/snapshot.jpg|png, and every interval_s to disk.
struct SnapshotConfig {
  bool on_demand = true;
  int64_t cache_ms = 1000;
  int64_t interval_s = 0;
  int64_t width = 640;
  std::string format = "jpeg";
  std::string dir = "snapshots/{app}/{stream}";
  int64_t keep = 10;

  template <class V>
  void visit(V& v) {
    v.field("on_demand", on_demand, config::NoCheck{},
            "Serve GET /{app}/{stream}/snapshot.jpg and .png (?w=WIDTH) on the players' HTTP listener: the latest "
            "picture of the live stream, admitted like a play of it (access rules, signed URLs, on_play).");
    v.field("cache_ms", cache_ms, config::IntRange{0, 60000},
            "A picture decoded for a request is served to every request for this long (and the encoded JPEG/PNG "
            "per width with it); concurrent requests share one decode. Also the responses' max-age (at least 1 s).");
    v.field("interval_s", interval_s, config::IntRange{0, 86400},
            "Write a picture of every live stream of this app to disk every this many seconds (0 = off), with a "
            "snapshot.created event per file.");
    v.field("width", width, config::IntRange{2, 16384},
            "Width of the periodic pictures (pixels; aspect kept, never upscaled, dimensions even).");
    v.field("format", format, config::OneOf{{"jpeg", "png"}}, "Format of the periodic pictures: jpeg or png.");
    v.field("dir", dir, config::NoCheck{},
            "Directory of a stream's periodic pictures, under storage.root: a template with {app} and {stream} "
            "(both required, so each stream has its own); files are named {time}.jpg (UTC, "
            "YYYYMMDDTHHMMSS.mmmZ, so names sort by time).");
    v.field("keep", keep, config::IntRange{0, 1000000},
            "Periodic pictures kept per stream: after each write the oldest beyond this many are deleted (0 = keep "
            "all).");
  }
};

// One output of an app's ABR ladder (src/transcode): the source stream decoded
// once, scaled (aspect kept when only one side is given; sizes rounded to even)
// and encoded again, published as its own stream named by the app's
// rendition_name template.
struct RenditionConfig {
  int64_t width = 0;
  int64_t height = 0;
  int64_t fps = 0;
  std::string video_codec = "libx264";
  std::string preset = "veryfast";
  std::string profile;
  int64_t bitrate_kbps = 1000;
  int64_t maxrate_kbps = 0;
  std::string audio = "copy";
  int64_t audio_bitrate_kbps = 128;

  template <class V>
  void visit(V& v) {
    v.field("width", width, config::IntRange{0, 8192},
            "Output width in pixels (0: from height, keeping the source's aspect). Rounded down to even.");
    v.field("height", height, config::IntRange{0, 8192},
            "Output height in pixels (0: from width, keeping the source's aspect). At least one of width and height "
            "must be set. Rounded down to even.");
    v.field("fps", fps, config::IntRange{0, 240},
            "Frame-rate cap: a source faster than this is reduced to it (0: the source's rate).");
    v.field("video_codec", video_codec, config::OneOf{{"libx264", "libx265"}}, "Video encoder.");
    v.field("preset", preset, config::OneOf{{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                                                 "slow", "slower", "veryslow"}},
            "Encoder speed preset (x264/x265 names).");
    v.field("profile", profile, config::OneOf{{"", "baseline", "main", "high", "main10"}},
            "Encoder profile (empty: the encoder's default; baseline/high are H.264 only, main10 HEVC only).");
    v.field("bitrate_kbps", bitrate_kbps, config::IntRange{50, 100000}, "Target video bitrate, kbit/s.");
    v.field("maxrate_kbps", maxrate_kbps, config::IntRange{0, 200000},
            "Peak video bitrate, kbit/s, enforced over a one-second buffer (0: 1.5 x bitrate_kbps). Also the "
            "BANDWIDTH the master playlist announces.");
    v.field("audio", audio, config::OneOf{{"copy", "aac", "opus"}},
            "Audio: copy (the source's audio track passed through unchanged), aac (AAC-LC, FFmpeg's encoder, the "
            "source's rate) or opus (libopus, 48 kHz); the source's audio is decoded once for all renditions that "
            "encode it. Opus travels in every output (E-RTMP 'Opus' in RTMP/FLV, MPEG-TS, fMP4), but few players "
            "take it in FLV or MPEG-TS: serve Opus renditions through the LL-HLS (fMP4) master.");
    v.field("audio_bitrate_kbps", audio_bitrate_kbps, config::IntRange{16, 510},
            "Audio bitrate, kbit/s: the encoder's target for aac/opus; for copy only the figure counted in the master "
            "playlist's BANDWIDTH (set it to the source's).");
  }
  int64_t peak_kbps() const { return maxrate_kbps > 0 ? maxrate_kbps : bitrate_kbps * 3 / 2; }
};

// Watermarks (src/transcode/watermark_*): an image and/or a text drawn on the
// picture of every stream of an app by its transcode job, which publishes the
// watermarked picture as an output stream (and carries it into the app's
// renditions). The admin API sets, changes or removes it per live stream.
struct WatermarkImageConfig {
  std::string file;
  std::string position = "top-right+2%+2%";
  int64_t width_percent = 15;
  int64_t opacity = 100;

  template <class V>
  void visit(V& v) {
    v.field("file", file, config::NoCheck{},
            "PNG (alpha kept) or other image file drawn on the picture; empty = no image. Read when a job builds its "
            "filter graph (on the transcode pool).");
    v.field("position", position, config::NoCheck{},
            "Corner plus offset: top-left, top-right, bottom-left, bottom-right or center, optionally followed by "
            "two offsets in pixels or percent of the frame's side, e.g. top-right+20+20, bottom-left+2%+3%.");
    v.field("width_percent", width_percent, config::IntRange{1, 100},
            "Image width in percent of the frame's width (aspect kept).");
    v.field("opacity", opacity, config::IntRange{0, 100}, "Opacity in percent (100 = as the image is).");
  }
};

struct WatermarkTextConfig {
  std::string text;
  bool strftime = false;
  std::string font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  int64_t font_size = 24;
  int64_t size_percent = 0;
  std::string color = "white";
  bool box = false;
  std::string box_color = "black@0.5";
  std::string position = "bottom-left+2%+2%";
  int64_t opacity = 100;

  template <class V>
  void visit(V& v) {
    v.field("text", text, config::NoCheck{}, "Text drawn on the picture (at most 256 bytes); empty = no text.");
    v.field("strftime", strftime, config::NoCheck{},
            "Expand strftime sequences in text on every frame (%H:%M:%S, %Y-%m-%d: a clock, local time).");
    v.field("font", font, config::NoCheck{}, "Font file (TrueType/OpenType) for the text.");
    v.field("font_size", font_size, config::IntRange{4, 512}, "Font size in pixels (when size_percent is 0).");
    v.field("size_percent", size_percent, config::IntRange{0, 50},
            "Font size in percent of the frame's height (0 = font_size), so the text keeps its share of the picture "
            "at any resolution.");
    v.field("color", color, config::NoCheck{},
            "Text colour: a name (white, red, ...), #RRGGBB or #RRGGBBAA, optionally @ALPHA (0.0 to 1.0).");
    v.field("box", box, config::NoCheck{}, "Draw a box behind the text.");
    v.field("box_color", box_color, config::NoCheck{}, "Colour of the box, as color.");
    v.field("position", position, config::NoCheck{}, "Corner plus offset, as image.position.");
    v.field("opacity", opacity, config::IntRange{0, 100}, "Opacity of the text and its box in percent.");
  }
};

struct WatermarkConfig {
  bool enabled = false;
  std::string output = "{stream}_wm";
  std::string serve = "separate";
  std::string clean_name = "{stream}_clean";
  std::string video_codec = "libx264";
  std::string preset = "veryfast";
  int64_t bitrate_kbps = 2500;
  WatermarkImageConfig image;
  WatermarkTextConfig text;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Make a watermarked output of every stream of this app (a transcode job; on demand or always as "
            "transcode_mode says). Its watermark is image and text below, or what the admin API sets per stream.");
    v.field("output", output, config::NoCheck{},
            "Name of the watermarked output stream: a template holding {stream} once (not just {stream}).");
    v.field("serve", serve, config::OneOf{{"separate", "replace"}},
            "separate: the published name plays the clean picture, output the watermarked one. replace: the "
            "published name plays the watermarked picture (every protocol, HLS too) and clean_name the clean one "
            "(protect it with access rules or signed URLs: it is meant for the operator).");
    v.field("clean_name", clean_name, config::NoCheck{},
            "With serve: replace, the name that plays the clean picture: a template holding {stream} once.");
    v.field("video_codec", video_codec, config::OneOf{{"libx264", "libx265"}}, "Encoder of the watermarked output.");
    v.field("preset", preset,
            config::OneOf{{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                           "veryslow"}},
            "Encoder speed preset of the watermarked output.");
    v.field("bitrate_kbps", bitrate_kbps, config::IntRange{50, 100000},
            "Target video bitrate of the watermarked output (the source's size), kbit/s.");
    v.section("image", image);
    v.section("text", text);
  }
};

// The process-wide side of snapshots (apps.<app>.snapshot): the threads that
// decode and encode them and the bounds of their queues. Read once at start.
struct SnapshotPoolConfig {
  int64_t threads = 2;
  int64_t max_queued = 64;
  int64_t max_waiters = 1000;

  template <class V>
  void visit(V& v) {
    v.field("threads", threads, config::IntRange{1, 64},
            "Threads decoding and encoding snapshots (their own pool, never an event loop).");
    v.field("max_queued", max_queued, config::IntRange{1, 100000},
            "Decode, encode and write jobs waiting for a thread; past it a request is answered 503 and a periodic "
            "picture is skipped (both counted).");
    v.field("max_waiters", max_waiters, config::IntRange{1, 1000000},
            "Requests waiting for one stream's picture at once; past it a request is answered 503 (counted).");
  }
};

// The transcoder (src/transcode): its worker pool and job limits. Read once at
// start (threads, max_queued_packets) or at each job start (the others).
struct TranscodeConfig {
  int64_t threads = 2;
  int64_t max_jobs = 4;
  int64_t idle_ms = 10000;
  int64_t encoder_threads = 2;
  int64_t max_queued_packets = 300;
  std::string media_dir;

  template <class V>
  void visit(V& v) {
    v.field("threads", threads, config::IntRange{1, 256},
            "Worker threads that decode, filter and encode (never an event loop). Restart to change.");
    v.field("max_jobs", max_jobs, config::IntRange{0, 1024},
            "Sources transcoded at once (one job makes all renditions of a source); a play that would start one "
            "more is refused with 503.");
    v.field("idle_ms", idle_ms, config::IntRange{500, 3600000},
            "An on-demand job stops this long after the last viewer of its renditions left (HLS: the last request).");
    v.field("encoder_threads", encoder_threads, config::IntRange{1, 64},
            "Threads each rendition's encoder may use on its own (x264/x265 threads).");
    v.field("max_queued_packets", max_queued_packets, config::IntRange{16, 100000},
            "Source packets waiting for a job's decoder; past it the job drops source packets up to the next "
            "keyframe (counted in weir_transcode_frames_dropped_total). Restart to change.");
    v.field("media_dir", media_dir, config::NoCheck{},
            "Absolute directory that image and font files named through the admin API (watermark image.file and "
            "text.font, mix background.image) must resolve inside (realpath: no .. or symlink escapes); empty = the "
            "API may name no file (config-file paths are not restricted).");
  }
};

}  // namespace weir::core
