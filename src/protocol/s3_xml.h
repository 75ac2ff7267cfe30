// The few fields Weir reads from S3 XML answers (CreateMultipartUpload,
// CompleteMultipartUpload, error bodies), found by element name without a
// full XML parser: S3 answers are flat, machine-written documents.
//
// s3_xml_text(doc, name) returns the text of the first element <name> (or
// <prefix:name>, any attributes) that holds plain text, with the five
// predefined entities and numeric character references (&#NN; &#xNN;, ASCII
// only) decoded; nullopt when there is no such element, it is not closed, its
// text holds markup (a nested element, CDATA) or is longer than `max_len`
// bytes after decoding. Every index is checked against the input: garbage and
// truncated documents give nullopt, never a read past the end. Cost is linear
// in the document for each call.
//
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace weir::protocol {

inline constexpr size_t kS3XmlMaxText = 4096;

std::optional<std::string> s3_xml_text(std::string_view doc, std::string_view name, size_t max_len = kS3XmlMaxText);

// An S3 error body (<Error><Code>..</Code><Message>..</Message></Error>).
struct S3XmlError {
  std::string code;     // empty if the body held none
  std::string message;  // empty if the body held none
};
S3XmlError s3_xml_error(std::string_view doc);

// "s3 error body" text for logs: "Code: Message", "Code", the first 200
// printable bytes of a body that is not an S3 error, or "" for an empty body.
std::string s3_error_summary(std::string_view body);

}  // namespace weir::protocol
