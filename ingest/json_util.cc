#include "ingest/json_util.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "ingest/line_reader.h"

namespace triad {

using nlohmann::json;

namespace {

constexpr int kMaxTextDepth = 32;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

void AppendJson(const json& v, int depth, std::string* out) {
  switch (v.type()) {
    case json::value_t::array: {
      if (depth >= kMaxTextDepth) {
        out->append("\"\xE2\x80\xA6\"");
        return;
      }
      out->push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(e, depth + 1, out);
      }
      out->push_back(']');
      return;
    }
    case json::value_t::object: {
      if (depth >= kMaxTextDepth) {
        out->append("\"\xE2\x80\xA6\"");
        return;
      }
      out->push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out->push_back(',');
        first = false;
        out->append(json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace));
        out->push_back(':');
        AppendJson(it.value(), depth + 1, out);
      }
      out->push_back('}');
      return;
    }
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (std::isfinite(d))
        out->append(FormatDouble(d));
      else
        out->append("null");
      return;
    }
    default:
      out->append(v.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int B64Val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes padded base64; returns false on any invalid character.
bool DecodeBase64(std::string_view s, std::string* out) {
  if (s.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.size() - pad; ++i) {
    int v = B64Val(s[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

const std::string* Attr(const Span& s, std::string_view key) {
  const std::string* v = FindAttribute(s.attributes, key);
  return (v != nullptr && !v->empty()) ? v : nullptr;
}

}  // namespace

bool ParseJsonText(std::string_view text, json* out, std::string* error, bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  try {
    *out = json::parse(text.begin(), text.end());
    return true;
  } catch (const json::parse_error& e) {
    if (error != nullptr) *error = e.what();
    if (truncated != nullptr) {
      std::string_view t = Trim(text);
      // The parser reports the byte after the last one when input ends early.
      *truncated = !t.empty() && e.byte >= t.size() + (t.data() - text.data());
    }
  } catch (const json::exception& e) {
    if (error != nullptr) *error = e.what();
  }
  return false;
}

const json* JsonField(const json& obj, std::string_view camel, std::string_view snake) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(camel);
  if (it != obj.end() && !it->is_null()) return &*it;
  if (!snake.empty()) {
    it = obj.find(snake);
    if (it != obj.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

namespace {
// Returns true iff `text` (surrounding spaces and one leading '+' allowed) is
// an integer that fits T; sets *out.
template <typename T>
bool IntegerFromText(std::string_view text, T* out) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
}  // namespace

bool JsonToInt64(const json& v, int64_t* out) {
  switch (v.type()) {
    case json::value_t::number_integer:
      *out = v.get<int64_t>();
      return true;
    case json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      *out = static_cast<int64_t>(u);
      return true;
    }
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    case json::value_t::string:
      return IntegerFromText(v.get_ref<const std::string&>(), out);
    default:
      return false;
  }
}

bool JsonToUint64(const json& v, uint64_t* out) {
  switch (v.type()) {
    case json::value_t::number_unsigned:
      *out = v.get<uint64_t>();
      return true;
    case json::value_t::number_integer: {
      int64_t i = v.get<int64_t>();
      if (i < 0) return false;
      *out = static_cast<uint64_t>(i);
      return true;
    }
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > 1.8e19) return false;
      *out = static_cast<uint64_t>(d);
      return true;
    }
    case json::value_t::string:
      return IntegerFromText(v.get_ref<const std::string&>(), out);
    default:
      return false;
  }
}

bool JsonToDouble(const json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (!v.is_string()) return false;
  std::string_view s = Trim(v.get_ref<const std::string&>());
  if (s == "NaN" || s == "nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s == "Infinity" || s == "+Infinity" || s == "Inf" || s == "+Inf" || s == "inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-Infinity" || s == "-Inf" || s == "-inf") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string JsonValueToText(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "";
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float:
      return FormatDouble(v.get<double>());
    default: {
      std::string out;
      AppendJson(v, 0, &out);
      return out;
    }
  }
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string NormalizeTraceId(std::string_view id) {
  id = Trim(id);
  if (id.empty()) return std::string();
  bool hex = true;
  for (char c : id)
    if (HexVal(c) < 0) {
      hex = false;
      break;
    }
  std::string out;
  if (hex) {
    out.reserve(id.size());
    for (char c : id) out.push_back((c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c);
    return out;
  }
  bool b64_shape = (id.size() == 24 && id.substr(22) == "==" && id[21] != '=') ||
                   (id.size() == 12 && id[11] == '=' && id[10] != '=');
  std::string bytes;
  if (b64_shape && DecodeBase64(id, &bytes) && (bytes.size() == 16 || bytes.size() == 8)) {
    static const char kHex[] = "0123456789abcdef";
    for (unsigned char b : bytes) {
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
    return out;
  }
  return std::string(id);
}

bool IsAllZeroId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id)
    if (c != '0') return false;
  return true;
}

void FillSpanFromSemanticConventions(Span* span) {
  if (span->http_method.empty()) {
    for (const char* k : {"http.request.method", "http.method"})
      if (const std::string* v = Attr(*span, k)) {
        span->http_method = *v;
        break;
      }
  }
  if (span->http_url.empty()) {
    for (const char* k : {"url.full", "http.url", "http.target", "url.path", "http.path",
                          "http.route"})
      if (const std::string* v = Attr(*span, k)) {
        span->http_url = *v;
        break;
      }
  }
  if (span->http_status_code == 0) {
    for (const char* k : {"http.response.status_code", "http.status_code"})
      if (const std::string* v = Attr(*span, k)) {
        int code = 0;
        std::string_view s = Trim(*v);
        auto r = std::from_chars(s.data(), s.data() + s.size(), code);
        if (r.ec == std::errc() && r.ptr == s.data() + s.size() && code > 0 && code < 1000) {
          span->http_status_code = code;
          break;
        }
      }
  }
  if (span->peer.empty()) {
    for (const char* k : {"peer.service", "server.address", "net.peer.name",
                          "network.peer.address", "net.peer.ip"}) {
      if (span->kind == SpanKind::kServer && std::string_view(k) == "server.address") continue;
      if (const std::string* v = Attr(*span, k)) {
        span->peer = *v;
        break;
      }
    }
  }
  if (span->host.empty()) {
    if (const std::string* v = Attr(*span, "host.name")) span->host = *v;
  }
}

Status ForEachJsonDocument(const std::string& path, ReadStats* stats,
                           const JsonDocumentParser& parse) {
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r, kMaxJsonLine));
  return ForEachJsonDocument(*r, stats, parse);
}

Status ForEachJsonDocument(LineReader& reader, ReadStats* stats, const JsonDocumentParser& parse) {
  ReadStats local;
  if (stats == nullptr) stats = &local;
  LineReader* r = &reader;
  const std::string source = r->name();
  uint64_t docs = 0, good = 0;
  std::string first_error;
  std::string_view line;
  while (r->Next(&line)) {
    ++stats->lines;
    if (Trim(line).empty()) continue;
    ++docs;
    const uint64_t line_no = r->line_number();
    Status st = parse(line, source, line_no);
    if (st.ok()) {
      ++good;
      continue;
    }
    if (docs == 1) {
      // A pretty-printed document: its first line is an incomplete value.
      json tmp;
      bool truncated = false;
      if (!ParseJsonText(line, &tmp, nullptr, &truncated) && truncated) {
        std::string all(line);
        all.push_back('\n');
        std::string rest;
        TRIAD_RETURN_IF_ERROR(r->ReadAll(&rest));
        for (char c : rest)
          if (c == '\n') ++stats->lines;
        if (!rest.empty() && rest.back() != '\n') ++stats->lines;
        all += rest;
        Status whole = parse(all, source, line_no);
        if (!whole.ok()) {
          stats->Skip(source, line_no, whole.message());
          return Status::Corruption(source + ": not a valid JSON document: " + whole.message());
        }
        return Status::OK();
      }
    }
    if (first_error.empty()) first_error = st.message();
    stats->Skip(source, line_no, st.message());
  }
  if (!r->status().ok()) return r->status();
  if (r->oversized() > 0) {
    stats->Skip(source, r->line_number(),
                std::to_string(r->oversized()) + " over-long line(s) skipped");
    stats->skipped += r->oversized() - 1;
  }
  if (docs > 0 && good == 0)
    return Status::Corruption(source + ": no valid JSON document: " + first_error);
  return Status::OK();
}

}  // namespace triad
