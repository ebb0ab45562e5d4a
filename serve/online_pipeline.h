// OnlinePipeline: what `triad serve` does with accepted telemetry. HTTP
// handlers Submit() decoded batches into a bounded queue; one worker thread
// runs the online pipeline on them, in arrival order:
//   logs   -> streaming Drain (parse/drain.h): template ids and counts
//   spans  -> TraceAssembler (idle timeout on event time): completed traces,
//             kept (bounded) as evidence when they hold an error span
//   all    -> StreamingWindows (event-time windows, bounded lateness)
//   closed window slot -> BaselineDetector::ScoreRange (the same call and
//             the same windows as `triad detect`, so the verdicts agree)
//          -> Store: scores, anomalies with evidence JSON, services, call
//             edges, templates; retention by event time.
// Backpressure: Submit() refuses a batch (kQueueFull) when the queue holds
// max_queue_batches batches or max_queue_records records; the server answers
// 429. Shutdown() stops accepting (kStopping, answered 503), processes every
// queued batch, closes all open windows and traces and writes the log parser
// state, so data that was accepted is processed.
#ifndef TRIAD_SERVE_ONLINE_PIPELINE_H_
#define TRIAD_SERVE_ONLINE_PIPELINE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "align/trace_sequences.h"
#include "detect/baseline.h"
#include "ingest/otlp_proto.h"
#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "serve/streaming_windows.h"
#include "triad/telemetry.h"

namespace triad {

// One accepted request's records.
struct IngestBatch {
  OtlpSignal signal = OtlpSignal::kTraces;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::vector<MetricSample> metrics;
  size_t records() const { return spans.size() + logs.size() + metrics.size(); }
};

struct PipelineOptions {
  size_t max_queue_batches = 1024;
  size_t max_queue_records = 2000000;
  StreamingWindowOptions windows;  // window must equal the model's window
  TraceAssemblerOptions traces{10 * kNsPerSec, 100000, 10000, 100000};
  // Scores and anomalies whose window started more than this before the
  // watermark (event time) are deleted; 0 keeps everything.
  TimeNs retention = 7 * 24 * 3600 * kNsPerSec;
  size_t evidence_spans = 5;       // notable spans kept per service and window
  size_t evidence_traces = 2000;   // completed error traces kept for evidence
  std::string drain_state_path;    // if set: log parser state loaded at Start, saved at Shutdown
  std::string model_name = "baseline";
};

class OnlinePipeline {
 public:
  // `store` and `metrics` must outlive the pipeline; `detector` may be null
  // (then windows are built but not scored) and must outlive it otherwise.
  // REQUIRES: detector == nullptr || detector->config().window == opts.windows.window.
  OnlinePipeline(PipelineOptions opts, Store* store, const BaselineDetector* detector,
                 PromRegistry* metrics);
  ~OnlinePipeline();  // Shutdown()
  OnlinePipeline(const OnlinePipeline&) = delete;
  OnlinePipeline& operator=(const OnlinePipeline&) = delete;

  // Loads the log parser state (if any) and starts the worker.
  Status Start();

  enum class Admit { kAccepted, kQueueFull, kStopping };
  // Queues `batch` (moved from only when accepted). Thread-safe.
  Admit Submit(IngestBatch&& batch);

  // Stops accepting, processes the queue, closes open windows and traces,
  // saves the parser state, joins the worker. Idempotent.
  void Shutdown();

  // Tests: a paused worker takes nothing from the queue (Shutdown resumes it).
  void Pause();
  void Resume();
  // Returns true once the queue is empty and the worker idle (false on timeout).
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Called on the worker for every scored window (tests). Set before Start().
  void set_score_hook(std::function<void(const WindowScore&)> hook) { score_hook_ = std::move(hook); }
  // Called on the worker for every new anomaly once it is committed to the
  // store (row.id set), e.g. AlertWebhook::Enqueue. Must not block. Set before Start().
  void set_anomaly_hook(std::function<void(const AnomalyRow&)> hook) { anomaly_hook_ = std::move(hook); }

  size_t queue_batches() const;
  size_t queue_records() const;
  bool accepting() const;
  bool has_detector() const { return detector_ != nullptr; }
  // The last error writing to the store (OK if none).
  Status last_store_error() const;

 private:
  struct State;
  void Work();
  void Process(IngestBatch& b);
  void OnSlot(ClosedSlot&& slot);
  void OnTrace(Trace&& t);
  Status WriteTemplates();  // dirty templates -> store

  PipelineOptions opts_;
  Store* store_;
  const BaselineDetector* detector_;
  PromRegistry* metrics_;
  std::function<void(const WindowScore&)> score_hook_;
  std::function<void(const AnomalyRow&)> anomaly_hook_;
  std::unique_ptr<State> st_;  // worker-only state

  mutable std::mutex mu_;
  std::condition_variable cv_;       // worker wake-up
  std::condition_variable idle_cv_;  // WaitIdle
  std::deque<IngestBatch> queue_;
  size_t queued_records_ = 0;
  bool stopping_ = false, paused_ = false, busy_ = false, started_ = false, joined_ = false;
  Status store_error_;
  std::thread worker_;
};

}  // namespace triad

#endif  // TRIAD_SERVE_ONLINE_PIPELINE_H_
