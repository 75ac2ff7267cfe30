#include "protocol/s3_xml.h"

namespace weir::protocol {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}

// Decodes `raw` (element text, no '<') into `out`; false on a bad entity or
// when the result passes max_len.
bool decode_text(std::string_view raw, size_t max_len, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size();) {
    char c = raw[i];
    if (c != '&') {
      out += c;
      ++i;
    } else {
      size_t semi = raw.find(';', i + 1);
      if (semi == std::string_view::npos || semi - i > 10) return false;
      std::string_view ent = raw.substr(i + 1, semi - i - 1);
      if (ent == "amp") out += '&';
      else if (ent == "lt") out += '<';
      else if (ent == "gt") out += '>';
      else if (ent == "quot") out += '"';
      else if (ent == "apos") out += '\'';
      else if (ent.size() >= 2 && ent[0] == '#') {
        unsigned v = 0;
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        size_t k = hex ? 2 : 1;
        if (k >= ent.size()) return false;
        for (; k < ent.size(); ++k) {
          char d = ent[k];
          unsigned digit;
          if (d >= '0' && d <= '9') digit = unsigned(d - '0');
          else if (hex && d >= 'a' && d <= 'f') digit = unsigned(d - 'a' + 10);
          else if (hex && d >= 'A' && d <= 'F') digit = unsigned(d - 'A' + 10);
          else return false;
          v = v * (hex ? 16 : 10) + digit;
          if (v > 0x7f) return false;  // ASCII only: S3's ids and codes are ASCII
        }
        if (v == 0) return false;
        out += char(v);
      } else {
        return false;
      }
      i = semi + 1;
    }
    if (out.size() > max_len) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> s3_xml_text(std::string_view doc, std::string_view name, size_t max_len) {
  if (name.empty()) return std::nullopt;
  size_t pos = 0;
  while (pos < doc.size()) {
    size_t lt = doc.find('<', pos);
    if (lt == std::string_view::npos) return std::nullopt;
    size_t n0 = lt + 1;
    size_t n1 = n0;
    while (n1 < doc.size() && is_name_char(doc[n1])) ++n1;
    if (n1 >= doc.size()) return std::nullopt;  // truncated inside a tag name
    std::string_view tag = doc.substr(n0, n1 - n0);
    size_t colon = tag.rfind(':');
    std::string_view local = colon == std::string_view::npos ? tag : tag.substr(colon + 1);
    size_t gt = doc.find('>', n1);
    if (gt == std::string_view::npos) return std::nullopt;
    const bool self_closing = gt > n1 && doc[gt - 1] == '/';
    // Only a start tag named `name` (its name ends at whitespace, '>' or '/').
    const char after = doc[n1];
    if (local == name && !self_closing && (after == '>' || after == ' ' || after == '\t' || after == '\r' ||
                                           after == '\n')) {
      size_t text0 = gt + 1;
      size_t end = doc.find('<', text0);
      if (end == std::string_view::npos) return std::nullopt;  // not closed
      // The text must be followed by this element's end tag.
      std::string_view rest = doc.substr(end);
      if (rest.size() < tag.size() + 3 || rest[1] != '/' || rest.substr(2, tag.size()) != tag) {
        pos = gt + 1;  // holds markup: look for a later element of that name
        continue;
      }
      size_t close = 2 + tag.size();
      while (close < rest.size() && (rest[close] == ' ' || rest[close] == '\t' || rest[close] == '\r' ||
                                     rest[close] == '\n'))
        ++close;
      if (close >= rest.size() || rest[close] != '>') return std::nullopt;
      std::string out;
      if (!decode_text(doc.substr(text0, end - text0), max_len, out)) return std::nullopt;
      return out;
    }
    pos = gt + 1;
  }
  return std::nullopt;
}

S3XmlError s3_xml_error(std::string_view doc) {
  S3XmlError e;
  if (auto c = s3_xml_text(doc, "Code", 256)) e.code = std::move(*c);
  if (auto m = s3_xml_text(doc, "Message", 1024)) e.message = std::move(*m);
  return e;
}

std::string s3_error_summary(std::string_view body) {
  S3XmlError e = s3_xml_error(body);
  if (!e.code.empty()) return e.message.empty() ? e.code : e.code + ": " + e.message;
  std::string out;
  for (char c : body.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace weir::protocol
