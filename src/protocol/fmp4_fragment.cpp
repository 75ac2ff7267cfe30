// Fmp4Muxer's fragments (moof + mdat of the samples ready).
#include "protocol/fmp4_muxer.h"

#include <algorithm>
#include <limits>

#include "core/byte_reader.h"
#include "protocol/fmp4_boxes.h"
#include "protocol/mp4_box.h"

namespace weir::protocol {

using namespace fmp4;  // NOLINT(google-build-using-namespace): the shared box pieces
using core::ByteWriter;
using core::TrackType;

// ---- fragments ------------------------------------------------------------------

Fmp4Fragment Fmp4Muxer::flush_fragment(uint32_t sequence_number) {
  Fmp4Fragment frag;
  frag.sequence_number = sequence_number;

  struct Run {
    Track* track;
    uint32_t track_id;
    size_t count;
    size_t data_offset_at = 0;
    uint64_t bytes = 0;
  };
  std::vector<Run> runs;
  for (Track* t : {&video_, &audio_}) {
    size_t n = ready_count(*t);
    uint32_t id = t->barrier != SIZE_MAX ? t->barrier_track_id : t->info.track_id;
    if (n > 0) runs.push_back({t, id, n});
  }
  if (runs.empty()) {
    for (Track* t : {&video_, &audio_}) t->barrier = SIZE_MAX;
    change_pending_ = false;
    return frag;
  }

  size_t total_bytes = 0;
  for (Run& r : runs) {
    for (size_t i = 0; i < r.count; ++i) r.bytes += r.track->ready[i].data.size();
    total_bytes += r.bytes;
  }

  ByteWriter w(256 + total_bytes + 16 * pending_samples());
  size_t moof = begin_box(w, box_type("moof"));
  size_t mfhd = begin_full_box(w, box_type("mfhd"), 0, 0);
  w.u32be(sequence_number);
  end_box(w, mfhd);
  for (Run& r : runs) {
    const bool video = r.track->info.type == TrackType::kVideo;
    size_t traf = begin_box(w, box_type("traf"));
    size_t tfhd = begin_full_box(w, box_type("tfhd"), 0, kTfhdDefaultBaseIsMoof);
    w.u32be(r.track_id);
    end_box(w, tfhd);
    size_t tfdt = begin_full_box(w, box_type("tfdt"), 1, 0);
    w.u64be(r.track->ready.front().decode_time);
    end_box(w, tfdt);
    uint32_t flags = kTrunDataOffset | kTrunDuration | kTrunSize | kTrunFlags;
    if (video) flags |= kTrunCompositionOffset;
    size_t trun = begin_full_box(w, box_type("trun"), 1, flags);
    w.u32be(uint32_t(r.count));
    r.data_offset_at = w.size();
    w.u32be(0);  // data_offset, patched below
    for (size_t i = 0; i < r.count; ++i) {
      const Sample& s = r.track->ready[i];
      w.u32be(s.duration);
      w.u32be(uint32_t(s.data.size()));
      w.u32be(s.flags);
      if (video) w.u32be(uint32_t(s.composition_offset));
    }
    end_box(w, trun);
    end_box(w, traf);
  }
  end_box(w, moof);

  // mdat: the runs back to back, each trun's data_offset counted from the
  // first byte of the moof (default-base-is-moof).
  uint64_t offset = w.size() - moof + kBoxHeaderSize;
  for (Run& r : runs) {
    w.patch_u32be(r.data_offset_at, uint32_t(offset));
    offset += r.bytes;
  }
  size_t mdat = begin_box(w, box_type("mdat"));
  int64_t first_dts = std::numeric_limits<int64_t>::max();
  for (Run& r : runs) {
    for (size_t i = 0; i < r.count; ++i) {
      const Sample& s = r.track->ready[i];
      w.bytes(s.data.view());
      first_dts = std::min(first_dts, s.dts_ms);
    }
  }
  end_box(w, mdat);

  const Track* primary = runs.front().track;
  uint64_t primary_ticks = 0;
  for (size_t i = 0; i < runs.front().count; ++i) primary_ticks += primary->ready[i].duration;
  frag.duration_ms = double(primary_ticks) * 1000.0 / primary->info.timescale;
  frag.first_dts_ms = first_dts;
  for (Run& r : runs) {
    if (r.track == &video_) frag.video_samples = uint32_t(r.count);
    else frag.audio_samples = uint32_t(r.count);
  }
  // A fragment of a stream with video can start playback only at a video sync
  // sample; audio-only output is all sync samples.
  frag.independent = video_.configured
                         ? runs.front().track == &video_ && video_.ready.front().sync
                         : true;
  frag.data = w.finish();

  for (Run& r : runs) {
    r.track->ready.erase(r.track->ready.begin(), r.track->ready.begin() + long(r.count));
  }
  pending_bytes_ -= std::min(pending_bytes_, total_bytes);
  for (Track* t : {&video_, &audio_}) t->barrier = SIZE_MAX;
  change_pending_ = false;
  ++stats_.fragments;
  return frag;
}

}  // namespace weir::protocol
