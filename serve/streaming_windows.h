// StreamingWindows: the online form of align/WindowAggregator. Records arrive
// in (roughly) event-time order; each window slot [k*window, (k+1)*window)
// closes when the watermark (the largest event time seen) passes its end by
// `allowed_lateness`, and is then turned into the same WindowFeatures the
// batch aggregator computes for it from the whole input:
//  * counter and histogram increases across the slot boundary use the
//    series' last sample before the slot (carried from earlier slots);
//  * call edges whose parent span lies in an earlier slot (up to two back)
//    or whose child span lies in a later, still open slot are resolved as in
//    the batch aggregator.
// Known differences from the batch aggregator: a template's example text is
// the slot's first message (not the input's first), and the per-service
// operation cap (AlignOptions::max_operations) counts per slot.
//
// Event time: span start, log time (else observed time), metric time, as in
// WindowAggregator. The watermark: see StreamingWindowOptions::max_signal_lag.
// A record whose slot has already closed is dropped and
// counted in late(); a record with an implausible time (before 2000, after
// 2200) is counted in implausible(). Memory: the open slots' aggregates plus
// span ids of the last two closed slots plus one sample per counter series.
//
// Slots that lie before the first record (less `window/10` of slack) or, at
// Flush(), after the last one are emitted with scoreable == false: they
// are the partial windows at the edges of the data that `triad detect`
// leaves out (DropPartialEdgeWindows). Slots without any data between two
// with data are emitted too (empty), unless the gap is longer than
// max_empty_gap, which is skipped.
//
// Not thread-safe: one writer (the pipeline's worker).
#ifndef TRIAD_SERVE_STREAMING_WINDOWS_H_
#define TRIAD_SERVE_STREAMING_WINDOWS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "align/window_aggregator.h"
#include "triad/telemetry.h"

namespace triad {

struct StreamingWindowOptions {
  TimeNs window = 30 * kNsPerSec;            // REQUIRES: > 0
  TimeNs allowed_lateness = 30 * kNsPerSec;  // REQUIRES: >= 0
  TimeNs max_empty_gap = 3600 * kNsPerSec;   // longer runs of empty slots are skipped
  // Signals (spans, logs, metrics) are batched and exported independently, so
  // one may run ahead of another: the watermark is the smallest of the three
  // signals' largest event times (signals never seen do not count), but at
  // least the overall largest minus max_signal_lag, so a signal that stops
  // holds windows back by at most this much.
  TimeNs max_signal_lag = 120 * kNsPerSec;
  size_t max_operations = 50;                // AlignOptions::max_operations
};

struct ClosedSlot {
  TimeNs start = 0, end = 0;
  bool scoreable = true;                // false for the partial edge slots
  std::vector<WindowFeatures> windows;  // sorted by service; may be empty
};

class StreamingWindows : public TelemetrySink {
 public:
  using EmitFn = std::function<void(ClosedSlot&&)>;
  // REQUIRES: emit != nullptr. Slots are emitted in start order, from
  // inside OnSpan/OnLog/OnMetric/AdvanceTo/Flush.
  StreamingWindows(StreamingWindowOptions opts, EmitFn emit);
  ~StreamingWindows() override;
  StreamingWindows(const StreamingWindows&) = delete;
  StreamingWindows& operator=(const StreamingWindows&) = delete;

  void OnSpan(Span&& span) override;
  void OnLog(LogRecord&& log) override;
  void OnMetric(MetricSample&& sample) override;
  // Raises the watermark to at least `t` (e.g. from a wall clock when
  // telemetry stops) and closes due slots.
  void AdvanceTo(TimeNs t);
  // End of input: closes every open slot.
  void Flush();

  TimeNs watermark() const { return watermark_; }
  size_t open_slots() const { return slots_.size(); }
  uint64_t late() const { return late_; }
  uint64_t implausible() const { return implausible_; }
  uint64_t skipped_empty_slots() const { return skipped_empty_; }
  const StreamingWindowOptions& options() const { return opts_; }

 private:
  // A span of an open or recently closed slot, as the call-edge resolution
  // needs it; kept under its key trace_id \x1f span_id (SpanKeyOf).
  struct MiniSpan {
    std::string parent_span_id, service;
    TimeNs start = 0;
    size_t trace_len = 0;  // the key's trace_id part (ids may hold any byte)
  };
  // A span with a parent id: its own key and its parent's key.
  struct Child {
    std::string key, parent_key, service;
    TimeNs start = 0;
    size_t trace_len = 0;
  };
  struct Slot;
  Slot* SlotFor(TimeNs t);  // nullptr if late or implausible (counted)
  void Observed(int signal, TimeNs t);  // updates the signal's front and the watermark
  void CloseDue(bool flush);
  void CloseSlot(TimeNs start);

  StreamingWindowOptions opts_;
  EmitFn emit_;
  TimeNs watermark_ = INT64_MIN;
  TimeNs front_[3] = {INT64_MIN, INT64_MIN, INT64_MIN};  // largest time per signal
  TimeNs forced_ = INT64_MIN;                            // from AdvanceTo
  TimeNs min_time_ = INT64_MAX, max_time_ = INT64_MIN;
  TimeNs next_close_ = INT64_MIN;  // start of the next slot to close; INT64_MIN before the first
  std::map<TimeNs, std::unique_ptr<Slot>> slots_;
  // Counter/histogram series key -> its last sample in a closed slot.
  std::unordered_map<std::string, MetricSample> carry_;
  // Spans of the last two closed slots: trace_id \x1f span_id -> span.
  std::unordered_map<std::string, MiniSpan> owners_prev_, owners_prev2_;
  uint64_t late_ = 0, implausible_ = 0, skipped_empty_ = 0;
};

}  // namespace triad

#endif  // TRIAD_SERVE_STREAMING_WINDOWS_H_
