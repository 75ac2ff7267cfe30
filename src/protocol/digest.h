// Hex and message digests (OpenSSL) shared by Weir's signers: S3 SigV4
// (s3_sigv4), signed URLs (url_signing) and event signatures
// (client/event_sender). Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace weir::protocol {

std::string to_hex(std::string_view bytes);  // lower case
std::string hmac_sha256(std::string_view key, std::string_view msg);  // the 32 raw bytes
std::string hmac_sha256_hex(std::string_view key, std::string_view msg);
std::string sha256_hex(std::string_view data);
std::string md5_hex(std::string_view data);

}  // namespace weir::protocol
