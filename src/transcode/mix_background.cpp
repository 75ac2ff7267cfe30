#include "transcode/mix_background.h"

extern "C" {
#include <libavfilter/buffersink.h>
}

#include <fmt/format.h>

#include <memory>

#include "transcode/filter_graph.h"
#include "transcode/image_source.h"

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {
constexpr char kField[] = "background.image";
struct GraphFree {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
}  // namespace

core::Result<av::FramePtr> make_mix_background(int width, int height, uint32_t rgb, const std::string& image) {
  std::unique_ptr<AVFilterGraph, GraphFree> g(avfilter_graph_alloc());
  if (!g) return Status::error("out of memory (background graph)");
  g->nb_threads = 1;
  const std::string size = fmt::format("{}x{}", width, height);
  auto color = make_filter(g.get(), "color", "bg_color", {{"c", fmt::format("0x{:06x}", rgb)}, {"s", size}, {"r", "1"}});
  if (!color) return Status::errorf("background: {}", color.error());
  AVFilterContext* top = *color;
  AVFilterContext* movie = nullptr;
  if (!image.empty()) {
    auto m = add_image_source(g.get(), "bg_movie", image, kField);
    if (!m) return m.status();
    movie = *m;
    auto scale = make_filter(g.get(), "scale", "bg_scale",
                             {{"w", std::to_string(width)}, {"h", std::to_string(height)},
                              {"force_original_aspect_ratio", "decrease"}});
    auto rgba = make_filter(g.get(), "format", "bg_rgba", {{"pix_fmts", "rgba"}});
    auto over = make_filter(g.get(), "overlay", "bg_overlay",
                            {{"x", "(W-w)/2"}, {"y", "(H-h)/2"}, {"format", "yuv420"}, {"eof_action", "repeat"}});
    for (auto* r : {&scale, &rgba, &over})
      if (!*r) return Status::errorf("background: {}", r->error());
    for (auto st : {link_filters(movie, 0, *scale, 0), link_filters(*scale, 0, *rgba, 0),
                    link_filters(*color, 0, *over, 0), link_filters(*rgba, 0, *over, 1)})
      if (!st) return Status::errorf("background: {}", st.message());
    top = *over;
  }
  auto fmt420 = make_filter(g.get(), "format", "bg_yuv", {{"pix_fmts", "yuv420p"}});
  auto sink = make_filter(g.get(), "buffersink", "bg_out", {});
  if (!fmt420) return Status::errorf("background: {}", fmt420.error());
  if (!sink) return Status::errorf("background: {}", sink.error());
  if (auto st = link_filters(top, 0, *fmt420, 0); !st) return st;
  if (auto st = link_filters(*fmt420, 0, *sink, 0); !st) return st;
  if (int e = avfilter_graph_config(g.get(), nullptr); e < 0)
    return image.empty() ? Status::errorf("background: {}", av::av_error_text(e))
                         : Status::errorf("{}: {} cannot be drawn ({})", kField, image, av::av_error_text(e));
  if (movie) {
    const AVFilterLink* l = movie->outputs[0];
    if (l->w > kMaxImageSide || l->h > kMaxImageSide)
      return Status::errorf("{}: {} is {}x{} pixels (at most {} on each side)", kField, image, l->w, l->h,
                            kMaxImageSide);
  }
  auto f = av::make_frame();
  if (!f) return Status::error("out of memory (background)");
  if (int e = av_buffersink_get_frame(*sink, f.get()); e < 0)
    return image.empty() ? Status::errorf("background: {}", av::av_error_text(e))
                         : Status::errorf("{}: {} gives no picture ({})", kField, image, av::av_error_text(e));
  return f;
}

}  // namespace weir::transcode
