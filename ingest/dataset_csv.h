// Readers for the CSV files of public microservice datasets.
//
//  * Nezha trace CSV: TraceID, SpanID, ParentID, PodName, OperationName,
//    StartTimeUnixNano, EndTimeUnixNano, Duration -> Span. instance = pod,
//    service = pod name without its replica-set/pod hash suffixes
//    (ServiceFromPodName). An empty/"root"/"-1"/all-zero ParentID is a root.
//  * Nezha log CSV: Timestamp, TimeUnixNano, Node, PodName, Container,
//    TraceID, SpanID, Log -> LogRecord. Log is usually JSON: a message
//    (message/msg/log/body) and severity (severity/level/lvl) are extracted
//    when present; otherwise the raw text is the body. Time: TimeUnixNano,
//    or Timestamp when TimeUnixNano is missing, <= 0 or > 1 day off it.
//  * DeepTraLog span CSV: StartTime, EndTime (unix ms), URL, SpanType,
//    Service, SpanId, TraceId, Peer, ParentSpan, Component, IsError -> Span.
//    SpanType Entry/Exit/Local -> kServer/kClient/kInternal; ParentSpan -1 =
//    root; span ids are "<segment>.<spanId>"-scoped as in the file.
//
// All read plain, gzip or "-" line by line; `stats` may be null. Columns are
// found by header name (any order); a missing required column is
// InvalidArgument. Rows with a wrong column count or unparseable required
// fields are counted skips.
#ifndef TRIAD_INGEST_DATASET_CSV_H_
#define TRIAD_INGEST_DATASET_CSV_H_

#include <string>
#include <string_view>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

Status ReadNezhaTraceCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats);
Status ReadNezhaLogCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats);
Status ReadDeepTraLogCsv(const std::string& path, TelemetrySink& sink, ReadStats* stats);

Status ReadNezhaTraceCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats);
Status ReadNezhaLogCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats);
Status ReadDeepTraLogCsv(LineReader& r, TelemetrySink& sink, ReadStats* stats);

// "ts-order-service-5d8b6f7c9-x2kq4" -> "ts-order-service": strips a
// Deployment's "-<replica-set hash>-<pod hash>" (hash: 6-10 lowercase
// alphanumerics with a digit; pod hash: 5 lowercase alphanumerics), or a lone
// 5-character pod hash that contains a digit (DaemonSet/ReplicaSet pods).
// StatefulSet ordinals ("-0") are kept: "machine-1-1" stays as it is.
// Returns the input when nothing looks like a suffix.
std::string ServiceFromPodName(std::string_view pod);

}  // namespace triad

#endif  // TRIAD_INGEST_DATASET_CSV_H_
