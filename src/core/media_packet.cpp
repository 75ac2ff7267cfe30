#include "core/media_packet.h"

namespace weir::core {

std::string_view codec_name(Codec c) {
  switch (c) {
    case Codec::kH264: return "h264";
    case Codec::kHEVC: return "hevc";
    case Codec::kAV1: return "av1";
    case Codec::kVP9: return "vp9";
    case Codec::kAAC: return "aac";
    case Codec::kMP3: return "mp3";
    case Codec::kOpus: return "opus";
    case Codec::kFLAC: return "flac";
    case Codec::kAC3: return "ac3";
    case Codec::kEAC3: return "eac3";
    case Codec::kPCM: return "pcm";
    case Codec::kAmf: return "amf";
    case Codec::kUnknown: break;
  }
  return "unknown";
}

}  // namespace weir::core
