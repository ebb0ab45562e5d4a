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
//
// Journal, checkpoint and replay (when PipelineOptions::journal.dir is set):
//  * Submit() appends the batch to the spill journal (serve/journal.h) before
//    it returns kAccepted, i.e. before the server answers 2xx. A full journal
//    refuses the batch (kQueueFull: 429), a failing one kStopping (503).
//  * The store holds, in the same transaction as each closed slot's scores,
//    the slot's end ("pipeline.committed_end"), and a checkpoint written
//    after whole batches ("pipeline.checkpoint", "pipeline.drain"): the log
//    parser state and template counts reflecting every batch up to drain_seq,
//    and replay_from, the first journal sequence whose records may still be
//    needed: every batch holding an event time at or after committed_end -
//    replay_lookback. The journal keeps only records from replay_from on.
//  * Start() loads the checkpoint, replays the journal from replay_from
//    through the same code path as live batches (log lines of batches up to
//    drain_seq skip the log parser, which already holds them), and so rebuilds
//    the open windows, traces and evidence. Slots ending at or before the
//    committed end loaded at Start() are recomputed but not written again
//    (counted in triad_slots_skipped_total). Then the worker starts.
//  * Shutdown() processes the queue and writes a checkpoint but does NOT close
//    the open windows: they stay in the journal and are rebuilt at the next
//    Start(), so a SIGTERM + restart scores every slot exactly once with all
//    of its data. (Without a journal, Shutdown closes them as described
//    above.) kill -9 loses at most a batch being appended (not acknowledged).
// Contract: the stored scores and anomaly verdicts after a crash or a restart
// equal those of an uninterrupted run, provided records do not arrive more
// than replay_lookback of event time out of order (then a record could be
// "late" in one run but not in the other). The evidence's trace list (a
// bounded FIFO of completed error traces) is rebuilt from the replayed part
// only.
//
// Idle close: when no record has arrived for idle_close of wall-clock time
// while windows or traces are open, the worker advances the watermark to the
// watermark of the last record plus the wall-clock time elapsed since it (in
// ticks), so the last slots are scored when telemetry stops. Each advance is
// journaled as a marker, so replay closes the same slots at the same point.
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
#include "serve/ingest_batch.h"  // IngestBatch
#include "serve/journal.h"
#include "serve/prom_metrics.h"
#include "serve/store.h"
#include "serve/streaming_windows.h"
#include "triad/telemetry.h"

namespace triad {

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
  // Crash safety: the spill journal (empty dir = none; see the top comment).
  JournalOptions journal;
  // Replay rebuilds open state from records this much event time before the
  // committed end (carried counter samples, call edges two slots back, open
  // traces). 0 = 3 * window + traces.idle_timeout.
  TimeNs replay_lookback = 0;
  // Wall-clock idleness after which the watermark advances with the wall
  // clock (see the top comment). Negative: 2 x (window + allowed_lateness);
  // 0: never.
  std::chrono::milliseconds idle_close{-1};
  // A checkpoint is written this long after the first slot that closed
  // since the last one (also while idle), and at Start and Shutdown.
  std::chrono::milliseconds checkpoint_interval{1000};
};

class TraceScoringStage;

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

  // Loads the log parser state (if any) and starts the worker. With a
  // journal: loads the checkpoint, opens the journal (IOError if another
  // process holds it) and replays it before returning (see the top comment).
  Status Start();

  enum class Admit { kAccepted, kQueueFull, kStopping };
  // Queues `batch` (moved from only when accepted). Thread-safe. With a
  // journal, the batch is written to it first (and fdatasync'ed, group
  // commit, with journal.fsync); a full journal gives kQueueFull, a failing
  // write kStopping.
  Admit Submit(IngestBatch&& batch);

  // Stops accepting, processes the queue, closes open windows and traces
  // (without a journal; with one: writes a checkpoint instead), saves the
  // parser state, joins the worker. Idempotent.
  void Shutdown();

  // What Start() replayed from the journal (0 without one), and the journal's
  // damaged records it skipped or truncated.
  uint64_t replayed_batches() const { return replayed_batches_; }
  uint64_t replayed_records() const { return replayed_records_; }
  const ReadStats& journal_stats() const { return journal_stats_; }
  // Null without a journal.
  const Journal* journal() const { return journal_.get(); }

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

  // Completed traces also go to `stage` (a trained trace model, see
  // serve/trace_scoring.h), which follows the watermark; the pipeline starts
  // it in Start() and shuts it down after the last trace. Set before Start().
  void set_trace_stage(TraceScoringStage* stage) { trace_stage_ = stage; }

  size_t queue_batches() const;
  size_t queue_records() const;
  bool accepting() const;
  bool has_detector() const { return detector_ != nullptr; }
  // The last error writing to the store (OK if none).
  Status last_store_error() const;

 private:
  struct State;
  struct Queued {
    IngestBatch batch;
    uint64_t seq = 0;                // journal sequence (0: not journaled)
    TimeNs advance_to = INT64_MIN;   // a watermark marker instead of records
  };
  void Work();
  // Runs one batch or marker through the pipeline (worker, or Start's replay).
  void Run(Queued& q);
  // If idle long enough, queues (and journals) a watermark marker. REQUIRES: mu_ held.
  void MaybeIdleAdvance(std::chrono::steady_clock::time_point now);
  Status LoadCheckpoint(uint64_t* replay_from);
  Status Checkpoint();  // see the top comment
  Status Replay(uint64_t from);
  void Process(IngestBatch& b);
  void OnSlot(ClosedSlot&& slot);
  void OnTrace(Trace&& t);
  Status WriteTemplates();  // dirty templates -> store

  PipelineOptions opts_;
  Store* store_;
  const BaselineDetector* detector_;
  PromRegistry* metrics_;
  TraceScoringStage* trace_stage_ = nullptr;
  std::function<void(const WindowScore&)> score_hook_;
  std::function<void(const AnomalyRow&)> anomaly_hook_;
  std::unique_ptr<State> st_;  // worker-only state

  mutable std::mutex mu_;
  std::condition_variable cv_;       // worker wake-up
  std::condition_variable idle_cv_;  // WaitIdle
  std::deque<Queued> queue_;
  size_t queued_records_ = 0;
  bool stopping_ = false, paused_ = false, busy_ = false, started_ = false, joined_ = false;
  Status store_error_;
  std::thread worker_;
  std::unique_ptr<Journal> journal_;
  ReadStats journal_stats_;
  uint64_t replayed_batches_ = 0, replayed_records_ = 0;
};

}  // namespace triad

#endif  // TRIAD_SERVE_ONLINE_PIPELINE_H_
