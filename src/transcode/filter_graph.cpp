#include "transcode/filter_graph.h"

extern "C" {
#include <libavutil/mem.h>
#include <libavutil/opt.h>
}

#include "protocol/av/av_ptr.h"

namespace weir::transcode {

using core::Status;

namespace {
struct InOutFree {
  void operator()(AVFilterInOut* io) const { avfilter_inout_free(&io); }
};
using InOutPtr = std::unique_ptr<AVFilterInOut, InOutFree>;

// Prepends an open end named `name` at `ctx` to `list`.
bool link(InOutPtr& list, const std::string& name, AVFilterContext* ctx) {
  AVFilterInOut* io = avfilter_inout_alloc();
  if (!io) return false;
  io->name = av_strdup(name.c_str());
  io->filter_ctx = ctx;
  io->pad_idx = 0;
  io->next = list.release();
  list.reset(io);
  return io->name != nullptr;
}
}  // namespace

core::Result<AVFilterContext*> make_filter(AVFilterGraph* g, const char* filter, const char* name,
                                           const FilterOptions& opts) {
  const AVFilter* f = avfilter_get_by_name(filter);
  if (!f) return Status::errorf("this FFmpeg has no {} filter", filter);
  AVFilterContext* c = avfilter_graph_alloc_filter(g, f, name);
  if (!c) return Status::errorf("out of memory ({} filter)", filter);
  for (const auto& [k, v] : opts)
    if (int e = av_opt_set(c, k, v.c_str(), AV_OPT_SEARCH_CHILDREN); e < 0)
      return Status::errorf("{} {}={}: {}", filter, k, v, protocol::av::av_error_text(e));
  if (int e = avfilter_init_str(c, nullptr); e < 0)
    return Status::errorf("{}: {}", filter, protocol::av::av_error_text(e));
  return c;
}

core::Status link_filters(AVFilterContext* from, unsigned out_pad, AVFilterContext* to, unsigned in_pad) {
  if (int e = avfilter_link(from, out_pad, to, in_pad); e < 0)
    return Status::errorf("filter link {} -> {}: {}", from->name, to->name, protocol::av::av_error_text(e));
  return Status::ok();
}

core::Result<std::unique_ptr<FilterGraph>> FilterGraph::build(bool audio, const std::vector<Source>& sources,
                                                              const std::string& description) {
  std::unique_ptr<FilterGraph> g(new FilterGraph());
  g->graph_.reset(avfilter_graph_alloc());
  if (!g->graph_) return Status::error("out of memory (filter graph)");
  g->graph_->nb_threads = 1;
  InOutPtr outputs, inputs;  // the graph's open outputs are our sources; its open input our sink
  for (const auto& s : sources) {
    AVFilterContext* ctx = nullptr;
    int e = avfilter_graph_create_filter(&ctx, avfilter_get_by_name(audio ? "abuffer" : "buffer"), s.name.c_str(),
                                         s.args.c_str(), nullptr, g->graph_.get());
    if (e < 0) return Status::errorf("filter graph source {}: {}", s.name, protocol::av::av_error_text(e));
    g->sources_.push_back(ctx);
    if (!link(outputs, s.name, ctx)) return Status::error("out of memory (filter graph)");
  }
  int e = avfilter_graph_create_filter(&g->sink_, avfilter_get_by_name(audio ? "abuffersink" : "buffersink"), "out",
                                       nullptr, nullptr, g->graph_.get());
  if (e < 0) return Status::errorf("filter graph sink: {}", protocol::av::av_error_text(e));
  if (!link(inputs, "out", g->sink_)) return Status::error("out of memory (filter graph)");
  AVFilterInOut* in = inputs.release();
  AVFilterInOut* out = outputs.release();
  e = avfilter_graph_parse_ptr(g->graph_.get(), description.c_str(), &in, &out, nullptr);
  avfilter_inout_free(&in);
  avfilter_inout_free(&out);
  if (e < 0) return Status::errorf("filter graph \"{}\": {}", description, protocol::av::av_error_text(e));
  if ((e = avfilter_graph_config(g->graph_.get(), nullptr)) < 0)
    return Status::errorf("filter graph: {}", protocol::av::av_error_text(e));
  return g;
}

}  // namespace weir::transcode
