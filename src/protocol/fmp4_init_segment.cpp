// Fmp4Muxer's init segment (ftyp + moov with one trak per track and mvex).
#include "protocol/fmp4_muxer.h"

#include <algorithm>

#include "core/byte_reader.h"
#include "protocol/codec_config.h"
#include "protocol/fmp4_boxes.h"
#include "protocol/mp4_box.h"

namespace weir::protocol {

using namespace fmp4;  // NOLINT(google-build-using-namespace): the shared box pieces
using core::ByteWriter;
using core::Slice;
using core::Status;
using core::TrackType;

// ---- init segment -------------------------------------------------------------

void Fmp4Muxer::write_sample_entry(ByteWriter& w, const Track& t) const {
  size_t entry = begin_box(w, t.sample_entry_type);
  w.zeros(6);    // reserved
  w.u16be(1);    // data_reference_index
  if (t.info.type == TrackType::kVideo) {
    w.u16be(0);  // pre_defined
    w.u16be(0);  // reserved
    w.zeros(12); // pre_defined
    w.u16be(uint16_t(std::min<uint32_t>(t.info.width, 0xFFFF)));
    w.u16be(uint16_t(std::min<uint32_t>(t.info.height, 0xFFFF)));
    w.u32be(0x00480000);  // horizresolution 72 dpi
    w.u32be(0x00480000);  // vertresolution
    w.u32be(0);           // reserved
    w.u16be(1);           // frame_count
    w.zeros(32);          // compressorname
    w.u16be(0x0018);      // depth
    w.u16be(0xFFFF);      // pre_defined = -1
  } else {
    w.zeros(8);           // reserved
    w.u16be(t.info.channels);
    w.u16be(16);          // samplesize
    w.u16be(0);           // pre_defined
    w.u16be(0);           // reserved
    w.u32be(t.info.sample_rate <= 0xFFFF ? t.info.sample_rate << 16 : 0);
  }
  size_t cfg = begin_box(w, t.config_box_type);
  w.bytes(t.config_box.view());
  end_box(w, cfg);
  end_box(w, entry);
}

void Fmp4Muxer::write_trak(ByteWriter& w, const Track& t) const {
  const bool video = t.info.type == TrackType::kVideo;
  size_t trak = begin_box(w, box_type("trak"));

  size_t tkhd = begin_full_box(w, box_type("tkhd"), 0, 0x000003);  // enabled, in movie
  w.u32be(0);  // creation_time
  w.u32be(0);  // modification_time
  w.u32be(t.info.track_id);
  w.u32be(0);  // reserved
  w.u32be(0);  // duration (fragmented: in the fragments)
  w.zeros(8);  // reserved
  w.u16be(0);  // layer
  w.u16be(0);  // alternate_group
  w.u16be(video ? 0 : 0x0100);  // volume
  w.u16be(0);  // reserved
  write_unity_matrix(w);
  w.u32be(video ? std::min<uint32_t>(t.info.width, 0xFFFF) << 16 : 0);
  w.u32be(video ? std::min<uint32_t>(t.info.height, 0xFFFF) << 16 : 0);
  end_box(w, tkhd);

  size_t mdia = begin_box(w, box_type("mdia"));
  size_t mdhd = begin_full_box(w, box_type("mdhd"), 0, 0);
  w.u32be(0);  // creation_time
  w.u32be(0);  // modification_time
  w.u32be(t.info.timescale);
  w.u32be(0);  // duration
  w.u16be(0x55C4);  // language "und" (ISO-639-2/T, packed 5-bit)
  w.u16be(0);       // pre_defined
  end_box(w, mdhd);

  size_t hdlr = begin_full_box(w, box_type("hdlr"), 0, 0);
  w.u32be(0);  // pre_defined
  w.u32be(video ? box_type("vide") : box_type("soun"));
  w.zeros(12);  // reserved
  w.bytes(video ? std::string_view("VideoHandler", 13) : std::string_view("SoundHandler", 13));
  end_box(w, hdlr);

  size_t minf = begin_box(w, box_type("minf"));
  if (video) {
    size_t vmhd = begin_full_box(w, box_type("vmhd"), 0, 1);
    w.zeros(8);  // graphicsmode, opcolor
    end_box(w, vmhd);
  } else {
    size_t smhd = begin_full_box(w, box_type("smhd"), 0, 0);
    w.u32be(0);  // balance, reserved
    end_box(w, smhd);
  }
  size_t dinf = begin_box(w, box_type("dinf"));
  size_t dref = begin_full_box(w, box_type("dref"), 0, 0);
  w.u32be(1);  // entry_count
  end_box(w, begin_full_box(w, box_type("url "), 0, 1));  // media in this file
  end_box(w, dref);
  end_box(w, dinf);

  size_t stbl = begin_box(w, box_type("stbl"));
  size_t stsd = begin_full_box(w, box_type("stsd"), 0, 0);
  w.u32be(1);  // entry_count
  write_sample_entry(w, t);
  end_box(w, stsd);
  for (uint32_t type : {box_type("stts"), box_type("stsc"), box_type("stco")}) {
    size_t b = begin_full_box(w, type, 0, 0);
    w.u32be(0);  // entry_count
    end_box(w, b);
  }
  size_t stsz = begin_full_box(w, box_type("stsz"), 0, 0);
  w.u32be(0);  // sample_size
  w.u32be(0);  // sample_count
  end_box(w, stsz);
  end_box(w, stbl);
  end_box(w, minf);
  end_box(w, mdia);
  end_box(w, trak);
}

core::Result<Slice> Fmp4Muxer::init_segment() {
  std::vector<const Track*> tracks;
  if (video_.configured) tracks.push_back(&video_);
  if (audio_.configured) tracks.push_back(&audio_);
  if (tracks.empty()) return Status::error("fmp4: no track configured");
  init_taken_ = true;

  ByteWriter w(1024);
  size_t ftyp = begin_box(w, box_type("ftyp"));
  w.u32be(box_type("iso6"));  // major_brand
  w.u32be(0);                 // minor_version
  w.u32be(box_type("iso6"));
  // CMAF (ISO/IEC 23000-19 7.2) allows one track per file; claim it only then.
  if (tracks.size() == 1) w.u32be(box_type("cmfc"));
  w.u32be(box_type("mp41"));
  end_box(w, ftyp);

  size_t moov = begin_box(w, box_type("moov"));
  size_t mvhd = begin_full_box(w, box_type("mvhd"), 0, 0);
  w.u32be(0);           // creation_time
  w.u32be(0);           // modification_time
  w.u32be(1000);        // timescale
  w.u32be(0);           // duration
  w.u32be(0x00010000);  // rate 1.0
  w.u16be(0x0100);      // volume 1.0
  w.zeros(10);          // reserved
  write_unity_matrix(w);
  w.zeros(24);          // pre_defined
  w.u32be(uint32_t(tracks.size()) + 1);  // next_track_ID
  end_box(w, mvhd);
  for (const Track* t : tracks) write_trak(w, *t);
  size_t mvex = begin_box(w, box_type("mvex"));
  for (const Track* t : tracks) {
    size_t trex = begin_full_box(w, box_type("trex"), 0, 0);
    w.u32be(t->info.track_id);
    w.u32be(1);  // default_sample_description_index
    w.u32be(0);  // default_sample_duration
    w.u32be(0);  // default_sample_size
    w.u32be(0);  // default_sample_flags
    end_box(w, trex);
  }
  end_box(w, mvex);
  end_box(w, moov);
  return w.finish();
}

}  // namespace weir::protocol
