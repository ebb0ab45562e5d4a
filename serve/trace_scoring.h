// TraceScoringStage: `triad serve` scores every completed trace with a trained
// trace model (models/trace_scorer.h: the multimodal LSTM of issue 5) on a
// thread of its own, so the pipeline's worker does not wait for inference.
//
//   OnlinePipeline worker --Submit(trace)--> bounded queue --> scoring thread
//        --TraceScorer::Score--> per (blamed service, window) bucket
//        --AdvanceTo(watermark) / Shutdown--> one AnomalyRow per bucket
//
// One anomaly per service and window (not per trace), so a fault that breaks
// thousands of traces gives a readable list: the row's score is the worst
// trace score (threshold 1: the model's own rule, TraceVerdict::score > 1),
// its summary counts anomalous of scored traces through that service, and its
// evidence holds the worst traces (full span tree with the offending spans,
// the findings: observed vs expected label and response-time range).
// A bucket [start, start + window) is written once the event-time watermark
// passes start + window + flush_delay (flush_delay covers the trace idle
// timeout), or at Shutdown. Traces whose bucket was already written open a
// new row for it (counted in triad_trace_late_total).
//
// Backpressure: Submit blocks while the queue holds max_queue traces, so a
// slow model slows the worker, whose queue then refuses requests (429): no
// trace is dropped.
#ifndef TRIAD_SERVE_TRACE_SCORING_H_
#define TRIAD_SERVE_TRACE_SCORING_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "align/trace_sequences.h"
#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "triad/status.h"

namespace triad {

// What a trace model says of one trace.
struct TraceAssessment {
  bool anomaly = false;
  double score = 0;            // > 1 iff anomalous (the model's rule)
  std::string type;            // "structural", "response_time", "both" or "none"
  int32_t blamed = -1;         // index into trace.spans of the first offending span
  std::vector<int32_t> spans;  // offending spans (indices into trace.spans)
  std::string findings_json;   // JSON array: one object per offending event
};

// A trained model that judges whole traces. Implementations must be safe to
// call from one thread at a time (the scoring thread).
class TraceScorer {
 public:
  virtual ~TraceScorer() = default;
  virtual std::string name() const = 0;  // e.g. "trace-multimodal"
  virtual void Score(const Trace& t, TraceAssessment* out) const = 0;
};

struct TraceScoringOptions {
  TimeNs window = 30 * 1000000000LL;       // bucket length (the serve window)
  TimeNs flush_delay = 40 * 1000000000LL;  // after the bucket end, on event time
  size_t max_queue = 10000;                // traces waiting for the model
  size_t evidence_traces = 3;              // worst traces kept per bucket
  // Shutdown writes every bucket (true), or only the complete ones (false:
  // with a journal, whose replay rebuilds the open traces after a restart).
  bool flush_open_at_shutdown = true;
};

class TraceScoringStage {
 public:
  // `scorer`, `store` and `metrics` must outlive the stage.
  TraceScoringStage(TraceScoringOptions opts, const TraceScorer* scorer, Store* store,
                    PromRegistry* metrics);
  ~TraceScoringStage();  // Shutdown()
  TraceScoringStage(const TraceScoringStage&) = delete;
  TraceScoringStage& operator=(const TraceScoringStage&) = delete;

  // Loads from the store how far buckets were written before a restart
  // (meta key "trace_scoring.written_through"); traces of those buckets, seen
  // again in a journal replay, are scored but not written twice.
  void Start();
  // Queues a completed trace (blocks while the queue is full). Ignored after Shutdown.
  void Submit(Trace t);
  // Event-time progress: buckets that ended long enough ago are written.
  void AdvanceTo(TimeNs watermark);
  // Scores what is queued, writes every bucket, joins the thread. Idempotent.
  void Shutdown();
  // Returns true once the queue is empty, nothing is being scored and the
  // last AdvanceTo has been acted on (tests).
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Anomalies written so far (row ids set). Thread-safe.
  uint64_t anomalies_written() const;
  // Called on the scoring thread for each written anomaly (e.g. the alert
  // webhook). Set before Start(); must not block.
  void set_anomaly_hook(std::function<void(const AnomalyRow&)> hook) { hook_ = std::move(hook); }
  Status last_error() const;

 private:
  struct Bucket;
  void Work();
  // Scoring thread only:
  void Accumulate(const Trace& t, const TraceAssessment& a, TimeNs bucket_start);
  void Flush(TimeNs up_to, bool all);

  TraceScoringOptions opts_;
  const TraceScorer* scorer_;
  Store* store_;
  PromRegistry* metrics_;
  std::function<void(const AnomalyRow&)> hook_;

  mutable std::mutex mu_;
  std::condition_variable cv_, space_cv_, idle_cv_;
  std::deque<Trace> queue_;
  TimeNs watermark_ = INT64_MIN;
  TimeNs flushed_mark_ = INT64_MIN;  // the watermark of the last flush
  bool stopping_ = false, started_ = false, joined_ = false, busy_ = false;
  uint64_t written_ = 0;
  Status error_;
  std::thread worker_;

  // Scoring thread only.
  std::map<std::pair<TimeNs, std::string>, std::unique_ptr<Bucket>> buckets_;
  TimeNs flushed_through_ = INT64_MIN;  // buckets ending at or before this are written
  TimeNs written_before_start_ = INT64_MIN;  // ... by an earlier process
};

}  // namespace triad

#endif  // TRIAD_SERVE_TRACE_SCORING_H_
