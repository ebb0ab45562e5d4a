// One entry point for every telemetry input format Triad reads, with format
// auto-detection.
//
// Detection (kAuto), from the first 64 KiB of the (decompressed) input:
//  * binary bytes (a control character other than TAB/CR/LF) and
//    LooksLikeOtlpProto (a length-delimited or single OTLP protobuf request
//    whose records can only be spans, logs or metrics) -> otlp-proto;
//  * '{' : OTLP/JSON if a resourceSpans/resourceLogs/resourceMetrics key (or
//          snake_case) appears; Jaeger if "data"/"traceID"/"spanID"/
//          "processes" does; Zipkin if "traceId" with "localEndpoint"/
//          "timestamp" does (one span per line).
//  * '[' : Jaeger if "traceID"/"spanID" appears (an array of traces), else Zipkin.
//  * CSV header (case-insensitive): TraceID,SpanID,ParentID,PodName ->
//    nezha-trace; TimeUnixNano + Log -> nezha-log; StartTime,EndTime,URL,
//    SpanType -> deeptralog.
//  * "# HELP"/"# TYPE" first line, or a .prom file name -> prometheus.
//  * then, if ReadOptions::log_format is set -> loghub;
//  * a header with a time-like column (…time…, …date…, ts) whose second row
//    holds a number, or rows of numbers only -> metric-csv;
//    lines all like `name{labels} value [ts]` -> prometheus;
//  * otherwise an InvalidArgument error asking for --format / --log-format.
// stdin ("-") with kAuto is read into memory first (at most 1 GiB, after
// gzip decompression) so detection does not lose bytes; messages then name
// the source "<memory>". With an explicit format stdin is streamed.
#ifndef TRIAD_INGEST_READER_H_
#define TRIAD_INGEST_READER_H_

#include <string>
#include <string_view>

#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

enum class InputFormat { kAuto, kOtlpJson, kJaegerJson, kZipkinJson, kLoghub, kMetricCsv,
                         kPrometheus, kNezhaTraceCsv, kNezhaLogCsv, kDeepTraLogCsv,
                         kOtlpProto };

// Returns the format named by `name` ("auto","otlp","jaeger","zipkin","loghub","metric-csv",
// "prometheus","nezha-trace","nezha-log","deeptralog","otlp-proto"); false if unknown.
bool ParseInputFormat(std::string_view name, InputFormat* out);
// The name ParseInputFormat accepts for `f`.
const char* InputFormatName(InputFormat f);

struct ReadOptions {
  InputFormat format = InputFormat::kAuto;
  // loghub header format, e.g. "<Date> <Time> <Level> <Component>: <Content>",
  // or a loghub system name ("HDFS", "BGL", ...; see LoghubFormatFor).
  std::string log_format;
  std::string service;      // service name for sources that carry none (raw logs, CSV)
};

// Detects the format of the input whose first bytes are `head` (decompressed)
// and whose file name is `name`. Returns kAuto when nothing matches.
InputFormat DetectInputFormat(std::string_view head, std::string_view name,
                              bool have_log_format);

// Detects the format when kAuto (from the first non-blank bytes / CSV header / file name) and reads.
// Sets *used (if non-null) to the format read. `stats` may be null.
// Returns non-OK iff the input cannot be read at all (missing file, undetectable
// format, bad options, or a reader's fatal error).
Status ReadTelemetry(const std::string& path, const ReadOptions& opts, TelemetrySink& sink,
                     ReadStats* stats, InputFormat* used = nullptr);

}  // namespace triad

#endif  // TRIAD_INGEST_READER_H_
