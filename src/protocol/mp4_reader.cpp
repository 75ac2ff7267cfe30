#include "protocol/mp4_reader.h"

#include <algorithm>
#include <map>

#include "core/byte_reader.h"
#include "protocol/mp4_box.h"

namespace weir::protocol {

using core::ByteReader;
using core::ByteView;
using core::Status;

namespace {

constexpr uint32_t kTfhdBaseDataOffset = 0x000001;
constexpr uint32_t kTfhdSampleDescriptionIndex = 0x000002;
constexpr uint32_t kTfhdDefaultDuration = 0x000008;
constexpr uint32_t kTfhdDefaultSize = 0x000010;
constexpr uint32_t kTfhdDefaultFlags = 0x000020;
constexpr uint32_t kTfhdDefaultBaseIsMoof = 0x020000;

constexpr uint32_t kTrunDataOffset = 0x000001;
constexpr uint32_t kTrunFirstSampleFlags = 0x000004;
constexpr uint32_t kTrunDuration = 0x000100;
constexpr uint32_t kTrunSize = 0x000200;
constexpr uint32_t kTrunFlags = 0x000400;
constexpr uint32_t kTrunCompositionOffset = 0x000800;

bool is_container(uint32_t type) {
  switch (type) {
    case box_type("moov"):
    case box_type("trak"):
    case box_type("mdia"):
    case box_type("minf"):
    case box_type("dinf"):
    case box_type("stbl"):
    case box_type("mvex"):
    case box_type("moof"):
    case box_type("traf"):
    case box_type("edts"):
    case box_type("mfra"):
    case box_type("udta"):
      return true;
    default:
      return false;
  }
}

const Mp4Box* find_box(const std::vector<Mp4Box>& boxes, uint32_t type) {
  for (const Mp4Box& b : boxes) {
    if (b.type == type) return &b;
  }
  return nullptr;
}

// Version and flags of a full box; `r` is left after them.
bool full_box_header(ByteReader& r, uint8_t& version, uint32_t& flags) {
  uint32_t v;
  if (!r.u32be(v)) return false;
  version = uint8_t(v >> 24);
  flags = v & 0xFFFFFF;
  return true;
}

Status truncated(uint32_t type) {
  return Status::errorf("{}: box truncated", mp4_type_name(type));
}

// Box budget shared by the calls of one parse.
struct Budget {
  size_t boxes_left;
  size_t samples_left;
};

core::Result<std::vector<Mp4Box>> read_children(ByteView data, size_t base, Budget& budget) {
  auto boxes = read_mp4_boxes(data, base, budget.boxes_left);
  if (!boxes) return boxes.status();
  budget.boxes_left -= boxes->size();
  return boxes;
}

core::Status read_tree(ByteView data, size_t base, size_t depth, const Mp4ReaderLimits& limits,
                       Budget& budget, std::vector<Mp4BoxNode>& out) {
  if (depth > limits.max_depth) {
    return Status::errorf("mp4: boxes nested deeper than {}", limits.max_depth);
  }
  auto boxes = read_children(data, base, budget);
  if (!boxes) return boxes.status();
  for (const Mp4Box& b : *boxes) {
    Mp4BoxNode node;
    node.box = b;
    size_t skip = 0;
    bool descend = is_container(b.type);
    if (b.type == box_type("stsd")) {  // full box + entry_count, then sample entries
      descend = true;
      skip = 8;
    }
    if (descend && b.payload.size() >= skip) {
      Status s = read_tree(b.payload.subspan(skip), b.offset + b.header_size + skip, depth + 1,
                           limits, budget, node.children);
      if (!s) return s;
    }
    out.push_back(std::move(node));
  }
  return Status::ok();
}

// ---- init -------------------------------------------------------------------

// Reads an MPEG-4 descriptor header (14496-1 8.3.3): tag and expandable size.
bool read_descriptor(ByteReader& r, uint8_t& tag, ByteView& body) {
  if (!r.u8(tag)) return false;
  uint32_t len = 0;
  for (int i = 0;; ++i) {
    uint8_t b;
    if (i == 4 || !r.u8(b)) return false;
    len = len << 7 | (b & 0x7F);
    if (!(b & 0x80)) break;
  }
  return r.bytes(len, body);
}

Status parse_esds(ByteView payload, Mp4InitTrack& t) {
  ByteReader r(payload);
  uint8_t version;
  uint32_t flags;
  if (!full_box_header(r, version, flags)) return truncated(box_type("esds"));
  uint8_t tag;
  ByteView es;
  if (!read_descriptor(r, tag, es) || tag != 0x03) {
    return Status::error("esds: no ES_Descriptor");
  }
  ByteReader er(es);
  uint8_t es_flags;
  if (!er.u16be(t.es_id) || !er.u8(es_flags)) return Status::error("esds: ES_Descriptor truncated");
  if (es_flags & 0x80) er.skip(2);  // dependsOn_ES_ID
  if (es_flags & 0x40) {
    uint8_t url_len = 0;
    if (!er.u8(url_len) || !er.skip(url_len)) return Status::error("esds: URL truncated");
  }
  if (es_flags & 0x20) er.skip(2);  // OCR_ES_Id
  while (!er.empty()) {
    ByteView body;
    if (!read_descriptor(er, tag, body)) return Status::error("esds: descriptor truncated");
    if (tag != 0x04) continue;
    ByteReader dr(body);
    if (!dr.u8(t.object_type) || !dr.skip(12)) return Status::error("esds: DecoderConfigDescriptor truncated");
    while (!dr.empty()) {
      ByteView dsi;
      if (!read_descriptor(dr, tag, dsi)) return Status::error("esds: descriptor truncated");
      if (tag == 0x05) {
        t.config = dsi;
        return Status::ok();
      }
    }
    // MPEG-1/2 audio (ISO/IEC 14496-1 Table 5: 0x69, 0x6B) needs no
    // DecoderSpecificInfo: the frame headers carry everything.
    if (t.object_type == 0x69 || t.object_type == 0x6B) return Status::ok();
    return Status::error("esds: no DecoderSpecificInfo");
  }
  return Status::error("esds: no DecoderConfigDescriptor");
}

Status parse_sample_entry(const Mp4Box& entry, Mp4InitTrack& t, Budget& budget) {
  t.sample_entry = entry.type;
  ByteReader r(entry.payload);
  size_t fixed = 0;
  if (t.handler == box_type("vide")) {
    // reserved(6) dref(2) pre_defined/reserved(16) width(2) height(2) ...
    if (!r.skip(24) || !r.u16be(t.width) || !r.u16be(t.height)) return truncated(entry.type);
    fixed = 78;
  } else if (t.handler == box_type("soun")) {
    uint16_t qt_version = 0, samplesize, rate_hi, rate_lo;
    if (!r.skip(8) || !r.u16be(qt_version) || !r.skip(6) || !r.u16be(t.channels) ||
        !r.u16be(samplesize) || !r.skip(4) || !r.u16be(rate_hi) || !r.u16be(rate_lo)) {
      return truncated(entry.type);
    }
    t.sample_rate = rate_hi;
    // QuickTime sound description versions 1 and 2 extend the fixed part.
    fixed = 28 + (qt_version == 1 ? 16 : qt_version == 2 ? 36 : 0);
  } else {
    return Status::ok();  // other handlers: no sample entry details
  }
  if (entry.payload.size() < fixed) return truncated(entry.type);
  auto children = read_children(entry.payload.subspan(fixed),
                                entry.offset + entry.header_size + fixed, budget);
  if (!children) return children.status();
  for (const Mp4Box& c : *children) {
    switch (c.type) {
      case box_type("avcC"):
      case box_type("hvcC"):
      case box_type("av1C"):
      case box_type("vpcC"):
      case box_type("dOps"):
        t.config_type = c.type;
        t.config = c.payload;
        return Status::ok();
      case box_type("esds"):
        t.config_type = c.type;
        return parse_esds(c.payload, t);
      default:
        break;
    }
  }
  return Status::ok();
}

Status parse_trak(const Mp4Box& trak, Mp4InitTrack& t, Budget& budget) {
  auto kids = read_children(trak.payload, trak.offset + trak.header_size, budget);
  if (!kids) return kids.status();
  const Mp4Box* tkhd = find_box(*kids, box_type("tkhd"));
  const Mp4Box* mdia = find_box(*kids, box_type("mdia"));
  if (!tkhd || !mdia) return Status::error("trak: no tkhd or mdia");
  {
    ByteReader r(tkhd->payload);
    uint8_t version;
    uint32_t flags;
    if (!full_box_header(r, version, flags)) return truncated(tkhd->type);
    if (!r.skip(version == 1 ? 16 : 8) || !r.u32be(t.track_id)) return truncated(tkhd->type);
    // reserved(4) duration(4|8) reserved(8) layer alt volume reserved(8) matrix(36)
    if (!r.skip(4 + (version == 1 ? 8 : 4) + 8 + 8 + 36) || !r.u32be(t.tkhd_width) ||
        !r.u32be(t.tkhd_height)) {
      return truncated(tkhd->type);
    }
  }
  auto mdia_kids = read_children(mdia->payload, mdia->offset + mdia->header_size, budget);
  if (!mdia_kids) return mdia_kids.status();
  const Mp4Box* mdhd = find_box(*mdia_kids, box_type("mdhd"));
  const Mp4Box* hdlr = find_box(*mdia_kids, box_type("hdlr"));
  const Mp4Box* minf = find_box(*mdia_kids, box_type("minf"));
  if (!mdhd || !hdlr || !minf) return Status::error("mdia: no mdhd, hdlr or minf");
  {
    ByteReader r(mdhd->payload);
    uint8_t version;
    uint32_t flags;
    if (!full_box_header(r, version, flags) || !r.skip(version == 1 ? 16 : 8) ||
        !r.u32be(t.timescale)) {
      return truncated(mdhd->type);
    }
  }
  {
    ByteReader r(hdlr->payload);
    if (!r.skip(8) || !r.u32be(t.handler)) return truncated(hdlr->type);
  }
  auto minf_kids = read_children(minf->payload, minf->offset + minf->header_size, budget);
  if (!minf_kids) return minf_kids.status();
  const Mp4Box* stbl = find_box(*minf_kids, box_type("stbl"));
  if (!stbl) return Status::error("minf: no stbl");
  auto stbl_kids = read_children(stbl->payload, stbl->offset + stbl->header_size, budget);
  if (!stbl_kids) return stbl_kids.status();
  const Mp4Box* stsd = find_box(*stbl_kids, box_type("stsd"));
  if (!stsd) return Status::error("stbl: no stsd");
  // The payload is a subspan of the parsed bytes, so its header precedes it there.
  t.stsd = ByteView(stsd->payload.data() - stsd->header_size, stsd->size);
  ByteReader r(stsd->payload);
  uint8_t version;
  uint32_t flags, count;
  if (!full_box_header(r, version, flags) || !r.u32be(count)) return truncated(stsd->type);
  if (count == 0) return Status::error("stsd: no sample entry");
  auto entries = read_children(r.rest(), stsd->offset + stsd->header_size + 8, budget);
  if (!entries) return entries.status();
  if (entries->empty()) return Status::error("stsd: no sample entry");
  return parse_sample_entry(entries->front(), t, budget);
}

// The moof `moof` (offsets from the start of the file or bytes parsed) with
// an mdat payload at [mdat_payload_offset, + mdat_payload_size). Fills
// `frag.tracks` with samples carrying data_offset; `next_decode` continues
// trafs without tfdt.
Status parse_moof(const Mp4Box& moof, uint64_t mdat_payload_offset, uint64_t mdat_payload_size,
                  const Mp4Init* init, const Mp4ReaderLimits& limits, Budget& budget,
                  std::map<uint32_t, uint64_t>& next_decode, Mp4Fragment& frag) {
  auto kids = read_children(moof.payload, moof.offset + moof.header_size, budget);
  if (!kids) return kids.status();
  const Mp4Box* mfhd = find_box(*kids, box_type("mfhd"));
  if (!mfhd) return Status::error("moof: no mfhd");
  {
    ByteReader r(mfhd->payload);
    uint8_t version;
    uint32_t flags;
    if (!full_box_header(r, version, flags) || !r.u32be(frag.sequence_number)) {
      return truncated(mfhd->type);
    }
  }
  uint64_t prev_traf_end = moof.offset;  // implicit base of a traf without flags
  for (const Mp4Box& traf : *kids) {
    if (traf.type != box_type("traf")) continue;
    if (frag.tracks.size() >= limits.max_tracks) {
      return Status::errorf("moof: more than {} track fragments", limits.max_tracks);
    }
    auto tk = read_children(traf.payload, traf.offset + traf.header_size, budget);
    if (!tk) return tk.status();
    const Mp4Box* tfhd = find_box(*tk, box_type("tfhd"));
    if (!tfhd) return Status::error("traf: no tfhd");
    Mp4TrackRun run;
    uint64_t base_data_offset = 0;
    uint32_t def_duration = 0, def_size = 0, def_flags = 0;
    {
      ByteReader r(tfhd->payload);
      uint8_t version;
      if (!full_box_header(r, version, run.tfhd_flags) || !r.u32be(run.track_id)) {
        return truncated(tfhd->type);
      }
      if (const Mp4InitTrack* it = init ? init->find(run.track_id) : nullptr) {
        def_duration = it->default_sample_duration;
        def_size = it->default_sample_size;
        def_flags = it->default_sample_flags;
      }
      uint32_t sdi;
      bool ok = true;
      if (run.tfhd_flags & kTfhdBaseDataOffset) ok &= r.u64be(base_data_offset);
      if (run.tfhd_flags & kTfhdSampleDescriptionIndex) ok &= r.u32be(sdi);
      if (run.tfhd_flags & kTfhdDefaultDuration) ok &= r.u32be(def_duration);
      if (run.tfhd_flags & kTfhdDefaultSize) ok &= r.u32be(def_size);
      if (run.tfhd_flags & kTfhdDefaultFlags) ok &= r.u32be(def_flags);
      if (!ok) return truncated(tfhd->type);
      if (!(run.tfhd_flags & kTfhdBaseDataOffset)) {
        base_data_offset =
            (run.tfhd_flags & kTfhdDefaultBaseIsMoof) ? moof.offset : prev_traf_end;
      }
    }
    if (const Mp4Box* tfdt = find_box(*tk, box_type("tfdt"))) {
      ByteReader r(tfdt->payload);
      uint32_t flags, v32;
      if (!full_box_header(r, run.tfdt_version, flags)) return truncated(tfdt->type);
      bool ok = run.tfdt_version == 1 ? r.u64be(run.base_decode_time) : r.u32be(v32);
      if (!ok) return truncated(tfdt->type);
      if (run.tfdt_version != 1) run.base_decode_time = v32;
      run.has_tfdt = true;
    } else {
      run.base_decode_time = next_decode[run.track_id];
    }
    uint64_t decode = run.base_decode_time;
    uint64_t data_pos = base_data_offset;
    for (const Mp4Box& trun : *tk) {
      if (trun.type != box_type("trun")) continue;
      ByteReader r(trun.payload);
      uint8_t version;
      uint32_t flags, count;
      if (!full_box_header(r, version, flags) || !r.u32be(count)) return truncated(trun.type);
      run.trun_versions.push_back(version);
      run.trun_flags.push_back(flags);
      uint32_t data_offset_u = 0, first_flags = 0;
      if ((flags & kTrunDataOffset) && !r.u32be(data_offset_u)) return truncated(trun.type);
      int32_t data_offset = int32_t(data_offset_u);
      if ((flags & kTrunFirstSampleFlags) && !r.u32be(first_flags)) return truncated(trun.type);
      if (flags & kTrunDataOffset) {
        int64_t pos = int64_t(base_data_offset) + data_offset;
        if (pos < 0) return Status::errorf("trun: data offset {} before the data", data_offset);
        data_pos = uint64_t(pos);
      }
      size_t per_sample = 4 * (((flags & kTrunDuration) != 0) + ((flags & kTrunSize) != 0) +
                               ((flags & kTrunFlags) != 0) +
                               ((flags & kTrunCompositionOffset) != 0));
      if (per_sample && uint64_t(count) * per_sample > r.remaining()) {
        return Status::errorf("trun: {} samples need {} bytes, {} left", count,
                              uint64_t(count) * per_sample, r.remaining());
      }
      if (count > budget.samples_left) {
        return Status::errorf("trun: {} samples exceed the limit of {}", count,
                              limits.max_samples);
      }
      budget.samples_left -= count;
      run.samples.reserve(run.samples.size() + count);
      for (uint32_t i = 0; i < count; ++i) {
        Mp4Sample s;
        s.duration = def_duration;
        s.size = def_size;
        s.flags = (i == 0 && (flags & kTrunFirstSampleFlags)) ? first_flags : def_flags;
        uint32_t cto = 0;
        if (flags & kTrunDuration) r.u32be(s.duration);
        if (flags & kTrunSize) r.u32be(s.size);
        if (flags & kTrunFlags) r.u32be(s.flags);
        if (flags & kTrunCompositionOffset) {
          r.u32be(cto);
          s.composition_offset = version == 0 ? int64_t(cto) : int64_t(int32_t(cto));
        }
        s.decode_time = decode;
        decode += s.duration;
        // The sample must lie inside the mdat that follows this moof.
        if (data_pos < mdat_payload_offset ||
            data_pos - mdat_payload_offset > mdat_payload_size ||
            s.size > mdat_payload_size - (data_pos - mdat_payload_offset)) {
          return Status::errorf("trun: track {} sample {} at {}+{} outside the mdat",
                                run.track_id, i, data_pos, s.size);
        }
        s.data_offset = data_pos;
        data_pos += s.size;
        run.samples.push_back(s);
      }
    }
    prev_traf_end = data_pos;
    next_decode[run.track_id] = decode;
    frag.tracks.push_back(std::move(run));
  }
  return Status::ok();
}

}  // namespace

std::string mp4_type_name(uint32_t type) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    char c = char(type >> (24 - 8 * i));
    if (c >= 0x20 && c < 0x7F) s[size_t(i)] = c;
  }
  return s;
}

core::Result<std::vector<Mp4Box>> read_mp4_boxes(ByteView data, size_t base_offset,
                                                 size_t max_boxes) {
  std::vector<Mp4Box> out;
  ByteReader r(data);
  while (!r.empty()) {
    if (out.size() >= max_boxes) return Status::errorf("mp4: more than {} boxes", max_boxes);
    Mp4Box b;
    b.offset = base_offset + r.position();
    size_t start = r.position();
    uint32_t size32;
    if (!r.u32be(size32) || !r.u32be(b.type)) {
      return Status::errorf("mp4: {} bytes left, a box header needs 8", data.size() - start);
    }
    uint64_t size = size32;
    if (size32 == 1) {
      if (!r.u64be(size)) return Status::errorf("{}: largesize truncated", mp4_type_name(b.type));
    } else if (size32 == 0) {
      size = data.size() - start;
    }
    if (b.type == box_type("uuid") && !r.skip(16)) {
      return Status::error("uuid: usertype truncated");
    }
    b.header_size = r.position() - start;
    if (size < b.header_size) {
      return Status::errorf("{}: size {} smaller than its {}-byte header", mp4_type_name(b.type),
                            size, b.header_size);
    }
    if (size > data.size() - start) {
      return Status::errorf("{}: size {} exceeds the {} bytes left", mp4_type_name(b.type), size,
                            data.size() - start);
    }
    b.size = size_t(size);
    b.payload = data.subspan(r.position(), b.size - b.header_size);
    r.skip(b.payload.size());
    out.push_back(b);
  }
  return out;
}

core::Result<std::vector<Mp4BoxNode>> read_mp4_box_tree(ByteView data,
                                                        const Mp4ReaderLimits& limits) {
  Budget budget{limits.max_boxes, limits.max_samples};
  std::vector<Mp4BoxNode> out;
  Status s = read_tree(data, 0, 0, limits, budget, out);
  if (!s) return s;
  return out;
}

const Mp4InitTrack* Mp4Init::find(uint32_t track_id) const {
  for (const auto& t : tracks) {
    if (t.track_id == track_id) return &t;
  }
  return nullptr;
}

core::Result<Mp4Init> parse_mp4_init(ByteView data, const Mp4ReaderLimits& limits) {
  Budget budget{limits.max_boxes, limits.max_samples};
  auto top = read_children(data, 0, budget);
  if (!top) return top.status();
  Mp4Init init;
  const Mp4Box* ftyp = find_box(*top, box_type("ftyp"));
  if (ftyp) {
    ByteReader r(ftyp->payload);
    if (!r.u32be(init.major_brand) || !r.u32be(init.minor_version)) return truncated(ftyp->type);
    uint32_t brand;
    while (r.u32be(brand)) init.compatible_brands.push_back(brand);
  }
  const Mp4Box* moov = find_box(*top, box_type("moov"));
  if (!moov) return Status::error("mp4: no moov");
  auto kids = read_children(moov->payload, moov->offset + moov->header_size, budget);
  if (!kids) return kids.status();
  const Mp4Box* mvhd = find_box(*kids, box_type("mvhd"));
  if (!mvhd) return Status::error("moov: no mvhd");
  {
    ByteReader r(mvhd->payload);
    uint8_t version;
    uint32_t flags;
    if (!full_box_header(r, version, flags) || !r.skip(version == 1 ? 16 : 8) ||
        !r.u32be(init.movie_timescale) || !r.skip((version == 1 ? 8 : 4) + 4 + 2 + 10 + 36 + 24) ||
        !r.u32be(init.next_track_id)) {
      return truncated(mvhd->type);
    }
  }
  for (const Mp4Box& b : *kids) {
    if (b.type != box_type("trak")) continue;
    if (init.tracks.size() >= limits.max_tracks) {
      return Status::errorf("moov: more than {} tracks", limits.max_tracks);
    }
    Mp4InitTrack t;
    Status s = parse_trak(b, t, budget);
    if (!s) return s;
    init.tracks.push_back(t);
  }
  if (const Mp4Box* mvex = find_box(*kids, box_type("mvex"))) {
    init.has_mvex = true;
    auto ex = read_children(mvex->payload, mvex->offset + mvex->header_size, budget);
    if (!ex) return ex.status();
    for (const Mp4Box& b : *ex) {
      if (b.type != box_type("trex")) continue;
      ByteReader r(b.payload);
      uint8_t version;
      uint32_t flags, id, sdi, dur, size, fl;
      if (!full_box_header(r, version, flags) || !r.u32be(id) || !r.u32be(sdi) ||
          !r.u32be(dur) || !r.u32be(size) || !r.u32be(fl)) {
        return truncated(b.type);
      }
      for (auto& t : init.tracks) {
        if (t.track_id != id) continue;
        t.has_trex = true;
        t.default_sample_description_index = sdi;
        t.default_sample_duration = dur;
        t.default_sample_size = size;
        t.default_sample_flags = fl;
      }
    }
  }
  return init;
}

core::Result<std::vector<Mp4Fragment>> parse_mp4_fragments(ByteView data, const Mp4Init* init,
                                                           const Mp4ReaderLimits& limits) {
  Budget budget{limits.max_boxes, limits.max_samples};
  auto top = read_children(data, 0, budget);
  if (!top) return top.status();
  std::vector<Mp4Fragment> out;
  std::map<uint32_t, uint64_t> next_decode;  // per track, for trafs without tfdt

  for (size_t bi = 0; bi < top->size(); ++bi) {
    const Mp4Box& moof = (*top)[bi];
    if (moof.type != box_type("moof")) continue;
    Mp4Fragment frag;
    frag.offset = moof.offset;
    frag.moof_size = moof.size;
    ByteView mdat_payload;
    size_t mdat_payload_offset = 0;
    if (bi + 1 < top->size() && (*top)[bi + 1].type == box_type("mdat")) {
      const Mp4Box& mdat = (*top)[bi + 1];
      frag.mdat_size = mdat.size;
      mdat_payload = mdat.payload;
      mdat_payload_offset = mdat.offset + mdat.header_size;
    }
    Status s = parse_moof(moof, mdat_payload_offset, mdat_payload.size(), init, limits, budget,
                          next_decode, frag);
    if (!s) return s;
    for (auto& run : frag.tracks) {
      for (auto& smp : run.samples) {
        smp.data = mdat_payload.subspan(size_t(smp.data_offset - mdat_payload_offset), smp.size);
      }
    }
    out.push_back(std::move(frag));
  }
  return out;
}

core::Result<Mp4Fragment> parse_mp4_moof(ByteView moof, uint64_t moof_offset,
                                         uint64_t mdat_payload_offset, uint64_t mdat_payload_size,
                                         const Mp4Init* init, const Mp4ReaderLimits& limits) {
  Budget budget{limits.max_boxes, limits.max_samples};
  auto top = read_children(moof, size_t(moof_offset), budget);
  if (!top) return top.status();
  if (top->size() != 1 || (*top)[0].type != box_type("moof")) {
    return Status::error("moof: expected exactly one moof box");
  }
  if (mdat_payload_offset > UINT64_MAX - mdat_payload_size) {
    return Status::error("mdat: payload range overflows");
  }
  Mp4Fragment frag;
  frag.offset = size_t(moof_offset);
  frag.moof_size = (*top)[0].size;
  std::map<uint32_t, uint64_t> next_decode;
  Status s = parse_moof((*top)[0], mdat_payload_offset, mdat_payload_size, init, limits, budget,
                        next_decode, frag);
  if (!s) return s;
  return frag;
}

}  // namespace weir::protocol
