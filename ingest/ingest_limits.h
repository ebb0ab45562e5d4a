// IngestLimits: guards against hostile or runaway telemetry, shared by the
// request decoders (OTLP/protobuf, OTLP/JSON, Zipkin JSON) and `triad serve`.
//
// Semantics follow the OpenTelemetry SDK attribute limits:
//  * a string longer than max_string_bytes (attribute keys and values, log
//    bodies, span/operation/metric/service names, ids, status messages) is
//    TRUNCATED to at most that many bytes (never inside a UTF-8 sequence) and
//    counted in ReadStats::truncated, once per value of an emitted record;
//  * attributes beyond the first max_attributes of one record/data point are
//    DROPPED and counted in ReadStats::dropped_attributes;
//  * a request larger than max_bytes, or nesting deeper than max_depth
//    (protobuf messages, or JSON arrays/objects), is REJECTED whole (the
//    decoder returns InvalidArgument naming the limit; nothing is emitted);
//  * more than max_records records in one request is rejected whole too, by
//    DecodeIngestRequest (serve/request_decoder.h), not by the decoders, so
//    that large offline files are not cut.
#ifndef TRIAD_INGEST_INGEST_LIMITS_H_
#define TRIAD_INGEST_INGEST_LIMITS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct IngestLimits {
  size_t max_bytes = 64u << 20;          // request size (after any decompression)
  int max_depth = 64;                    // message / JSON array+object nesting
  size_t max_attributes = 128;           // attributes kept per record / data point
  size_t max_string_bytes = 64u << 10;   // longest string kept (bytes)
  size_t max_records = 1000000;          // records per request (DecodeIngestRequest)
};

// Truncates *s to at most `max` bytes, backing off to a UTF-8 character
// boundary. Returns true iff it was cut.
bool TruncateUtf8(std::string* s, size_t max);

// Applies max_string_bytes and max_attributes to one record (every string
// field and the attributes/labels), counting into stats->truncated and
// stats->dropped_attributes. REQUIRES: stats != nullptr.
void ApplyIngestLimits(const IngestLimits& limits, Span* s, ReadStats* stats);
void ApplyIngestLimits(const IngestLimits& limits, LogRecord* l, ReadStats* stats);
void ApplyIngestLimits(const IngestLimits& limits, MetricSample* m, ReadStats* stats);
// The same for an attribute list alone (first max_attributes kept).
void ApplyIngestLimits(const IngestLimits& limits, Attributes* attrs, ReadStats* stats);

// Returns InvalidArgument iff `text` is larger than limits.max_bytes or its
// arrays/objects nest deeper than limits.max_depth (scanned without parsing,
// strings skipped; `what` names the document in the message). Guards the JSON
// parser and the recursive json copies/destructors against deep nesting.
Status CheckJsonLimits(std::string_view text, const IngestLimits& limits, std::string_view what);

// "3 values truncated to 65536 bytes; 2 attributes dropped (over 128 per
// record)", or "" when nothing was truncated or dropped.
std::string IngestLimitsMessage(const ReadStats& stats, const IngestLimits& limits);

}  // namespace triad

#endif  // TRIAD_INGEST_INGEST_LIMITS_H_
