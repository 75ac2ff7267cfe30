// The picture a mix draws under its inputs: its colour, and over it an image
// scaled to fit the canvas with its aspect kept and centred (the colour shows
// in the bars around it and through its transparent parts). Made by one
// libavfilter graph (color, movie, scale, overlay); no pixel code here.
//
// Blocking: the image is read from disk (image_source.h). Made on the mix's
// strand when the background changes, and once on the transcode pool by the
// API before it accepts an image (a trial, so a file that is not a usable
// image is a 400 naming background.image, not a failing job).
//
// Thread: any thread that is not an event loop.
#pragma once

extern "C" {
#include <libavutil/frame.h>
}

#include <cstdint>
#include <string>

#include "core/status.h"
#include "protocol/av/av_ptr.h"

namespace weir::transcode {

// A yuv420p picture of `width` x `height` (even); `image` empty = the colour
// alone. Errors start with "background.image: " when the image is at fault.
core::Result<protocol::av::FramePtr> make_mix_background(int width, int height, uint32_t rgb, const std::string& image);

}  // namespace weir::transcode
