// Zipkin v2 JSON reader: a JSON array of spans (the /api/v2/spans body, or a
// /api/v2/trace/{id} answer), one array or one span object per line, or a
// whole (pretty-printed) array; an array of arrays (the /api/v2/traces
// answer) is accepted too.
//
//   {"traceId","id","parentId","name","kind":"SERVER|CLIENT|PRODUCER|CONSUMER",
//    "timestamp":<us>,"duration":<us>,
//    "localEndpoint":{"serviceName","ipv4","ipv6","port"},
//    "remoteEndpoint":{"serviceName","ipv4","ipv6","port"},
//    "tags":{"http.method":"GET","http.path":"/x","http.status_code":"500","error":"msg"}}
//
// Mapping: service = localEndpoint.serviceName; host = localEndpoint ipv4
// (else ipv6); peer = remoteEndpoint serviceName (else ipv4/ipv6, else from
// tags); tags -> attributes; HTTP fields from tags (semantic conventions,
// which include http.path); an "error" tag makes the status ERROR (its value,
// unless empty or "true", is the status message); otel.status_code tags are
// honoured. A missing duration gives a zero-length span. Spans without
// traceId/id/timestamp, with a negative duration, and Zipkin v1 spans
// (binaryAnnotations) are counted skips.
#ifndef TRIAD_INGEST_ZIPKIN_JSON_H_
#define TRIAD_INGEST_ZIPKIN_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/ingest_limits.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Parses one Zipkin v2 JSON document (array of spans, or one span object).
// Malformed spans are skipped and counted in *stats (`stats` may be null).
// `limits` as for ParseOtlpJson (ingest/otlp_json.h): long strings truncated,
// extra tags dropped (counted); too large or too deep: InvalidArgument.
// Returns non-OK iff the text is not valid JSON or not an array/object, or
// is over a limit.
Status ParseZipkinJson(std::string_view json, TelemetrySink& sink, ReadStats* stats,
                       std::string_view source = "<memory>", uint64_t line = 0,
                       const IngestLimits& limits = IngestLimits());

// Reads `path` (plain, gzip or "-"): one document per line, or one whole
// (pretty-printed) document. Returns non-OK iff the file cannot be read or
// holds no valid document.
Status ReadZipkinJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_ZIPKIN_JSON_H_
