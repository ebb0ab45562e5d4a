// WindowAggregator: buckets telemetry into fixed event-time windows per
// service and turns each (service, window) into a feature map.
//
// Features (absent when the window has no data of that kind: absent != 0):
//   log:count, log:error, log:warn        log records, ERROR/FATAL, WARN
//   trace:spans, trace:error_ratio        all spans of the service
//   trace:p50_ms, trace:p95_ms, trace:p99_ms   latency of "served" spans
//       (kind server/consumer/unspecified; client/internal/producer excluded)
//   op:<operation>:p50_ms / p95_ms   the same per operation (the
//       operation name masked like log keys; at most max_operations per
//       service, the rest pooled as op:<other>)
//   metric:<name>          gauges: mean of the window's samples (all series)
//   metric:<name>:rate     counters: per-second rate (reset-aware, summed
//                          over the service's series of that name)
//   metric:<name>:mean     histograms: mean from sum/count deltas
// Besides features each window carries its log template keys (MaskLogKey)
// with counts and one example message, and the calls to each callee service
// (a span whose parent span belongs to another service is a call from that
// service; a client span with a peer and no such child is a call to the peer).
//
// Data may arrive in any order; everything is resolved in Finish().
// Timestamps: a record with no time, or one before 2000 or after 2200, is a
// counted skip (ReadStats); at Finish the occupied windows are grouped into
// clusters separated by gaps > max_gap and only the largest cluster is kept;
// records in the others (clock skew) are counted skips too.
#ifndef TRIAD_ALIGN_WINDOW_AGGREGATOR_H_
#define TRIAD_ALIGN_WINDOW_AGGREGATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ingest/read_stats.h"
#include "triad/telemetry.h"

namespace triad {

struct WindowFeatures {
  std::string service;
  TimeNs start = 0;  // inclusive
  TimeNs end = 0;    // exclusive
  std::map<std::string, double> features;
  std::map<std::string, uint64_t> templates;                // log key -> count
  std::map<std::string, std::string> template_examples;     // log key -> one message
  std::map<std::string, uint64_t> callees;                  // callee service -> calls
};

struct AlignOptions {
  TimeNs window = 30 * kNsPerSec;  // REQUIRES: > 0
  TimeNs origin = 0;               // windows are [origin + k*window, origin + (k+1)*window)
  TimeNs max_gap = 24LL * 3600 * kNsPerSec;  // clock-skew clustering; 0 disables it
  size_t max_operations = 50;      // per service
};

// Returns the start of the window that holds `t`.
TimeNs WindowStart(TimeNs t, TimeNs window, TimeNs origin);

class WindowAggregator : public TelemetrySink {
 public:
  explicit WindowAggregator(AlignOptions opts = {});
  ~WindowAggregator() override;
  WindowAggregator(const WindowAggregator&) = delete;
  WindowAggregator& operator=(const WindowAggregator&) = delete;

  void OnSpan(Span&& span) override;
  void OnLog(LogRecord&& log) override;
  void OnMetric(MetricSample&& sample) override;

  // Resolves counters, call edges and skew, and returns the windows sorted by
  // (start, service). Skipped records are counted in stats(). Call once.
  std::vector<WindowFeatures> Finish();

  const ReadStats& stats() const { return stats_; }
  const AlignOptions& options() const { return opts_; }
  // After Finish: the earliest and latest record time kept (INT64_MAX and
  // INT64_MIN when nothing was kept). The first and last windows may cover
  // only part of their length with data (see DropPartialEdgeWindows).
  TimeNs min_time() const { return min_time_; }
  TimeNs max_time() const { return max_time_; }

 private:
  struct Impl;
  AlignOptions opts_;
  ReadStats stats_;
  TimeNs min_time_ = INT64_MAX, max_time_ = INT64_MIN;
  std::unique_ptr<Impl> impl_;
};

// Returns the windows of `windows` that lie within the data's time span
// [min_time, max_time] give or take `slack`: the partial windows at the
// edges of an input (which would look like a traffic drop) are left out.
std::vector<WindowFeatures> DropPartialEdgeWindows(std::vector<WindowFeatures> windows,
                                                   TimeNs min_time, TimeNs max_time,
                                                   TimeNs slack);

// The identity of a counter or histogram series, as WindowAggregator keys it
// to turn cumulative samples into per-window deltas: service (the instance
// when the service is empty), instance, name, labels and kind.
std::string MetricSeriesKey(const MetricSample& m);

// Returns true iff `t` is a plausible event time (2000-01-01 <= t <
// 2200-01-01); WindowAggregator skips records outside it as implausible.
bool PlausibleEventTime(TimeNs t);

// Convenience: the windows of `windows` with start in [from, to).
std::vector<WindowFeatures> WindowsInRange(const std::vector<WindowFeatures>& windows,
                                           TimeNs from, TimeNs to);

}  // namespace triad

#endif  // TRIAD_ALIGN_WINDOW_AGGREGATOR_H_
