#include "record/mp4_merge.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/byte_reader.h"
#include "protocol/mp4_box.h"
#include "protocol/mp4_reader.h"
#include "record/segment_file.h"
#include "record/vod_playlist.h"

namespace weir::record {

using core::ByteView;
using core::ByteWriter;
using core::Status;
using protocol::box_type;
using protocol::Fmp4Scan;

namespace {

constexpr uint32_t kMovieTimescale = 1000;
constexpr size_t kMaxMoovBytes = size_t(1) << 30;

// ---- the merged tables ------------------------------------------------------

struct OutSample {
  uint64_t dts = 0;  // output track timescale, live timeline
  uint32_t duration = 0;
  uint32_t size = 0;
  int32_t cto = 0;
  bool sync = true;
};

// Contiguous sample bytes of one track in one segment file.
struct Chunk {
  size_t segment = 0;   // index into the used segments
  uint64_t src = 0;     // offset in the segment file
  uint64_t size = 0;
  uint64_t out = 0;     // offset in the output file (filled once the moov size is known)
  uint32_t samples = 0;
  uint32_t sdi = 1;     // 1-based sample description index
};

struct OutTrack {
  uint32_t handler = 0;
  uint32_t timescale = 0;
  uint32_t track_id = 0;
  uint32_t tkhd_width = 0, tkhd_height = 0;
  std::vector<std::vector<uint8_t>> entries;  // sample entries (whole boxes)
  std::vector<uint32_t> entry_types;
  std::vector<uint8_t> object_types;
  uint16_t width = 0, height = 0, channels = 0;
  uint32_t sample_rate = 0;
  std::vector<OutSample> samples;
  std::vector<size_t> chunks;  // indices into the global chunk list
  bool have_last = false;
  uint64_t bytes = 0;
  // Computed after the timeline: media start/duration, edit list.
  uint64_t media_time = 0;    // first presentation - first decode (ticks)
  uint64_t media_ticks = 0;   // mdhd duration
  uint64_t empty_movie = 0;   // empty edit, movie timescale
  uint64_t edit_movie = 0;    // media edit, movie timescale
  bool is_video() const { return handler == box_type("vide"); }
};

// The first sample entry of an stsd box (whole box bytes, header included).
core::Result<std::vector<uint8_t>> first_sample_entry(const std::vector<uint8_t>& stsd) {
  core::ByteReader r(ByteView(stsd.data(), stsd.size()));
  uint32_t size, type, vflags, count, esize;
  if (!r.u32be(size) || !r.u32be(type) || size == 1 || !r.u32be(vflags) || !r.u32be(count) ||
      count == 0) {
    return Status::error("stsd: no sample entry");
  }
  ByteView rest = r.rest();
  core::ByteReader er(rest);
  if (!er.u32be(esize) || esize < 8 || esize > rest.size()) {
    return Status::error("stsd: sample entry size out of range");
  }
  return std::vector<uint8_t>(rest.begin(), rest.begin() + esize);
}

uint64_t rescale(uint64_t v, uint32_t from, uint32_t to) {
  if (from == to) return v;
  return uint64_t((unsigned __int128)v * to / from + ((unsigned __int128)v * to % from * 2 >= from));
}

int32_t rescale_cto(int32_t v, uint32_t from, uint32_t to) {
  if (from == to) return v;
  return int32_t(std::llround(double(v) * to / from));
}

// Adds a segment's samples to the output tracks, in file order. `map[i]` is
// the output track of segment track i (or -1).
void add_segment(const Fmp4Scan& scan, size_t seg_index, const std::vector<int>& map,
                 const std::vector<uint32_t>& sdi, std::vector<OutTrack>& tracks,
                 std::vector<Chunk>& chunks) {
  for (const auto& frag : scan.fragments) {
    for (const auto& run : frag.runs) {
      const int ot = map[run.track_index];
      if (ot < 0) continue;
      OutTrack& t = tracks[size_t(ot)];
      const auto& src = scan.tracks[run.track_index];
      for (size_t i = 0; i < run.sample_count; ++i) {
        const auto& s = src.samples[run.first_sample + i];
        // A chunk: the longest contiguous stretch of the run.
        if (i == 0 || chunks.back().src + chunks.back().size != s.offset) {
          Chunk c;
          c.segment = seg_index;
          c.src = s.offset;
          c.sdi = sdi[run.track_index];
          t.chunks.push_back(chunks.size());
          chunks.push_back(c);
        }
        chunks.back().size += s.size;
        chunks.back().samples += 1;
        OutSample o;
        o.dts = rescale(s.decode_time, src.timescale, t.timescale);
        o.duration = uint32_t(std::min<uint64_t>(rescale(s.duration, src.timescale, t.timescale),
                                                 UINT32_MAX));
        o.size = s.size;
        o.cto = rescale_cto(s.composition_offset, src.timescale, t.timescale);
        o.sync = s.is_sync();
        t.samples.push_back(o);
        t.bytes += s.size;
      }
    }
  }
}

// Makes decode times strictly increasing and gap-preserving; see the header.
void fix_timeline(OutTrack& t, MergeResult& result) {
  for (size_t i = 1; i < t.samples.size(); ++i) {
    OutSample& prev = t.samples[i - 1];
    OutSample& s = t.samples[i];
    const uint64_t prev_end = prev.dts + std::max<uint32_t>(prev.duration, 1);
    if (s.dts < prev_end) {
      s.dts = prev_end;
      ++result.overlaps_clamped;
    } else if (s.dts > prev_end && s.dts - prev_end > t.timescale / 2) {
      ++result.gaps;
    }
    // The previous sample lasts until this one (a jump forward stretches it).
    prev.duration = uint32_t(std::min<uint64_t>(s.dts - prev.dts, UINT32_MAX));
  }
  if (!t.samples.empty() && t.samples.back().duration == 0) t.samples.back().duration = 1;
}

// ---- moov writing -----------------------------------------------------------

void write_u32_or_u64(ByteWriter& w, bool v1, uint64_t v) {
  if (v1) {
    w.u64be(v);
  } else {
    w.u32be(uint32_t(v));
  }
}

void write_mvhd(ByteWriter& w, uint64_t duration, uint32_t next_track_id) {
  const bool v1 = duration > UINT32_MAX;
  size_t b = protocol::begin_full_box(w, box_type("mvhd"), v1 ? 1 : 0, 0);
  write_u32_or_u64(w, v1, 0);  // creation
  write_u32_or_u64(w, v1, 0);  // modification
  w.u32be(kMovieTimescale);
  write_u32_or_u64(w, v1, duration);
  w.u32be(0x00010000);  // rate 1.0
  w.u16be(0x0100);      // volume 1.0
  w.zeros(10);
  protocol::write_unity_matrix(w);
  w.zeros(24);  // pre_defined
  w.u32be(next_track_id);
  protocol::end_box(w, b);
}

void write_tkhd(ByteWriter& w, const OutTrack& t, uint64_t duration) {
  const bool v1 = duration > UINT32_MAX;
  size_t b = protocol::begin_full_box(w, box_type("tkhd"), v1 ? 1 : 0, 0x000003);  // enabled, in movie
  write_u32_or_u64(w, v1, 0);
  write_u32_or_u64(w, v1, 0);
  w.u32be(t.track_id);
  w.u32be(0);
  write_u32_or_u64(w, v1, duration);
  w.zeros(8);
  w.u16be(0);  // layer
  w.u16be(0);  // alternate group
  w.u16be(t.is_video() ? 0 : 0x0100);
  w.u16be(0);
  protocol::write_unity_matrix(w);
  w.u32be(t.is_video() ? t.tkhd_width : 0);
  w.u32be(t.is_video() ? t.tkhd_height : 0);
  protocol::end_box(w, b);
}

void write_elst(ByteWriter& w, const OutTrack& t) {
  if (t.empty_movie == 0 && t.media_time == 0) return;
  const bool v1 = t.edit_movie > UINT32_MAX || t.empty_movie > UINT32_MAX || t.media_time > INT32_MAX;
  size_t edts = protocol::begin_box(w, box_type("edts"));
  size_t b = protocol::begin_full_box(w, box_type("elst"), v1 ? 1 : 0, 0);
  w.u32be(t.empty_movie ? 2 : 1);
  if (t.empty_movie) {
    write_u32_or_u64(w, v1, t.empty_movie);
    write_u32_or_u64(w, v1, v1 ? UINT64_MAX : UINT32_MAX);  // media_time -1: empty
    w.u32be(0x00010000);
  }
  write_u32_or_u64(w, v1, t.edit_movie);
  write_u32_or_u64(w, v1, t.media_time);
  w.u32be(0x00010000);  // rate 1, fraction 0
  protocol::end_box(w, b);
  protocol::end_box(w, edts);
}

void write_stbl(ByteWriter& w, const OutTrack& t, const std::vector<Chunk>& chunks, bool co64) {
  size_t stbl = protocol::begin_box(w, box_type("stbl"));
  {
    size_t b = protocol::begin_full_box(w, box_type("stsd"), 0, 0);
    w.u32be(uint32_t(t.entries.size()));
    for (const auto& e : t.entries) w.bytes(ByteView(e.data(), e.size()));
    protocol::end_box(w, b);
  }
  // stts: runs of equal durations.
  {
    std::vector<std::pair<uint32_t, uint32_t>> runs;
    for (const auto& s : t.samples) {
      if (!runs.empty() && runs.back().second == s.duration) {
        ++runs.back().first;
      } else {
        runs.emplace_back(1, s.duration);
      }
    }
    size_t b = protocol::begin_full_box(w, box_type("stts"), 0, 0);
    w.u32be(uint32_t(runs.size()));
    for (auto [n, d] : runs) {
      w.u32be(n);
      w.u32be(d);
    }
    protocol::end_box(w, b);
  }
  // ctts: only with composition offsets; version 1 (signed) if one is negative.
  bool any_cto = false, negative = false;
  for (const auto& s : t.samples) {
    any_cto |= s.cto != 0;
    negative |= s.cto < 0;
  }
  if (any_cto) {
    std::vector<std::pair<uint32_t, int32_t>> runs;
    for (const auto& s : t.samples) {
      if (!runs.empty() && runs.back().second == s.cto) {
        ++runs.back().first;
      } else {
        runs.emplace_back(1, s.cto);
      }
    }
    size_t b = protocol::begin_full_box(w, box_type("ctts"), negative ? 1 : 0, 0);
    w.u32be(uint32_t(runs.size()));
    for (auto [n, c] : runs) {
      w.u32be(n);
      w.u32be(uint32_t(c));
    }
    protocol::end_box(w, b);
  }
  // stss: video with non-sync samples.
  if (t.is_video() &&
      std::any_of(t.samples.begin(), t.samples.end(), [](const OutSample& s) { return !s.sync; })) {
    size_t b = protocol::begin_full_box(w, box_type("stss"), 0, 0);
    size_t count_at = w.size();
    w.u32be(0);
    uint32_t n = 0;
    for (size_t i = 0; i < t.samples.size(); ++i) {
      if (!t.samples[i].sync) continue;
      w.u32be(uint32_t(i + 1));
      ++n;
    }
    w.patch_u32be(count_at, n);
    protocol::end_box(w, b);
  }
  {
    size_t b = protocol::begin_full_box(w, box_type("stsz"), 0, 0);
    w.u32be(0);
    w.u32be(uint32_t(t.samples.size()));
    for (const auto& s : t.samples) w.u32be(s.size);
    protocol::end_box(w, b);
  }
  {
    size_t b = protocol::begin_full_box(w, box_type("stsc"), 0, 0);
    size_t count_at = w.size();
    w.u32be(0);
    uint32_t n = 0, last_samples = 0, last_sdi = 0;
    for (size_t i = 0; i < t.chunks.size(); ++i) {
      const Chunk& c = chunks[t.chunks[i]];
      if (n > 0 && c.samples == last_samples && c.sdi == last_sdi) continue;
      w.u32be(uint32_t(i + 1));
      w.u32be(c.samples);
      w.u32be(c.sdi);
      last_samples = c.samples;
      last_sdi = c.sdi;
      ++n;
    }
    w.patch_u32be(count_at, n);
    protocol::end_box(w, b);
  }
  {
    size_t b = protocol::begin_full_box(w, box_type(co64 ? "co64" : "stco"), 0, 0);
    w.u32be(uint32_t(t.chunks.size()));
    for (size_t ci : t.chunks) {
      if (co64) {
        w.u64be(chunks[ci].out);
      } else {
        w.u32be(uint32_t(chunks[ci].out));
      }
    }
    protocol::end_box(w, b);
  }
  protocol::end_box(w, stbl);
}

void write_trak(ByteWriter& w, const OutTrack& t, const std::vector<Chunk>& chunks, bool co64) {
  size_t trak = protocol::begin_box(w, box_type("trak"));
  write_tkhd(w, t, t.empty_movie + t.edit_movie);
  write_elst(w, t);
  size_t mdia = protocol::begin_box(w, box_type("mdia"));
  {
    const bool v1 = t.media_ticks > UINT32_MAX;
    size_t b = protocol::begin_full_box(w, box_type("mdhd"), v1 ? 1 : 0, 0);
    write_u32_or_u64(w, v1, 0);
    write_u32_or_u64(w, v1, 0);
    w.u32be(t.timescale);
    write_u32_or_u64(w, v1, t.media_ticks);
    w.u16be(0x55C4);  // 'und'
    w.u16be(0);
    protocol::end_box(w, b);
  }
  {
    size_t b = protocol::begin_full_box(w, box_type("hdlr"), 0, 0);
    w.u32be(0);
    w.u32be(t.handler);
    w.zeros(12);
    w.bytes(std::string_view(t.is_video() ? "VideoHandler" : "SoundHandler"));
    w.u8(0);
    protocol::end_box(w, b);
  }
  size_t minf = protocol::begin_box(w, box_type("minf"));
  if (t.is_video()) {
    size_t b = protocol::begin_full_box(w, box_type("vmhd"), 0, 1);
    w.zeros(8);
    protocol::end_box(w, b);
  } else {
    size_t b = protocol::begin_full_box(w, box_type("smhd"), 0, 0);
    w.zeros(4);
    protocol::end_box(w, b);
  }
  {
    size_t dinf = protocol::begin_box(w, box_type("dinf"));
    size_t dref = protocol::begin_full_box(w, box_type("dref"), 0, 0);
    w.u32be(1);
    protocol::end_box(w, protocol::begin_full_box(w, box_type("url "), 0, 1));  // self-contained
    protocol::end_box(w, dref);
    protocol::end_box(w, dinf);
  }
  write_stbl(w, t, chunks, co64);
  protocol::end_box(w, minf);
  protocol::end_box(w, mdia);
  protocol::end_box(w, trak);
}

core::Slice build_head(const std::vector<OutTrack>& tracks, const std::vector<Chunk>& chunks,
                       uint64_t movie_duration, bool co64, bool large_mdat, uint64_t mdat_size) {
  ByteWriter w(64 * 1024);
  {
    size_t b = protocol::begin_box(w, box_type("ftyp"));
    w.u32be(box_type("isom"));
    w.u32be(0x200);
    w.u32be(box_type("isom"));
    w.u32be(box_type("iso2"));
    w.u32be(box_type("mp41"));
    protocol::end_box(w, b);
  }
  size_t moov = protocol::begin_box(w, box_type("moov"));
  write_mvhd(w, movie_duration, uint32_t(tracks.size() + 1));
  for (const auto& t : tracks) write_trak(w, t, chunks, co64);
  protocol::end_box(w, moov);
  if (large_mdat) {
    w.u32be(1);
    w.u32be(box_type("mdat"));
    w.u64be(mdat_size + 16);
  } else {
    w.u32be(uint32_t(mdat_size + 8));
    w.u32be(box_type("mdat"));
  }
  return w.finish();
}

// ---- output -----------------------------------------------------------------

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes and reports the error close() gives (a deferred write error).
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return fd < 0 || ::close(fd) == 0;
  }

 private:
  int fd_ = -1;
};

Status errno_status(const char* what, const std::string& path) {
  return Status::errorf("{} {}: {}", what, path, std::strerror(errno));
}

Status write_all(int fd, ByteView data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("write", path);
    done += size_t(n);
  }
  return Status::ok();
}

// Copies [src, src + size) of `in` to the current position of `out`.
Status copy_range(int in, uint64_t src, uint64_t size, int out, const std::string& in_path,
                  const std::string& out_path, bool& fallback, std::vector<uint8_t>& buf) {
  loff_t off = loff_t(src);
  while (size > 0 && !fallback) {
    ssize_t n = ::copy_file_range(in, &off, out, nullptr, size_t(std::min<uint64_t>(size, 1u << 30)), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      fallback = true;
      break;
    }
    if (n < 0) return errno_status("copy_file_range from", in_path);
    if (n == 0) return Status::errorf("{}: ends before {} (it shrank)", in_path, off);
    size -= uint64_t(n);
  }
  if (size == 0) return Status::ok();
  buf.resize(1 << 20);
  while (size > 0) {
    ssize_t n = ::pread(in, buf.data(), size_t(std::min<uint64_t>(size, buf.size())), off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("pread", in_path);
    if (n == 0) return Status::errorf("{}: ends before {} (it shrank)", in_path, off);
    Status s = write_all(out, ByteView(buf.data(), size_t(n)), out_path);
    if (!s) return s;
    off += n;
    size -= uint64_t(n);
  }
  return Status::ok();
}

Status fsync_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status("open", dir);
  if (::fsync(fd.get()) != 0) return errno_status("fsync", dir);
  return Status::ok();
}

// Writes `text` to `path` through path.tmp + rename.
Status write_text_file(const std::string& path, const std::string& text, bool sync) {
  const std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errno_status("open", tmp);
  Status s = write_all(fd.get(), core::as_bytes(text), tmp);
  if (s && sync && ::fsync(fd.get()) != 0) s = errno_status("fsync", tmp);
  if (s && !fd.close()) s = errno_status("close", tmp);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = errno_status("rename", tmp);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  return sync ? fsync_dir(path) : Status::ok();
}

// Writes head + every chunk to `tmp`.
Status write_output(const std::string& tmp, ByteView head, const std::vector<Chunk>& chunks,
                    const std::vector<SegmentFile>& segs, uint64_t total, bool sync,
                    bool& fallback) {
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.get() < 0) return errno_status("open", tmp);
  Status s = write_all(out.get(), head, tmp);
  if (!s) return s;
  Fd in;
  size_t open_seg = SIZE_MAX;
  std::vector<uint8_t> buf;
  // Chunks that follow each other in the same segment file too (a
  // fragment's video and audio runs in one mdat) are copied in one call.
  for (size_t i = 0; i < chunks.size();) {
    const Chunk& c = chunks[i];
    uint64_t size = c.size;
    size_t j = i + 1;
    while (j < chunks.size() && chunks[j].segment == c.segment && chunks[j].src == c.src + size) {
      size += chunks[j++].size;
    }
    if (c.segment != open_seg) {
      const std::string& p = segs[c.segment].path;
      in.reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (in.get() < 0) return errno_status("open", p);
      open_seg = c.segment;
    }
    s = copy_range(in.get(), c.src, size, out.get(), segs[c.segment].path, tmp, fallback, buf);
    if (!s) return s;
    i = j;
  }
  off_t end = ::lseek(out.get(), 0, SEEK_CUR);
  if (end < 0 || uint64_t(end) != total) {
    return Status::errorf("{}: wrote {} bytes, expected {}", tmp, int64_t(end), total);
  }
  if (sync && ::fsync(out.get()) != 0) return errno_status("fsync", tmp);
  if (!out.close()) return errno_status("close", tmp);
  return Status::ok();
}

}  // namespace

core::Result<MergeResult> merge_segments(const MergeRequest& request) {
  MergeResult result;
  if (request.output.empty()) return Status::error("merge: no output path");

  // ---- scan ----
  std::vector<SegmentFile> used;
  for (const std::string& path : request.segments) {
    auto seg = scan_segment_file(path, request.limits);
    if (!seg) {
      result.skipped.push_back({path, seg.error()});
      continue;
    }
    if (seg->scan.fragments.empty()) {
      result.skipped.push_back(
          {path, "no complete fragment" + (seg->scan.tail.empty() ? "" : " (" + seg->scan.tail + ")")});
      continue;
    }
    if (!seg->scan.tail.empty()) result.truncated.push_back({path, seg->scan.tail});
    used.push_back(std::move(*seg));
  }
  if (used.empty()) return Status::error("merge: no usable segment");

  // ---- tables ----
  std::vector<OutTrack> tracks;  // video first, then audio
  auto track_for = [&](uint32_t handler) -> int {
    for (size_t i = 0; i < tracks.size(); ++i) {
      if (tracks[i].handler == handler) return int(i);
    }
    return -1;
  };
  for (uint32_t handler : {box_type("vide"), box_type("soun")}) {
    for (const auto& seg : used) {
      auto it = std::find_if(seg.scan.tracks.begin(), seg.scan.tracks.end(),
                             [&](const auto& t) { return t.handler == handler && !t.samples.empty(); });
      if (it == seg.scan.tracks.end()) continue;
      OutTrack t;
      t.handler = handler;
      t.timescale = it->timescale;
      t.tkhd_width = it->tkhd_width ? it->tkhd_width : uint32_t(it->width) << 16;
      t.tkhd_height = it->tkhd_height ? it->tkhd_height : uint32_t(it->height) << 16;
      tracks.push_back(std::move(t));
      break;
    }
  }
  if (tracks.empty()) return Status::error("merge: no audio or video samples");
  for (size_t i = 0; i < tracks.size(); ++i) tracks[i].track_id = uint32_t(i + 1);

  std::vector<Chunk> chunks;
  for (size_t si = 0; si < used.size(); ++si) {
    const Fmp4Scan& scan = used[si].scan;
    std::vector<int> map(scan.tracks.size(), -1);
    std::vector<uint32_t> sdi(scan.tracks.size(), 1);
    for (size_t ti = 0; ti < scan.tracks.size(); ++ti) {
      const auto& st = scan.tracks[ti];
      int ot = track_for(st.handler);
      // One track per handler: a second one in the same init is ignored.
      if (ot < 0 || std::find(map.begin(), map.end(), ot) != map.end()) continue;
      auto entry = first_sample_entry(st.stsd);
      if (!entry) return Status::errorf("{}: track {}: {}", used[si].path, st.track_id, entry.error());
      OutTrack& t = tracks[size_t(ot)];
      auto e = std::find(t.entries.begin(), t.entries.end(), *entry);
      if (e == t.entries.end()) {
        t.entries.push_back(std::move(*entry));
        t.entry_types.push_back(st.sample_entry);
        t.object_types.push_back(st.object_type);
        if (t.entries.size() == 1) {
          t.width = st.width;
          t.height = st.height;
          t.channels = st.channels;
          t.sample_rate = st.sample_rate;
        }
        e = t.entries.end() - 1;
      }
      map[ti] = ot;
      sdi[ti] = uint32_t(e - t.entries.begin() + 1);
    }
    add_segment(scan, si, map, sdi, tracks, chunks);
  }

  // ---- timeline ----
  double base_s = INFINITY;
  std::vector<uint64_t> first_dts(tracks.size()), first_pts(tracks.size()), end_pts(tracks.size());
  for (size_t i = 0; i < tracks.size(); ++i) {
    OutTrack& t = tracks[i];
    fix_timeline(t, result);
    first_dts[i] = t.samples.front().dts;
    // Presentation span: reordered (B-frame) streams show their last frame
    // after the last decode time, and their first after the first.
    int64_t min_pts = INT64_MAX, max_end = 0;
    for (const auto& s : t.samples) {
      min_pts = std::min(min_pts, int64_t(s.dts) + s.cto);
      max_end = std::max(max_end, int64_t(s.dts) + s.cto + int64_t(s.duration));
    }
    first_pts[i] = uint64_t(std::max<int64_t>(min_pts, int64_t(first_dts[i])));
    end_pts[i] = uint64_t(std::max<int64_t>(max_end, int64_t(first_pts[i])));
    base_s = std::min(base_s, double(first_pts[i]) / t.timescale);
  }
  uint64_t movie_duration = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    OutTrack& t = tracks[i];
    const OutSample& last = t.samples.back();
    t.media_ticks = last.dts + last.duration - first_dts[i];
    t.media_time = first_pts[i] - first_dts[i];
    const double start_s = double(first_pts[i]) / t.timescale - base_s;
    t.empty_movie = uint64_t(std::llround(start_s * kMovieTimescale));
    t.edit_movie = rescale(end_pts[i] - first_pts[i], t.timescale, kMovieTimescale);
    movie_duration = std::max(movie_duration, t.empty_movie + t.edit_movie);
    if (t.samples.size() > UINT32_MAX || t.chunks.size() > UINT32_MAX) {
      return Status::error("merge: too many samples");
    }
  }

  // ---- layout: ftyp + moov + mdat header, then the chunks in order ----
  uint64_t media = 0;
  for (const Chunk& c : chunks) media += c.size;
  const bool large_mdat = media + 8 > UINT32_MAX;
  core::Slice head = build_head(tracks, chunks, movie_duration, false, large_mdat, media);
  bool co64 = head.size() + media > UINT32_MAX;
  if (co64) head = build_head(tracks, chunks, movie_duration, true, large_mdat, media);
  if (head.size() > kMaxMoovBytes) {
    return Status::errorf("merge: moov of {} bytes (at most {})", head.size(), kMaxMoovBytes);
  }
  uint64_t pos = head.size();
  for (Chunk& c : chunks) {
    c.out = pos;
    pos += c.size;
  }
  const size_t head_size = head.size();
  head = build_head(tracks, chunks, movie_duration, co64, large_mdat, media);
  if (head.size() != head_size) return Status::error("merge: moov size changed between passes");

  // ---- write ----
  const std::string tmp = request.output + ".tmp";
  Status s = write_output(tmp, head.view(), chunks, used, pos, request.fsync, result.copy_fallback);
  if (s && ::rename(tmp.c_str(), request.output.c_str()) != 0) s = errno_status("rename", tmp);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (request.fsync) {
    s = fsync_dir(request.output);
    if (!s) return s;
  }
  if (!request.playlist.empty()) {
    VodPlaylistOptions po;
    po.target_duration_s = request.playlist_target_duration_s;
    auto text = build_vod_playlist(used, po);
    if (!text) return text.status();
    s = write_text_file(request.playlist, *text, request.fsync);
    if (!s) return s;
  }

  result.duration_s = double(movie_duration) / kMovieTimescale;
  result.bytes = pos;
  result.media_bytes = media;
  result.segments_used = used.size();
  for (const OutTrack& t : tracks) {
    MergedTrack m;
    m.track_id = t.track_id;
    m.handler = t.handler;
    m.timescale = t.timescale;
    m.sample_entries = t.entry_types;
    m.object_types = t.object_types;
    m.width = t.width;
    m.height = t.height;
    m.sample_rate = t.sample_rate;
    m.channels = t.channels;
    m.samples = t.samples.size();
    m.bytes = t.bytes;
    m.start_s = double(t.empty_movie) / kMovieTimescale;
    m.duration_s = double(t.media_ticks) / t.timescale;
    result.tracks.push_back(std::move(m));
  }
  return result;
}

}  // namespace weir::record
