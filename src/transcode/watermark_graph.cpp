#include "transcode/watermark_graph.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
}

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "protocol/av/av_ptr.h"
#include "transcode/filter_graph.h"
#include "transcode/image_source.h"

namespace weir::transcode {

namespace {
using core::Status;
using Options = FilterOptions;
constexpr auto link = link_filters;

std::string fraction(int percent) { return fmt::format("{}.{:02d}", percent / 100, percent % 100); }

// drawtext's text for a strftime format: %{localtime:FMT}, FMT escaped for
// drawtext's argument reader (av_get_token: backslash before \ : } ').
std::string localtime_text(const std::string& format) {
  std::string out = "%{localtime:";
  for (char c : format) {
    if (c == '\\' || c == ':' || c == '}' || c == '\'' || c == '{') out += '\\';
    out += c;
  }
  return out + "}";
}

// TrueType, OpenType (CFF), collections, WOFF/WOFF2. drawtext falls back to
// a fontconfig default when FreeType refuses a file, so this is checked here.
bool is_font_signature(const unsigned char* h) {
  return std::memcmp(h, "\0\1\0\0", 4) == 0 || std::memcmp(h, "true", 4) == 0 || std::memcmp(h, "OTTO", 4) == 0 ||
         std::memcmp(h, "ttcf", 4) == 0 || std::memcmp(h, "wOFF", 4) == 0 || std::memcmp(h, "wOF2", 4) == 0;
}

core::Result<AVFilterContext*> add_image(AVFilterGraph* g, AVFilterContext* in, int width, const WatermarkImage& img,
                                         std::string& field) {
  field = "image.file";
  auto movie = add_image_source(g, "wm_movie", img.file, field);
  if (!movie) return movie.status();
  field = "image";
  const int w = std::max(2, (width * img.width_percent / 100) & ~1);
  auto scale = make_filter(g, "scale", "wm_scale", {{"w", std::to_string(w)}, {"h", "-2"}});
  if (!scale) return scale.status();
  auto rgba = make_filter(g, "format", "wm_rgba", {{"pix_fmts", "rgba"}});
  if (!rgba) return rgba.status();
  if (auto st = link(*movie, 0, *scale, 0); !st) return st;
  if (auto st = link(*scale, 0, *rgba, 0); !st) return st;
  AVFilterContext* top = *rgba;
  if (img.opacity < 100) {
    auto mix = make_filter(g, "colorchannelmixer", "wm_opacity", {{"aa", fraction(img.opacity)}});
    if (!mix) return mix.status();
    if (auto st = link(top, 0, *mix, 0); !st) return st;
    top = *mix;
  }
  field = "image.position";
  auto over = make_filter(g, "overlay", "wm_overlay",
                          {{"x", img.position.x_expr("W", "w")}, {"y", img.position.y_expr("H", "h")},
                           {"eof_action", "repeat"}});
  if (!over) return over.status();
  if (auto st = link(in, 0, *over, 0); !st) return st;
  if (auto st = link(top, 0, *over, 1); !st) return st;
  return *over;
}

core::Result<AVFilterContext*> add_text(AVFilterGraph* g, AVFilterContext* in, int height, const WatermarkText& t,
                                        std::string& field) {
  const int size = t.size_percent > 0 ? std::max(4, height * t.size_percent / 100) : t.font_size;
  field = "text.font";
  unsigned char head[16];
  if (std::string why = read_file_head(t.font, kMaxFontBytes, head, sizeof head); !why.empty())
    return Status::error("text.font: " + why);
  if (!is_font_signature(head))
    return Status::errorf("text.font: {} is not a font file (TrueType, OpenType, WOFF)", t.font);
  Options o{{"fontfile", t.font},
            {"text", t.strftime ? localtime_text(t.text) : t.text},
            {"expansion", t.strftime ? "normal" : "none"},
            {"fontsize", std::to_string(size)},
            {"fontcolor", t.color},
            {"box", t.box ? "1" : "0"},
            {"boxcolor", t.box_color},
            {"boxborderw", std::to_string(std::max(2, size / 5))},
            {"x", t.position.x_expr("w", "tw")},
            {"y", t.position.y_expr("h", "th")},
            {"alpha", fraction(t.opacity)}};
  auto text = make_filter(g, "drawtext", "wm_text", o);
  if (!text) return Status::errorf("text.font: {} cannot be used ({})", t.font, text.error());
  if (auto st = link(in, 0, *text, 0); !st) return st;
  return *text;
}

core::Result<AVFilterContext*> add_both(AVFilterGraph* g, AVFilterContext* in, int width, int height,
                                        const WatermarkSpec& spec, std::string& field) {
  AVFilterContext* head = in;
  if (spec.image) {
    auto r = add_image(g, head, width, *spec.image, field);
    if (!r) return r.status();
    head = *r;
  }
  if (spec.text) {
    auto r = add_text(g, head, height, *spec.text, field);
    if (!r) return r.status();
    head = *r;
  }
  return head;
}

}  // namespace

core::Result<AVFilterContext*> add_watermark(AVFilterGraph* graph, AVFilterContext* in, int width, int height,
                                             const WatermarkSpec& spec) {
  std::string field;
  return add_both(graph, in, width, height, spec, field);
}

core::Status check_watermark_files(const WatermarkSpec& spec, std::string& field) {
  // A trial run: the graph the pipeline would build, on one grey frame.
  struct GraphFree {
    void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
  };
  std::unique_ptr<AVFilterGraph, GraphFree> g(avfilter_graph_alloc());
  if (!g) return Status::error("out of memory (trial graph)");
  g->nb_threads = 1;
  constexpr int kW = 640, kH = 360;
  auto src = make_filter(g.get(), "buffer", "in",
                         {{"video_size", fmt::format("{}x{}", kW, kH)}, {"pix_fmt", "yuv420p"}, {"time_base", "1/1000"},
                          {"pixel_aspect", "1/1"}});
  if (!src) return src.status();
  std::string f;
  auto wm = add_both(g.get(), *src, kW, kH, spec, f);
  if (!wm) {
    field = f;
    return wm.status();
  }
  field = spec.image ? "image.file" : "text.font";
  auto sink = make_filter(g.get(), "buffersink", "out", {});
  if (!sink) return sink.status();
  if (auto st = link(*wm, 0, *sink, 0); !st) return st;
  if (int e = avfilter_graph_config(g.get(), nullptr); e < 0)
    return Status::errorf("{}: the watermark cannot be drawn ({})", field, protocol::av::av_error_text(e));
  auto frame = protocol::av::make_frame();
  if (!frame) return Status::error("out of memory (trial frame)");
  frame->width = kW;
  frame->height = kH;
  frame->format = AV_PIX_FMT_YUV420P;
  frame->pts = 0;
  if (av_frame_get_buffer(frame.get(), 0) < 0) return Status::error("out of memory (trial frame)");
  for (int p = 0; p < 3; ++p)
    std::memset(frame->data[p], 128, size_t(frame->linesize[p]) * (p == 0 ? kH : kH / 2));
  if (int e = av_buffersrc_add_frame(*src, frame.get()); e < 0)
    return Status::errorf("{}: the watermark cannot be drawn ({})", field, protocol::av::av_error_text(e));
  if (int end = av_buffersrc_add_frame(*src, nullptr); end < 0)  // end: the overlay gives what it holds
    return Status::errorf("{}: the watermark cannot be drawn ({})", field, protocol::av::av_error_text(end));
  int e = av_buffersink_get_frame(*sink, frame.get());
  if (e < 0) return Status::errorf("{}: the watermark draws no picture ({})", field, protocol::av::av_error_text(e));
  return Status::ok();
}

}  // namespace weir::transcode
