#include "av_test_support.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace weir::test {

using protocol::av::CodecContextPtr;
using protocol::av::CodecParametersPtr;
using protocol::av::FramePtr;
using protocol::av::PacketPtr;

namespace {

// FFmpeg's encoders report statistics at info level; keep the test log to
// what went wrong.
const int kQuietFfmpeg = [] {
  av_log_set_level(AV_LOG_ERROR);
  return 0;
}();

void drain(AVCodecContext* ctx, std::vector<PacketPtr>& out) {
  for (;;) {
    PacketPtr p = protocol::av::make_packet();
    int rc = avcodec_receive_packet(ctx, p.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    REQUIRE(rc == 0);
    out.push_back(std::move(p));
  }
}

void set_options(AVCodecContext* ctx, const std::vector<std::pair<std::string, std::string>>& options) {
  for (const auto& [k, v] : options) {
    INFO("encoder option " << k << "=" << v);
    REQUIRE(av_opt_set(ctx->priv_data, k.c_str(), v.c_str(), 0) == 0);
  }
}

void put_sample(AVFrame* f, int ch, int i, double v) {
  auto fmt = AVSampleFormat(f->format);
  bool planar = av_sample_fmt_is_planar(fmt);
  int channels = f->ch_layout.nb_channels;
  int idx = planar ? i : i * channels + ch;
  uint8_t* base = f->extended_data[planar ? ch : 0];
  switch (av_get_packed_sample_fmt(fmt)) {
    case AV_SAMPLE_FMT_FLT: reinterpret_cast<float*>(base)[idx] = float(v); break;
    case AV_SAMPLE_FMT_S16: reinterpret_cast<int16_t*>(base)[idx] = int16_t(v * 32000); break;
    case AV_SAMPLE_FMT_S32: reinterpret_cast<int32_t*>(base)[idx] = int32_t(v * 2.0e9); break;
    case AV_SAMPLE_FMT_DBL: reinterpret_cast<double*>(base)[idx] = v; break;
    default: FAIL("sample format " << av_get_sample_fmt_name(fmt));
  }
}

struct MemoryFile {
  const std::vector<uint8_t>* bytes;
  int64_t pos = 0;
};

int read_memory(void* opaque, uint8_t* buf, int size) {
  auto* m = static_cast<MemoryFile*>(opaque);
  int64_t left = int64_t(m->bytes->size()) - m->pos;
  if (left <= 0) return AVERROR_EOF;
  int n = int(std::min<int64_t>(left, size));
  std::memcpy(buf, m->bytes->data() + m->pos, size_t(n));
  m->pos += n;
  return n;
}

int64_t seek_memory(void* opaque, int64_t offset, int whence) {
  auto* m = static_cast<MemoryFile*>(opaque);
  int64_t size = int64_t(m->bytes->size());
  if (whence == AVSEEK_SIZE) return size;
  int64_t base = (whence & ~AVSEEK_FORCE) == SEEK_CUR ? m->pos : (whence & ~AVSEEK_FORCE) == SEEK_END ? size : 0;
  if (base + offset < 0 || base + offset > size) return AVERROR(EINVAL);
  m->pos = base + offset;
  return m->pos;
}

}  // namespace

Encoded encode_video(const char* name, const VideoOptions& o) {
  INFO("encoder " << name);
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  REQUIRE(codec);
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  ctx->width = o.width;
  ctx->height = o.height;
  ctx->time_base = AVRational{1, 30};
  ctx->framerate = AVRational{30, 1};
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->gop_size = 12;
  ctx->thread_count = 1;
  if (o.global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (o.max_b_frames >= 0) ctx->max_b_frames = o.max_b_frames;
  set_options(ctx.get(), o.options);
  REQUIRE(avcodec_open2(ctx.get(), codec, nullptr) == 0);
  Encoded out;
  FramePtr f = protocol::av::make_frame();
  f->format = ctx->pix_fmt;
  f->width = o.width;
  f->height = o.height;
  REQUIRE(av_frame_get_buffer(f.get(), 0) == 0);
  for (int i = 0; i < o.frames; ++i) {
    REQUIRE(av_frame_make_writable(f.get()) == 0);
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) f->data[0][y * f->linesize[0] + x] = uint8_t(x * 2 + y + i * 5);
    }
    for (int p = 1; p < 3; ++p) {
      for (int y = 0; y < o.height / 2; ++y) {
        for (int x = 0; x < o.width / 2; ++x) f->data[p][y * f->linesize[p] + x] = uint8_t(128 + p * x - i);
      }
    }
    f->pts = i;
    f->pict_type = AV_PICTURE_TYPE_NONE;
    REQUIRE(avcodec_send_frame(ctx.get(), f.get()) == 0);
    drain(ctx.get(), out.packets);
  }
  REQUIRE(avcodec_send_frame(ctx.get(), nullptr) == 0);
  drain(ctx.get(), out.packets);
  out.frames_in = o.frames;
  out.time_base = ctx->time_base;
  out.par = protocol::av::make_codec_parameters();
  REQUIRE(avcodec_parameters_from_context(out.par.get(), ctx.get()) >= 0);
  return out;
}

FramePtr sine_frame(AVSampleFormat format, int sample_rate, int channels, int64_t first_sample, int samples,
                    double freq, int64_t pts) {
  FramePtr f = protocol::av::make_frame();
  REQUIRE(f);
  f->format = format;
  f->nb_samples = samples;
  f->sample_rate = sample_rate;
  av_channel_layout_default(&f->ch_layout, channels);
  REQUIRE(av_frame_get_buffer(f.get(), 0) == 0);
  for (int i = 0; i < samples; ++i) {
    double t = double(first_sample + i) / sample_rate;
    for (int ch = 0; ch < channels; ++ch) put_sample(f.get(), ch, i, 0.5 * std::sin(2 * M_PI * (freq + 110 * ch) * t));
  }
  f->pts = pts;
  return f;
}

Encoded encode_audio(const char* name, const AudioOptions& o) {
  INFO("encoder " << name);
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  REQUIRE(codec);
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  ctx->sample_rate = o.sample_rate;
  av_channel_layout_default(&ctx->ch_layout, o.channels);
  ctx->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  ctx->time_base = AVRational{1, o.sample_rate};
  ctx->bit_rate = 64000;
  ctx->thread_count = 1;
  ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  REQUIRE(avcodec_open2(ctx.get(), codec, nullptr) == 0);
  int frame_size = ctx->frame_size > 0 ? ctx->frame_size : 1024;
  Encoded out;
  FramePtr f = protocol::av::make_frame();
  for (int k = 0; k < o.frames; ++k) {
    av_frame_unref(f.get());
    f->format = ctx->sample_fmt;
    f->nb_samples = frame_size;
    f->sample_rate = o.sample_rate;
    REQUIRE(av_channel_layout_copy(&f->ch_layout, &ctx->ch_layout) == 0);
    REQUIRE(av_frame_get_buffer(f.get(), 0) == 0);
    for (int i = 0; i < frame_size; ++i) {
      double t = double(k * frame_size + i) / o.sample_rate;
      for (int ch = 0; ch < o.channels; ++ch) put_sample(f.get(), ch, i, 0.5 * std::sin(2 * M_PI * (440 + 110 * ch) * t));
    }
    f->pts = int64_t(k) * frame_size;
    REQUIRE(avcodec_send_frame(ctx.get(), f.get()) == 0);
    drain(ctx.get(), out.packets);
  }
  REQUIRE(avcodec_send_frame(ctx.get(), nullptr) == 0);
  drain(ctx.get(), out.packets);
  out.samples_in = o.frames * frame_size;
  out.time_base = ctx->time_base;
  out.par = protocol::av::make_codec_parameters();
  REQUIRE(avcodec_parameters_from_context(out.par.get(), ctx.get()) >= 0);
  return out;
}

std::vector<DecodedFrame> decode(const AVCodecParameters* par, AVRational time_base,
                                 const std::vector<PacketPtr>& packets) {
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  REQUIRE(codec);
  INFO("decoder " << codec->name);
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  REQUIRE(avcodec_parameters_to_context(ctx.get(), par) >= 0);
  ctx->pkt_timebase = time_base;
  ctx->thread_count = 1;
  REQUIRE(avcodec_open2(ctx.get(), codec, nullptr) == 0);
  std::vector<DecodedFrame> frames;
  FramePtr f = protocol::av::make_frame();
  auto receive = [&] {
    for (;;) {
      int rc = avcodec_receive_frame(ctx.get(), f.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      INFO("receive_frame: " << protocol::av::av_error_text(rc));
      REQUIRE(rc == 0);
      DecodedFrame d;
      int64_t ts = f->best_effort_timestamp;
      d.pts_ms = ts == AV_NOPTS_VALUE ? -1e9 : double(ts) * 1000.0 * time_base.num / time_base.den;
      d.width = f->width;
      d.height = f->height;
      d.samples = f->nb_samples;
      frames.push_back(d);
      av_frame_unref(f.get());
    }
  };
  for (const PacketPtr& p : packets) {
    int rc = avcodec_send_packet(ctx.get(), p.get());
    INFO("send_packet: " << protocol::av::av_error_text(rc));
    REQUIRE(rc == 0);
    receive();
  }
  REQUIRE(avcodec_send_packet(ctx.get(), nullptr) == 0);
  receive();
  return frames;
}

std::vector<uint8_t> mux_mp4(const std::vector<const Stream*>& streams) {
  AVFormatContext* oc = nullptr;
  REQUIRE(avformat_alloc_output_context2(&oc, nullptr, "mp4", nullptr) >= 0);
  oc->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
  for (const Stream* s : streams) {
    AVStream* st = avformat_new_stream(oc, nullptr);
    REQUIRE(st);
    REQUIRE(avcodec_parameters_copy(st->codecpar, s->par.get()) >= 0);
    st->codecpar->codec_tag = 0;
    st->time_base = s->time_base;
  }
  REQUIRE(avio_open_dyn_buf(&oc->pb) == 0);
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
  int rc = avformat_write_header(oc, &opts);
  av_dict_free(&opts);
  INFO("write_header: " << protocol::av::av_error_text(rc));
  REQUIRE(rc >= 0);
  // Interleave by dts.
  struct Item {
    double t;
    size_t stream;
    const AVPacket* pkt;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < streams.size(); ++i) {
    for (const PacketPtr& p : streams[i]->packets) {
      items.push_back({double(p->dts) * streams[i]->time_base.num / streams[i]->time_base.den, i, p.get()});
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.t < b.t; });
  for (const Item& it : items) {
    PacketPtr p(av_packet_clone(it.pkt));
    REQUIRE(p);
    p->stream_index = int(it.stream);
    av_packet_rescale_ts(p.get(), streams[it.stream]->time_base, oc->streams[it.stream]->time_base);
    rc = av_interleaved_write_frame(oc, p.get());
    INFO("write_frame: " << protocol::av::av_error_text(rc));
    REQUIRE(rc == 0);
  }
  REQUIRE(av_write_trailer(oc) >= 0);
  uint8_t* buf = nullptr;
  int size = avio_close_dyn_buf(oc->pb, &buf);
  oc->pb = nullptr;
  std::vector<uint8_t> out(buf, buf + size);
  av_free(buf);
  avformat_free_context(oc);
  return out;
}

std::vector<Stream> demux_mp4(const std::vector<uint8_t>& file) {
  MemoryFile mem{&file};
  constexpr int kIoSize = 4096;
  auto* io_buf = static_cast<uint8_t*>(av_malloc(kIoSize));
  AVIOContext* io = avio_alloc_context(io_buf, kIoSize, 0, &mem, read_memory, nullptr, seek_memory);
  REQUIRE(io);
  AVFormatContext* ic = avformat_alloc_context();
  ic->pb = io;
  int rc = avformat_open_input(&ic, nullptr, av_find_input_format("mp4"), nullptr);
  INFO("open_input: " << protocol::av::av_error_text(rc));
  REQUIRE(rc == 0);
  std::vector<Stream> out(ic->nb_streams);
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    out[i].par = clone(ic->streams[i]->codecpar);
    out[i].time_base = ic->streams[i]->time_base;
  }
  for (;;) {
    PacketPtr p = protocol::av::make_packet();
    if (av_read_frame(ic, p.get()) < 0) break;
    out[size_t(p->stream_index)].packets.push_back(std::move(p));
  }
  avformat_close_input(&ic);
  av_freep(&io->buffer);
  avio_context_free(&io);
  return out;
}

std::vector<core::MediaPacket> to_media(const AVCodecParameters& par, AVRational time_base,
                                        const std::vector<PacketPtr>& packets, protocol::av::AvToMedia::Stats* stats) {
  auto conv = protocol::av::AvToMedia::create(par, time_base);
  INFO((conv.is_ok() ? std::string() : conv.error()));
  REQUIRE(conv);
  std::vector<core::MediaPacket> out;
  for (const PacketPtr& p : packets) {
    core::Status s = conv->convert(*p, out);
    INFO(s.message());
    REQUIRE(s);
  }
  if (stats) *stats = conv->stats();
  return out;
}

std::vector<uint8_t> bytes(core::ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

std::vector<PacketPtr> clone_all(const std::vector<PacketPtr>& packets) {
  std::vector<PacketPtr> out;
  for (const PacketPtr& p : packets) out.emplace_back(av_packet_clone(p.get()));
  return out;
}

CodecParametersPtr clone(const AVCodecParameters* par) {
  CodecParametersPtr p = protocol::av::make_codec_parameters();
  REQUIRE(avcodec_parameters_copy(p.get(), par) >= 0);
  return p;
}

}  // namespace weir::test
