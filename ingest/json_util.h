// Helpers shared by the JSON telemetry readers (OTLP/JSON, Jaeger, Zipkin):
// lenient field access, 64-bit integers given as strings or numbers, id
// normalisation, value-to-text conversion, HTTP semantic conventions and the
// "one document per line, or one whole document" file layout.
#ifndef TRIAD_INGEST_JSON_UTIL_H_
#define TRIAD_INGEST_JSON_UTIL_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Parses `text` as one JSON value. Returns true iff it is valid JSON; otherwise
// sets *error (if non-null) and *truncated (if non-null) to whether the input
// ended before the value was complete (e.g. the first line of a pretty-printed
// document).
bool ParseJsonText(std::string_view text, nlohmann::json* out, std::string* error,
                   bool* truncated = nullptr);

// Returns obj[camel], else obj[snake] (if snake is non-empty), else nullptr.
// Returns nullptr if `obj` is not an object. A JSON null counts as absent.
const nlohmann::json* JsonField(const nlohmann::json& obj, std::string_view camel,
                                std::string_view snake = {});

// Returns true iff `v` is an integral number or a string holding a decimal
// integer (optionally signed) that fits int64; sets *out. A float number is
// accepted iff it is finite, integral and in range.
bool JsonToInt64(const nlohmann::json& v, int64_t* out);
// Like JsonToInt64 but for unsigned values (negative values fail).
bool JsonToUint64(const nlohmann::json& v, uint64_t* out);
// Returns true iff `v` is a number or a string holding a number, "NaN",
// "Infinity" or "-Infinity" (proto3 JSON mapping); sets *out (may be non-finite).
bool JsonToDouble(const nlohmann::json& v, double* out);

// Text of a JSON scalar: strings as-is, numbers in decimal (shortest exact form),
// booleans "true"/"false", null "". Arrays and objects become compact JSON
// (nesting deeper than 32 levels is cut to "…").
std::string JsonValueToText(const nlohmann::json& v);

// Shortest decimal text that reads back as exactly `v` ("NaN", "Inf", "-Inf").
std::string FormatDouble(double v);

// Normalises a trace/span id: hex is lowercased; standard/url-safe base64 with
// padding that decodes to exactly 16 or 8 bytes (as some OTLP exporters emit)
// becomes lowercase hex; anything else is returned unchanged (a
// source-specific id). Leading/trailing whitespace is removed.
std::string NormalizeTraceId(std::string_view id);

// Returns true iff `id` is non-empty and consists of '0' only.
bool IsAllZeroId(std::string_view id);

// Fills span->http_method, http_url, http_status_code and peer (when they are
// still empty/0) from the span's attributes, using the OpenTelemetry semantic
// conventions, old and new:
//   method: http.request.method, http.method
//   url:    url.full, http.url, http.target, url.path, http.path, http.route
//   status: http.response.status_code, http.status_code
//   peer:   peer.service, server.address (not on server spans), net.peer.name,
//           network.peer.address, net.peer.ip
// and host (when empty) from a host.name attribute.
void FillSpanFromSemanticConventions(Span* span);

// Receives one JSON document (its text) of a file; `line` is the 1-based line
// it starts on. Returns non-OK iff the document is not valid JSON / of the
// wrong shape; records inside it go to the sink or to `stats` themselves.
using JsonDocumentParser =
    std::function<Status(std::string_view doc, std::string_view source, uint64_t line)>;

// Streams `path` (plain, gzip, or "-" for stdin) as JSON documents: one per
// non-blank line; or, if the first non-blank line is an incomplete JSON value
// (a pretty-printed file), the whole input as ONE document (at most 1 GiB).
// A document for which `parse` fails is a counted skip; stats->lines counts the
// input lines seen. Returns non-OK iff the file cannot be opened/read, or it
// holds at least one document and none of them could be parsed.
Status ForEachJsonDocument(const std::string& path, ReadStats* stats,
                           const JsonDocumentParser& parse);
// The same over an open reader.
Status ForEachJsonDocument(LineReader& r, ReadStats* stats, const JsonDocumentParser& parse);

// Largest JSON line ForEachJsonDocument(path) accepts.
constexpr size_t kMaxJsonLine = 256u << 20;

}  // namespace triad

#endif  // TRIAD_INGEST_JSON_UTIL_H_
