// Still pictures from decoded frames: a JPEG or PNG of one AVFrame, scaled to
// a width cap with the display aspect ratio kept. Used by the recorder's cover
// images (record/cover.h) and the live snapshots (transcode/snapshot_*.h).
//
// Only libavcodec and libswscale are used. Thread: any; blocking (CPU), so a
// worker thread, never an event loop. Independent calls may run at once (each
// uses its own FFmpeg contexts).
#pragma once

extern "C" {
#include <libavutil/frame.h>
}

#include <string>
#include <string_view>

#include "core/status.h"
#include "protocol/av/av_ptr.h"

namespace weir::protocol::av {

enum class PictureFormat : uint8_t { kJpeg, kPng };
std::string_view picture_content_type(PictureFormat f);  // "image/jpeg", "image/png"
std::string_view picture_extension(PictureFormat f);     // "jpg", "png"

// Largest width or height a picture may have on either side of the scaler.
inline constexpr int kMaxPictureDimension = 16384;

// The output size for a `src_w` x `src_h` frame with sample aspect ratio
// `sar` (0/x or x/0: square pixels): the display width (SAR applied), at most
// `max_width` (never upscaled), the height by the display aspect ratio; both
// rounded to even and at least 2.
void picture_size(int src_w, int src_h, AVRational sar, int max_width, int& w, int& h);

// Scales `src` (any pixel format swscale reads) to picture_size(...,
// max_width) and encodes it: JPEG baseline 4:2:0 full range (quantiser 3:
// sharp, a few tens of KB at 720p) or PNG RGB24. `what` prefixes every error
// message (a file name, a stream key). Errors: max_width < 2, a size outside
// 1..kMaxPictureDimension, a pixel format swscale cannot read, no encoder in
// this FFmpeg, encoding failed.
core::Result<PacketPtr> encode_picture(const AVFrame& src, PictureFormat format, int max_width,
                                       std::string_view what);

}  // namespace weir::protocol::av
