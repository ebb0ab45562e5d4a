// Prometheus text exposition format 0.0.4 reader.
//
//   # HELP name text          (ignored)
//   # TYPE name counter|gauge|histogram|summary|untyped
//   name{label="value",...} value [timestamp_ms]
//
// Label values may use the escapes \\ \" \n. Values may be floats, +Inf, -Inf
// or NaN; NaN samples are counted skips. Samples without a timestamp get
// `default_time` (ReadPrometheusTextFile: the time of reading).
// Types: counter -> kCounter (also *_total samples of a counter family);
// gauge/untyped -> kGauge; summary -> its quantile samples are gauges with a
// `quantile` label, its `_sum`/`_count` samples counters named
// name_sum/name_count;
// histogram -> the `_bucket{le=..}`, `_sum` and `_count` samples of one series
// (same labels but `le`, same timestamp) are assembled into ONE kHistogram
// sample: bounds = the finite `le` values sorted ascending (size n),
// bucket_counts = per-bucket NON-cumulative counts (size n+1, the last is the
// +Inf bucket), count = the +Inf (or _count) total, value = _sum. A histogram
// whose cumulative counts decrease is a counted skip. Histogram samples are
// grouped within one metric family (lines of a family are contiguous in the
// format); a family's histograms are emitted when the family ends.
// Service: from a `service`, `job` or `service_name` label (first found);
// instance from an `instance` label. Labels are sorted by key.
#ifndef TRIAD_INGEST_PROMETHEUS_TEXT_H_
#define TRIAD_INGEST_PROMETHEUS_TEXT_H_

#include <string>
#include <string_view>

#include "ingest/line_reader.h"
#include "ingest/read_stats.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Parses a whole exposition document held in memory. `source` names it in
// skip messages. `stats` may be null.
Status ParsePrometheusText(std::string_view text, TimeNs default_time, TelemetrySink& sink,
                           ReadStats* stats, std::string_view source);

// Streams a document line by line from `r`.
Status ReadPrometheusText(LineReader& r, TimeNs default_time, TelemetrySink& sink,
                          ReadStats* stats);

// Reads `path` (plain, gzip or "-"); samples without a timestamp get the
// current wall-clock time.
Status ReadPrometheusTextFile(const std::string& path, TelemetrySink& sink, ReadStats* stats);

}  // namespace triad

#endif  // TRIAD_INGEST_PROMETHEUS_TEXT_H_
