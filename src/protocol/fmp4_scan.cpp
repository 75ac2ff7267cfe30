#include "protocol/fmp4_scan.h"

#include <algorithm>
#include <map>

#include "core/byte_reader.h"
#include "protocol/mp4_box.h"
#include "protocol/mp4_reader.h"

namespace weir::protocol {

using core::ByteView;
using core::Status;

namespace {

// 2^48 ticks: 99 years at 90 kHz.
constexpr uint64_t kMaxDecodeTime = uint64_t(1) << 48;

// A top-level box header read from the file.
struct TopBox {
  uint64_t offset = 0;
  uint64_t size = 0;  // whole box
  uint32_t type = 0;
  size_t header_size = 0;
  uint64_t end() const { return offset + size; }
};

enum class HeaderRead { kOk, kTail };

// Reads the header of the box at `offset`. kTail (with `why`) when the file
// ends inside the header or the box, or the header makes no sense: after the
// init that is where the valid prefix stops.
core::Result<HeaderRead> read_header(uint64_t file_size, uint64_t offset, const Fmp4ReadFn& read,
                                     std::vector<uint8_t>& buf, TopBox& box, std::string& why) {
  const uint64_t left = file_size - offset;
  if (left < 8) {
    why = fmt::format("{} bytes at {}: a box header needs 8", left, offset);
    return HeaderRead::kTail;
  }
  Status s = read(offset, size_t(std::min<uint64_t>(left, 16)), buf);
  if (!s) return s;
  core::ByteReader r(ByteView(buf.data(), buf.size()));
  uint32_t size32 = 0;
  if (!r.u32be(size32) || !r.u32be(box.type)) return Status::error("mp4 scan: short read");
  box.offset = offset;
  uint64_t size = size32;
  if (size32 == 1) {
    if (!r.u64be(size)) {
      why = fmt::format("{} at {}: largesize cut short", mp4_type_name(box.type), offset);
      return HeaderRead::kTail;
    }
  } else if (size32 == 0) {
    size = left;  // to the end of the file
  }
  box.header_size = r.position();
  if (box.type == box_type("uuid")) box.header_size += 16;
  if (size < box.header_size) {
    why = fmt::format("{} at {}: size {} smaller than its header", mp4_type_name(box.type), offset,
                      size);
    return HeaderRead::kTail;
  }
  box.size = size;
  if (size > left) {
    why = fmt::format("{} at {}: size {} but {} bytes left", mp4_type_name(box.type), offset, size,
                      left);
    return HeaderRead::kTail;
  }
  return HeaderRead::kOk;
}

Status copy_init(const Mp4Init& init, Fmp4Scan& out, const Fmp4ScanLimits& limits) {
  if (!init.has_mvex) return Status::error("moov: no mvex (not a fragmented init)");
  if (init.tracks.empty()) return Status::error("moov: no track");
  if (init.tracks.size() > limits.max_tracks) {
    return Status::errorf("moov: {} tracks, at most {}", init.tracks.size(), limits.max_tracks);
  }
  out.major_brand = init.major_brand;
  for (const Mp4InitTrack& t : init.tracks) {
    if (t.timescale == 0) return Status::errorf("mdhd: track {} has timescale 0", t.track_id);
    for (const auto& o : out.tracks) {
      if (o.track_id == t.track_id) return Status::errorf("tkhd: track id {} twice", t.track_id);
    }
    if (t.stsd.empty()) return Status::errorf("stsd: track {} has none", t.track_id);
    Fmp4ScanTrack st;
    st.track_id = t.track_id;
    st.handler = t.handler;
    st.timescale = t.timescale;
    st.sample_entry = t.sample_entry;
    st.config_type = t.config_type;
    st.object_type = t.object_type;
    st.width = t.width;
    st.height = t.height;
    st.tkhd_width = t.tkhd_width;
    st.tkhd_height = t.tkhd_height;
    st.channels = t.channels;
    st.sample_rate = t.sample_rate;
    st.config.assign(t.config.begin(), t.config.end());
    st.stsd.assign(t.stsd.begin(), t.stsd.end());
    out.tracks.push_back(std::move(st));
  }
  return Status::ok();
}

// Adds one complete fragment's samples to `out` (all or nothing).
Status add_fragment(const Mp4Fragment& frag, const TopBox& moof, const TopBox& mdat,
                    std::map<uint32_t, uint64_t>& next_decode, const Fmp4ScanLimits& limits,
                    Fmp4Scan& out) {
  Fmp4ScanFragment f;
  f.offset = moof.offset;
  f.size = mdat.end() - moof.offset;
  f.sequence_number = frag.sequence_number;
  size_t added = 0;
  for (const Mp4TrackRun& run : frag.tracks) added += run.samples.size();
  if (added > limits.max_samples - std::min(limits.max_samples, out.sample_count())) {
    return Status::errorf("moof at {}: more than {} samples in the file", moof.offset,
                          limits.max_samples);
  }
  // Validate everything before touching `out`.
  std::vector<size_t> index(frag.tracks.size());
  for (size_t i = 0; i < frag.tracks.size(); ++i) {
    const Mp4TrackRun& run = frag.tracks[i];
    size_t ti = out.tracks.size();
    for (size_t k = 0; k < out.tracks.size(); ++k) {
      if (out.tracks[k].track_id == run.track_id) ti = k;
    }
    if (ti == out.tracks.size()) {
      return Status::errorf("traf at {}: track {} is not in the moov", moof.offset, run.track_id);
    }
    index[i] = ti;
    for (const Mp4Sample& s : run.samples) {
      if (s.size > limits.max_sample_size) {
        return Status::errorf("trun at {}: track {} sample of {} bytes (at most {})", moof.offset,
                              run.track_id, s.size, limits.max_sample_size);
      }
      // Room for the merge's arithmetic (decode time + durations, rescaling).
      if (s.decode_time > kMaxDecodeTime) {
        return Status::errorf("tfdt at {}: track {} decode time {} out of range", moof.offset,
                              run.track_id, s.decode_time);
      }
      if (s.composition_offset > INT32_MAX || s.composition_offset < INT32_MIN) {
        return Status::errorf("trun at {}: composition offset {} out of range", moof.offset,
                              s.composition_offset);
      }
    }
  }
  const size_t primary = out.primary_track();
  const bool video = out.has_video();
  f.independent = !video;
  bool seen_primary = false;
  for (size_t i = 0; i < frag.tracks.size(); ++i) {
    const Mp4TrackRun& run = frag.tracks[i];
    Fmp4ScanTrack& t = out.tracks[index[i]];
    // A traf without tfdt continues the track (Fmp4Muxer always writes one).
    uint64_t shift = run.has_tfdt ? 0 : next_decode[run.track_id];
    Fmp4ScanRun r;
    r.track_index = index[i];
    r.first_sample = t.samples.size();
    r.sample_count = run.samples.size();
    for (const Mp4Sample& s : run.samples) {
      Fmp4ScanSample o;
      o.decode_time = s.decode_time + shift;
      o.offset = s.data_offset;
      o.duration = s.duration;
      o.size = s.size;
      o.flags = s.flags;
      o.composition_offset = int32_t(s.composition_offset);
      t.samples.push_back(o);
      next_decode[run.track_id] = o.decode_time + o.duration;
    }
    if (video && index[i] == primary && !seen_primary && r.sample_count > 0) {
      seen_primary = true;
      f.independent = t.samples[r.first_sample].is_sync();
    }
    f.runs.push_back(r);
  }
  out.fragments.push_back(std::move(f));
  return Status::ok();
}

}  // namespace

bool Fmp4ScanTrack::is_video() const { return handler == box_type("vide"); }
bool Fmp4ScanTrack::is_audio() const { return handler == box_type("soun"); }

size_t Fmp4Scan::primary_track() const {
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (tracks[i].is_video()) return i;
  }
  return 0;
}

bool Fmp4Scan::has_video() const {
  return std::any_of(tracks.begin(), tracks.end(), [](const auto& t) { return t.is_video(); });
}

size_t Fmp4Scan::sample_count() const {
  size_t n = 0;
  for (const auto& t : tracks) n += t.samples.size();
  return n;
}

core::Result<Fmp4Scan> scan_fmp4(uint64_t file_size, const Fmp4ReadFn& read,
                                 const Fmp4ScanLimits& limits) {
  Fmp4Scan out;
  out.file_size = file_size;
  std::vector<uint8_t> hdr;
  std::vector<uint8_t> body;
  std::string why;
  uint64_t pos = 0;
  size_t boxes = 0;

  // ---- init: every box up to and including the moov ----
  std::vector<uint8_t> init_bytes;  // ftyp + moov, for parse_mp4_init
  bool have_ftyp = false;
  while (true) {
    if (++boxes > limits.max_boxes) return Status::errorf("mp4: more than {} boxes", limits.max_boxes);
    TopBox box;
    auto h = read_header(file_size, pos, read, hdr, box, why);
    if (!h) return h.status();
    if (*h == HeaderRead::kTail) return Status::errorf("init incomplete: {}", why);
    if (box.type == box_type("moof") || box.type == box_type("mdat")) {
      return Status::errorf("{} at {}: before the moov", mp4_type_name(box.type), box.offset);
    }
    const bool wanted = box.type == box_type("moov") || (box.type == box_type("ftyp") && !have_ftyp);
    if (wanted) {
      if (box.size > limits.max_init_bytes) {
        return Status::errorf("{}: {} bytes, at most {}", mp4_type_name(box.type), box.size,
                              limits.max_init_bytes);
      }
      Status s = read(box.offset, size_t(box.size), body);
      if (!s) return s;
      if (body.size() != box.size) return Status::error("mp4 scan: short read");
      init_bytes.insert(init_bytes.end(), body.begin(), body.end());
      have_ftyp |= box.type == box_type("ftyp");
    }
    pos = box.end();
    if (box.type == box_type("moov")) break;
  }
  // The parsed init borrows from init_bytes (kept alive to the end): the
  // reader applies its trex defaults to every fragment.
  Mp4ReaderLimits init_limits;
  init_limits.max_tracks = limits.max_tracks;
  auto init = parse_mp4_init(ByteView(init_bytes.data(), init_bytes.size()), init_limits);
  if (!init) return init.status();
  {
    Status s = copy_init(*init, out, limits);
    if (!s) return s;
  }
  out.init_size = pos;
  out.valid_bytes = pos;

  // ---- fragments ----
  // Decode times are continued only for trafs without tfdt.
  std::map<uint32_t, uint64_t> next_decode;
  while (pos < file_size) {
    if (++boxes > limits.max_boxes) return Status::errorf("mp4: more than {} boxes", limits.max_boxes);
    TopBox moof;
    auto h = read_header(file_size, pos, read, hdr, moof, why);
    if (!h) return h.status();
    if (*h == HeaderRead::kTail) {
      out.tail = why;
      break;
    }
    if (moof.type == box_type("mdat")) {
      return Status::errorf("mdat at {}: no moof before it", moof.offset);
    }
    if (moof.type != box_type("moof")) {  // styp, sidx, free, emsg, ...: skipped
      pos = moof.end();
      continue;
    }
    if (moof.size > limits.max_moof_bytes) {
      return Status::errorf("moof at {}: {} bytes, at most {}", moof.offset, moof.size,
                            limits.max_moof_bytes);
    }
    if (out.fragments.size() >= limits.max_fragments) {
      return Status::errorf("moof at {}: more than {} fragments", moof.offset,
                            limits.max_fragments);
    }
    if (moof.end() == file_size) {
      out.tail = fmt::format("moof at {}: no mdat after it", moof.offset);
      break;
    }
    TopBox mdat;
    h = read_header(file_size, moof.end(), read, hdr, mdat, why);
    if (!h) return h.status();
    if (*h == HeaderRead::kTail) {
      out.tail = fmt::format("moof at {}: its mdat is cut short ({})", moof.offset, why);
      break;
    }
    if (mdat.type != box_type("mdat")) {
      return Status::errorf("moof at {}: followed by {}, not mdat", moof.offset,
                            mp4_type_name(mdat.type));
    }
    Status s = read(moof.offset, size_t(moof.size), body);
    if (!s) return s;
    if (body.size() != moof.size) return Status::error("mp4 scan: short read");
    Mp4ReaderLimits rl;
    rl.max_tracks = limits.max_tracks;
    rl.max_boxes = 4096;
    rl.max_samples = std::max<size_t>(1, limits.max_samples - std::min(limits.max_samples,
                                                                       out.sample_count()));
    auto frag = parse_mp4_moof(ByteView(body.data(), body.size()), moof.offset,
                               mdat.offset + mdat.header_size, mdat.size - mdat.header_size,
                               &*init, rl);
    if (!frag) return Status::errorf("moof at {}: {}", moof.offset, frag.error());
    s = add_fragment(*frag, moof, mdat, next_decode, limits, out);
    if (!s) return s;
    pos = mdat.end();
    out.valid_bytes = pos;
  }
  if (out.tail.empty() && out.valid_bytes != file_size) {
    out.tail = fmt::format("{} bytes after the last fragment", file_size - out.valid_bytes);
  }
  return out;
}

core::Result<Fmp4Scan> scan_fmp4_bytes(ByteView bytes, const Fmp4ScanLimits& limits) {
  return scan_fmp4(
      bytes.size(),
      [bytes](uint64_t offset, size_t size, std::vector<uint8_t>& out) {
        if (offset > bytes.size() || size > bytes.size() - offset) {
          return Status::errorf("read of {}+{} past the {} bytes", offset, size, bytes.size());
        }
        out.assign(bytes.begin() + ptrdiff_t(offset), bytes.begin() + ptrdiff_t(offset + size));
        return Status::ok();
      },
      limits);
}

}  // namespace weir::protocol
