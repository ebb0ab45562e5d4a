// OTLP/JSON (OpenTelemetry protocol, JSON encoding of the collector's export
// requests) reader and writer.
//
// Reader leniency (what real exporters emit): trace/span ids as hex (any case)
// or as padded base64 of 16/8 bytes; 64-bit integers as strings or numbers;
// enums as integers or names ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR",
// "SEVERITY_NUMBER_WARN", also bare "SERVER"); camelCase or snake_case keys
// ("traceId"/"trace_id"); legacy instrumentationLibrary* containers; unknown
// fields ignored. AnyValue attributes become text (see telemetry.h).
//
// Mapping:
//  * Resource: service.name -> service; service.instance.id (else
//    k8s.pod.name) -> instance; host.name -> Span::host.
//  * Span: HTTP fields and peer from semantic-convention attributes (see
//    FillSpanFromSemanticConventions); attributes are kept as they are.
//    Missing/all-zero traceId or spanId, unparsable times or end < start: skip.
//  * Log: body AnyValue -> text; time falls back to observedTimeUnixNano;
//    severity_number falls back to SeverityFromText(severityText).
//  * Metric: gauge -> kGauge; sum monotonic and cumulative -> kCounter, other
//    sums -> kGauge; histogram -> kHistogram (count, sum, explicitBounds,
//    bucketCounts; bucketCounts must have bounds+1 entries, or none, which
//    gives {count}); summary -> gauges `name{quantile=q}`, `name_sum`,
//    `name_count` (as the Prometheus reader does); exponentialHistogram is
//    unsupported (counted skip). Labels sorted by key. NaN/Inf values, points
//    without timeUnixNano and points flagged "no recorded value": skip.
//
// Writer contract: ParseOtlpJson(WriteOtlp*(x)) gives back every field of x,
// records grouped by resource (order kept within a group), with these
// exceptions: a span's http_method/http_url/http_status_code/peer are written
// as the attributes http.request.method/url.full/http.response.status_code/
// peer.service when the span's attributes hold no attribute for that field
// (so they appear in attributes after reading back); a log with time 0 reads
// back with time = observed_time, and one with severity_number 0 with
// SeverityFromText(severity_text). Records read by ParseOtlpJson round-trip
// exactly. Non-finite metric values are written as "NaN"/"Infinity" (which the
// reader counts as skips).
#ifndef TRIAD_INGEST_OTLP_JSON_H_
#define TRIAD_INGEST_OTLP_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/ingest_limits.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Parses one OTLP/JSON ExportTraceServiceRequest / ExportLogsServiceRequest /
// ExportMetricsServiceRequest document (kind detected from resourceSpans/resourceLogs/resourceMetrics).
// Emits to sink; malformed records inside a valid document are skipped and counted in *stats
// (source name and line used in messages). Returns non-OK iff the document itself is not valid JSON / not an object.
// `stats` may be null; stats->records counts what was emitted (stats->lines is left alone).
// `limits` (ingest/ingest_limits.h): a document over max_bytes or nesting deeper than
// max_depth is rejected (InvalidArgument naming the limit, nothing emitted); long strings
// are truncated and extra attributes dropped (counted in stats->truncated/dropped_attributes).
Status ParseOtlpJson(std::string_view json, TelemetrySink& sink, ReadStats* stats,
                     std::string_view source = "<memory>", uint64_t line = 0,
                     const IngestLimits& limits = IngestLimits());
// Streams a file (plain, gzip or "-" for stdin) with one such document per line (blank lines ignored);
// the default limits apply to each document, except max_bytes.
// A pretty-printed file holding a single document is read too (see ForEachJsonDocument).
// Lines that are not valid documents are counted skips. Returns non-OK iff the file cannot be
// read, or none of its documents is valid.
Status ReadOtlpJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats);
// Writers: encode the given records as ONE request document on one line (no newline),
// grouping records by (service, instance) into resource* entries with service.name /
// service.instance.id / host.name resource attributes and one scope "triad".
// (Spans are grouped by (service, instance, host).)
std::string WriteOtlpTraces(const std::vector<Span>& spans);
std::string WriteOtlpLogs(const std::vector<LogRecord>& logs);
std::string WriteOtlpMetrics(const std::vector<MetricSample>& samples);

}  // namespace triad

#endif  // TRIAD_INGEST_OTLP_JSON_H_
