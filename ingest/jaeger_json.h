// Jaeger JSON reader: the query API / UI "Download JSON" export
//
//   {"data":[{"traceID":"..","spans":[{"traceID","spanID","operationName",
//     "references":[{"refType":"CHILD_OF","traceID","spanID"}],
//     "startTime":<us>,"duration":<us>,"tags":[{"key","type","value"}],
//     "logs":[..],"processID":"p1"}],
//     "processes":{"p1":{"serviceName":"..","tags":[..]}}}]}
//
// also one trace object ({"traceID","spans","processes"}) or one span object
// (with an embedded "process") per document, or a JSON array of them.
//
// Mapping: parent = parentSpanID, else the first CHILD_OF reference, else the
// first FOLLOWS_FROM one; start/end from startTime/duration (microseconds,
// numbers or strings); service = the process's serviceName; host from process
// tags hostname/host.name/ip; instance from service.instance.id/k8s.pod.name;
// tags -> attributes (values as text); kind from span.kind; status ERROR from
// error=true or otel.status_code=ERROR (OK from otel.status_code=OK), message
// from otel.status_description; HTTP fields and peer from the tags (semantic
// conventions, plus OpenTracing peer.hostname/peer.ipv4). Span logs (events)
// are not emitted. Spans without traceID/spanID/startTime, or with a negative
// duration, are counted skips.
#ifndef TRIAD_INGEST_JAEGER_JSON_H_
#define TRIAD_INGEST_JAEGER_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Parses one Jaeger JSON document held in memory. Malformed spans are skipped
// and counted in *stats (`stats` may be null; stats->records counts spans
// emitted). Returns non-OK iff the text is not valid JSON or not an
// object/array.
Status ParseJaegerJson(std::string_view json, TelemetrySink& sink, ReadStats* stats,
                       std::string_view source = "<memory>", uint64_t line = 0);

// Reads `path` (plain, gzip or "-"): one document per line, or one whole
// (pretty-printed) document. Returns non-OK iff the file cannot be read or
// holds no valid document.
Status ReadJaegerJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_JAEGER_JSON_H_
