// FilterGraph: a libavfilter graph built from a description whose open
// inputs are named buffer/abuffer sources and whose one open output is
// "[out]", ending in a buffersink/abuffersink. For graphs with several
// inputs (the mixer's overlays and amix) or none (a colour source).
//
//   auto g = FilterGraph::build(false, {{"bg", "video_size=320x180:pix_fmt=0:time_base=1/1000"}},
//                               "[bg]format=yuv420p[out]");
//   av_buffersrc_add_frame_flags(g->source(0), frame, AV_BUFFERSRC_FLAG_KEEP_REF);
//   av_buffersink_get_frame(g->sink(), out);
//
// Thread: one thread at a time (a WorkerPool strand), never a loop.
#pragma once

extern "C" {
#include <libavfilter/avfilter.h>
}

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace weir::transcode {

// Building a graph filter by filter (the watermark's, a mix background's):
// `filter` by name in `g`, its options set with av_opt_set before init (so a
// file name needs no escaping); the error names the filter and option.
using FilterOptions = std::vector<std::pair<const char*, std::string>>;
core::Result<AVFilterContext*> make_filter(AVFilterGraph* g, const char* filter, const char* name,
                                           const FilterOptions& opts);
core::Status link_filters(AVFilterContext* from, unsigned out_pad, AVFilterContext* to, unsigned in_pad);

class FilterGraph {
 public:
  struct Source {
    std::string name;  // the label the description uses: [name]
    std::string args;  // buffer / abuffer arguments
  };
  // `audio`: abuffer/abuffersink, else buffer/buffersink. One thread.
  static core::Result<std::unique_ptr<FilterGraph>> build(bool audio, const std::vector<Source>& sources,
                                                          const std::string& description);

  AVFilterContext* source(size_t i) const { return sources_[i]; }
  size_t sources() const { return sources_.size(); }
  AVFilterContext* sink() const { return sink_; }

 private:
  struct GraphFree {
    void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
  };
  std::unique_ptr<AVFilterGraph, GraphFree> graph_;
  std::vector<AVFilterContext*> sources_;
  AVFilterContext* sink_ = nullptr;
};

}  // namespace weir::transcode
