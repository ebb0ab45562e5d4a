// OTLP/protobuf (OpenTelemetry protocol, binary encoding of the collector's
// export requests) reader and writer, and the export responses.
//
// The messages are the subset of opentelemetry-proto v1 under ingest/proto/
// (package opentelemetry.proto.*, so the wire format is the collector's).
//
// Mapping: exactly the rules of ingest/otlp_json.h (resource attributes ->
// service/instance/host, semantic conventions for spans, log time and severity
// fallbacks, gauge/sum/histogram/summary -> MetricSample, counted skips for
// missing/all-zero ids, end < start, NaN/Inf values, points without time or
// flagged "no recorded value", exponential histograms). The two readers share
// that code (ingest/otlp_common.h). Ids (bytes on the wire) become lowercase
// hex. AnyValue attributes become the same text the JSON reader gives
// (bytes_value as standard base64, as OTLP/JSON carries it).
//
// Writer contract: for records x, ParseOtlpProto(WriteOtlp*Proto(x)) gives the
// same records as ParseOtlpJson(WriteOtlp*(x)) (same grouping and order), with
// one more exception: ids are written as the bytes of their hex text; an id
// that is not hex is written as its raw characters (reads back as the hex of
// those bytes) and odd-length hex gets a leading '0'; times before 1970 do not
// fit the fixed64 fields (they read back as skips); strings that are not valid
// UTF-8 get U+FFFD for the bad bytes (as the JSON writer does).
#ifndef TRIAD_INGEST_OTLP_PROTO_H_
#define TRIAD_INGEST_OTLP_PROTO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/ingest_limits.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// The three OTLP signals (one collector service / HTTP path each).
enum class OtlpSignal { kTraces, kLogs, kMetrics };

// "traces", "logs", "metrics" (the OTLP/HTTP path suffix: /v1/<name>).
const char* OtlpSignalName(OtlpSignal s);

// Guards against hostile requests (ingest/ingest_limits.h); max_depth counts
// message nesting here (AnyValue arrays/maps nest).
using OtlpProtoLimits = IngestLimits;

// Parses one serialized Export{Trace,Logs,Metrics}ServiceRequest (the `kind`
// says which; TracesData/LogsData/MetricsData have the same encoding). Emits
// to `sink`; malformed records are skipped and counted in *stats (messages
// name `source` and `line`, e.g. the frame number of a file). `stats` may be
// null; stats->records counts what was emitted (stats->lines is left alone).
// Unknown fields are ignored. Strings longer than limits.max_string_bytes are
// truncated and attributes beyond limits.max_attributes per record dropped
// (counted in stats->truncated / stats->dropped_attributes).
// Returns:
//  * InvalidArgument if bytes.size() > limits.max_bytes, or the request nests
//    deeper than limits.max_depth (nothing is emitted; the message names the
//    limit);
//  * Corruption if `bytes` is not a valid request of that kind (truncated,
//    garbage; nothing is emitted);
//  * OK otherwise (even if every record was skipped).
// A server computes the rejected count of the response as the growth of
// stats->skipped during the call.
Status ParseOtlpProto(OtlpSignal kind, std::string_view bytes, TelemetrySink& sink,
                      ReadStats* stats, std::string_view source = "<memory>",
                      const OtlpProtoLimits& limits = OtlpProtoLimits(), uint64_t line = 0);

// Writers: encode the records as ONE serialized Export*ServiceRequest, grouped
// by resource as the OTLP/JSON writers do (one scope "triad" per resource).
std::string WriteOtlpTracesProto(const std::vector<Span>& spans);
std::string WriteOtlpLogsProto(const std::vector<LogRecord>& logs);
std::string WriteOtlpMetricsProto(const std::vector<MetricSample>& samples);

// The Export{Trace,Logs,Metrics}ServiceResponse for a request of `kind`:
// partial_success{rejected_spans|rejected_log_records|rejected_data_points =
// rejected, error_message} is set iff rejected > 0 or error_message is not
// empty (an empty response means full success).
// As serialized protobuf (Content-Type application/x-protobuf):
std::string OtlpExportResponseProto(OtlpSignal kind, int64_t rejected,
                                    std::string_view error_message);
// As OTLP/JSON text (Content-Type application/json), e.g.
// {"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}} or {}.
std::string OtlpExportResponseJson(OtlpSignal kind, int64_t rejected,
                                   std::string_view error_message);
// An error_message for a response: "" if stats.errors is empty, else
// "<n> rejected; first: <stats.errors.front()>" (n = stats.skipped).
std::string OtlpPartialSuccessMessage(const ReadStats& stats);

// ---------------------------------------------------------------- files
// An OTLP/protobuf file ("otlp-proto" input format) holds either a sequence of
// length-delimited requests (varint byte length, then the request; what
// WriteOtlpProtoFrame produces) or exactly one request. Requests of the three
// signals may be mixed; the signal of each is detected (DetectOtlpSignal).

// Returns the varint length prefix followed by `message`.
std::string WriteOtlpProtoFrame(std::string_view message);

// Detects the signal of a serialized request from the wire types and field
// numbers of its records. Returns true and sets *out iff exactly one signal
// is consistent with them (false for empty requests, garbage, or records
// that fit several signals).
bool DetectOtlpSignal(std::string_view bytes, OtlpSignal* out);

// Returns true iff `head` (the first bytes of a file, maybe truncated) starts
// like an OTLP/protobuf file: a length-delimited frame or a request whose
// first record's signal is unambiguous. Used by format auto-detection.
bool LooksLikeOtlpProto(std::string_view head);

// Parses a whole file's contents (see above): frames whose request is invalid
// or of undetectable signal are counted skips ("source:frame: why"); returns
// Corruption iff the contents are neither well-framed nor one valid request,
// or no frame is valid. stats->lines counts the frames (1 for a single request).
Status ParseOtlpProtoFile(std::string_view contents, TelemetrySink& sink, ReadStats* stats,
                          std::string_view source = "<memory>",
                          const OtlpProtoLimits& limits = OtlpProtoLimits());
// Reads `path` (plain, gzip or "-" for stdin; at most 1 GiB) and parses it as
// above.
Status ReadOtlpProtoFile(const std::string& path, TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_OTLP_PROTO_H_
