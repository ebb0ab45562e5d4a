#include "serve/online_pipeline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "parse/drain.h"
#include "serve/evidence_json.h"
#include "serve/trace_scoring.h"
#include "serve/batch_codec.h"

namespace triad {
namespace {

using json = nlohmann::json;

constexpr const char* kCommittedEndKey = "pipeline.committed_end";
constexpr const char* kCheckpointKey = "pipeline.checkpoint";
constexpr const char* kDrainKey = "pipeline.drain";

// The largest event time of a batch's records (INT64_MIN if none).
TimeNs MaxEventTime(const IngestBatch& b) {
  TimeNs t = INT64_MIN;
  for (const Span& x : b.spans) t = std::max(t, x.start);
  for (const LogRecord& x : b.logs) t = std::max(t, x.time != 0 ? x.time : x.observed_time);
  for (const MetricSample& x : b.metrics) t = std::max(t, x.time);
  return t;
}

// The log parser's state as text (DrainParser persists to files only).
Status DrainToString(const DrainParser& d, const std::string& tmp, std::string* out) {
  TRIAD_RETURN_IF_ERROR(d.Save(tmp));
  std::ifstream f(tmp, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  if (!f) return Status::IOError("cannot read back " + tmp);
  *out = ss.str();
  return Status::OK();
}

Status DrainFromString(const std::string& text, const std::string& tmp,
                       std::unique_ptr<DrainParser>* out) {
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return Status::IOError("cannot write " + tmp);
  }
  Status st = DrainParser::Load(tmp, out);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  return st;
}

TimeNs WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// A span worth showing as evidence: errors first, then the slowest.
struct SpanBrief {
  std::string trace_id, span_id, name;
  TimeNs start = 0;
  double ms = 0;
  bool error = false;
  int http_status = 0;
  std::string status_message;
  bool Before(const SpanBrief& o) const {
    return error != o.error ? error : ms > o.ms;
  }
};

// The fields of `s` that trace evidence (SpanJson, is_error) and trace
// assembly use: the assembler's copy skips the attributes, URL, hosts, etc.
Span EvidenceCopy(const Span& s) {
  Span c;
  c.trace_id = s.trace_id;
  c.span_id = s.span_id;
  c.parent_span_id = s.parent_span_id;
  c.service = s.service;
  c.name = s.name;
  c.kind = s.kind;
  c.start = s.start;
  c.end = s.end;
  c.status = s.status;
  c.status_message = s.status_message;
  c.http_status_code = s.http_status_code;
  return c;
}

}  // namespace

struct OnlinePipeline::State {
  std::unique_ptr<DrainParser> drain;
  struct TemplateInfo {
    uint64_t count = 0;
    TimeNs first = 0, last = 0;
  };
  std::unordered_map<uint32_t, TemplateInfo> templates;  // by Drain id
  std::unordered_set<uint32_t> dirty_templates;
  std::unique_ptr<TraceAssembler> assembler;
  std::unique_ptr<StreamingWindows> windows;
  // Notable spans per (window start, service).
  std::map<TimeNs, std::unordered_map<std::string, std::vector<SpanBrief>>> notable;
  // Completed traces holding an error span: id -> spans as JSON (bounded FIFO).
  std::unordered_map<std::string, json> error_traces;
  std::deque<std::string> error_trace_fifo;
  uint64_t late_reported = 0, implausible_reported = 0;

  // Journal, checkpoint, idle close (see the header).
  bool learn_logs = true;            // false while replaying batches the parser holds
  uint64_t drain_seq = 0;            // the checkpointed parser state covers batches <= this
  uint64_t last_seq = 0;             // last journaled batch processed
  TimeNs committed_end = INT64_MIN;  // end of the last slot committed to the store
  TimeNs committed_at_start = INT64_MIN;
  uint64_t slots_since_ckpt = 0;
  // (seq, largest event time) of processed batches, from the replay start on.
  std::deque<std::pair<uint64_t, TimeNs>> retained;
  std::chrono::steady_clock::time_point last_ckpt, last_record_wall, next_idle_tick;
  TimeNs wm_at_last_record = INT64_MIN;  // the watermark after the last record
  bool open_state = false;               // windows or traces open

  // Metrics.
  PromCounter* processed[3];
  PromCounter* late;
  PromCounter* implausible;
  PromCounter* windows_scored;
  PromCounter* anomalies;
  PromCounter* traces_completed;
  PromCounter* store_errors;
  PromGauge* open_slots;
  PromGauge* open_traces;
  PromGauge* watermark;
  PromGauge* templates_gauge;
  PromHistogram* scoring_latency;
  PromHistogram* batch_latency;
  PromCounter* skipped_slots;
  PromCounter* replayed;
  PromCounter* journal_full;
  PromCounter* journal_errors;
  PromCounter* checkpoints;
  PromCounter* idle_advances;
  PromGauge* journal_bytes;
};

OnlinePipeline::OnlinePipeline(PipelineOptions opts, Store* store,
                               const BaselineDetector* detector, PromRegistry* metrics)
    : opts_(std::move(opts)), store_(store), detector_(detector), metrics_(metrics),
      st_(new State) {
  assert(detector_ == nullptr || detector_->config().window == opts_.windows.window);
  State& s = *st_;
  for (int i = 0; i < 3; ++i)
    s.processed[i] = metrics_->Counter("triad_processed_records_total",
                                       "Records the online pipeline processed", "signal",
                                       OtlpSignalName(static_cast<OtlpSignal>(i)));
  s.late = metrics_->Counter("triad_dropped_records_total",
                             "Accepted records dropped by the pipeline", "reason", "late");
  s.implausible = metrics_->Counter("triad_dropped_records_total",
                                    "Accepted records dropped by the pipeline", "reason",
                                    "implausible_time");
  s.windows_scored = metrics_->Counter("triad_windows_scored_total", "Service windows scored");
  s.anomalies = metrics_->Counter("triad_anomalies_total", "Anomalous windows detected");
  s.traces_completed =
      metrics_->Counter("triad_traces_completed_total", "Traces assembled (idle timeout)");
  s.store_errors = metrics_->Counter("triad_store_errors_total", "Failed writes to the store");
  s.open_slots = metrics_->Gauge("triad_open_windows", "Window slots still open");
  s.open_traces = metrics_->Gauge("triad_open_traces", "Traces being assembled");
  s.watermark = metrics_->Gauge("triad_watermark_seconds", "Event-time watermark (Unix s)");
  s.templates_gauge = metrics_->Gauge("triad_log_templates", "Log templates learned");
  s.scoring_latency = metrics_->Histogram("triad_scoring_latency_seconds",
                                          "Time to score and store one closed window slot",
                                          LatencyBuckets());
  s.batch_latency = metrics_->Histogram("triad_batch_processing_seconds",
                                        "Worker time per accepted batch", LatencyBuckets());
  metrics_->Gauge("triad_queue_batches", "Batches waiting for the worker");
  metrics_->Gauge("triad_queue_records", "Records waiting for the worker");
  s.skipped_slots = metrics_->Counter("triad_slots_skipped_total",
                                      "Window slots recomputed by replay but already committed");
  s.replayed = metrics_->Counter("triad_journal_replayed_records_total",
                                 "Records replayed from the journal at start");
  s.journal_full = metrics_->Counter("triad_journal_full_total",
                                     "Batches refused because the journal was full");
  s.journal_errors = metrics_->Counter("triad_journal_errors_total", "Failed journal writes");
  s.checkpoints = metrics_->Counter("triad_checkpoints_total", "Pipeline checkpoints written");
  s.idle_advances = metrics_->Counter("triad_idle_advances_total",
                                      "Watermark advances by the wall clock (idle close)");
  s.journal_bytes = metrics_->Gauge("triad_journal_bytes", "Bytes in the spill journal");
  const TimeNs w = opts_.windows.window;
  if (opts_.replay_lookback <= 0) opts_.replay_lookback = 3 * w + opts_.traces.idle_timeout;
  if (opts_.idle_close.count() < 0)
    opts_.idle_close = std::chrono::milliseconds(2 * (w + opts_.windows.allowed_lateness) / kNsPerMs);
}

OnlinePipeline::~OnlinePipeline() { Shutdown(); }

Status OnlinePipeline::Start() {
  State& s = *st_;
  std::string v;
  if (store_->GetMeta(kCommittedEndKey, &v).ok()) s.committed_end = std::strtoll(v.c_str(), nullptr, 10);
  uint64_t replay_from = 0;
  if (!opts_.journal.dir.empty()) TRIAD_RETURN_IF_ERROR(LoadCheckpoint(&replay_from));
  if (s.drain) {
    // From the checkpoint.
  } else if (!opts_.drain_state_path.empty() && std::filesystem::exists(opts_.drain_state_path)) {
    TRIAD_RETURN_IF_ERROR(DrainParser::Load(opts_.drain_state_path, &s.drain));
    spdlog::info("loaded {} log templates from {}", s.drain->num_templates(),
                 opts_.drain_state_path);
  } else {
    s.drain = std::make_unique<DrainParser>();
  }
  s.assembler = std::make_unique<TraceAssembler>(opts_.traces,
                                                 [this](Trace&& t) { OnTrace(std::move(t)); });
  if (trace_stage_) trace_stage_->Start();  // before the replay, which completes traces
  s.windows = std::make_unique<StreamingWindows>(opts_.windows, [this](ClosedSlot&& slot) {
    State& s = *st_;
    if (journal_ && slot.end <= s.committed_at_start) {  // replay: written before
      s.skipped_slots->Add();
      s.notable.erase(slot.start);
      return;
    }
    OnSlot(std::move(slot));
  });
  if (!opts_.journal.dir.empty()) {
    TRIAD_RETURN_IF_ERROR(Journal::Open(opts_.journal, &journal_, &journal_stats_));
    journal_->SetNextSeqAtLeast(std::max(replay_from, s.drain_seq + 1));
    s.committed_at_start = s.committed_end;
    // Checkpoints never move replay_from back, even if nothing is replayed.
    s.last_seq = std::max<uint64_t>(replay_from, s.drain_seq + 1) - 1;
    TRIAD_RETURN_IF_ERROR(Replay(replay_from));
    Status st = Checkpoint();
    if (!st.ok()) spdlog::error("checkpoint after replay: {}", st.ToString());
  }
  s.last_record_wall = s.last_ckpt = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  started_ = true;
  worker_ = std::thread([this] { Work(); });
  return Status::OK();
}

OnlinePipeline::Admit OnlinePipeline::Submit(IngestBatch&& b) {
  std::string payload;
  if (journal_) EncodeBatch(b, INT64_MIN, &payload);  // outside the lock
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || !started_) return Admit::kStopping;
    size_t n = b.records();
    if (queue_.size() >= opts_.max_queue_batches ||
        (queued_records_ > 0 && queued_records_ + n > opts_.max_queue_records))
      return Admit::kQueueFull;
    if (journal_) {
      // Under mu_: journal order == queue order == processing order.
      Status err;
      Journal::Result r = journal_->Append(payload, &seq, &err);
      if (r == Journal::Result::kFull) {
        st_->journal_full->Add();
        return Admit::kQueueFull;
      }
      if (r != Journal::Result::kOk) {
        st_->journal_errors->Add();
        spdlog::error("journal: {}", err.ToString());
        return Admit::kStopping;
      }
    }
    queued_records_ += n;
    queue_.push_back(Queued{std::move(b), seq, INT64_MIN});
    metrics_->Gauge("triad_queue_batches", "")->Set(static_cast<double>(queue_.size()));
    metrics_->Gauge("triad_queue_records", "")->Set(static_cast<double>(queued_records_));
    cv_.notify_one();
  }
  if (journal_ && opts_.journal.fsync) {
    Status st = journal_->Sync(seq);  // group commit with concurrent requests
    if (!st.ok()) spdlog::error("{}", st.ToString());
  }
  return Admit::kAccepted;
}

void OnlinePipeline::Pause() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = true;
}

void OnlinePipeline::Resume() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = false;
  cv_.notify_one();
}

bool OnlinePipeline::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_cv_.wait_for(l, timeout, [&] { return queue_.empty() && !busy_; });
}

size_t OnlinePipeline::queue_batches() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

size_t OnlinePipeline::queue_records() const {
  std::lock_guard<std::mutex> l(mu_);
  return queued_records_;
}

bool OnlinePipeline::accepting() const {
  std::lock_guard<std::mutex> l(mu_);
  return started_ && !stopping_;
}

Status OnlinePipeline::last_store_error() const {
  std::lock_guard<std::mutex> l(mu_);
  return store_error_;
}

void OnlinePipeline::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (joined_) return;
    stopping_ = true;
    paused_ = false;
    cv_.notify_one();
    if (!started_) {
      joined_ = true;
      return;
    }
  }
  worker_.join();
  std::lock_guard<std::mutex> l(mu_);
  joined_ = true;
}

void OnlinePipeline::Work() {
  State& s = *st_;
  const bool idle_on = opts_.idle_close.count() > 0;
  using Clock = std::chrono::steady_clock;
  for (;;) {
    Queued q;
    bool checkpoint_due = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      for (;;) {
        if ((!queue_.empty() && !paused_) || stopping_) break;
        const auto now = Clock::now();
        auto deadline = Clock::time_point::max();
        if (journal_ && s.slots_since_ckpt > 0) {  // a pending checkpoint, due when idle too
          if (now - s.last_ckpt >= opts_.checkpoint_interval) {
            checkpoint_due = true;
            break;
          }
          deadline = s.last_ckpt + opts_.checkpoint_interval;
        }
        if (idle_on && s.open_state && s.wm_at_last_record != INT64_MIN && !paused_) {
          MaybeIdleAdvance(now);
          if (!queue_.empty()) continue;
          deadline = std::min(deadline, std::max(s.last_record_wall + opts_.idle_close,
                                                 s.next_idle_tick));
        }
        if (deadline == Clock::time_point::max()) cv_.wait(l);
        else cv_.wait_until(l, deadline);
      }
      if (!checkpoint_due) {
        if (queue_.empty()) break;  // stopping and drained
        q = std::move(queue_.front());
        queue_.pop_front();
        queued_records_ -= q.batch.records();
        metrics_->Gauge("triad_queue_batches", "")->Set(static_cast<double>(queue_.size()));
        metrics_->Gauge("triad_queue_records", "")->Set(static_cast<double>(queued_records_));
      }
      busy_ = true;
    }
    if (!checkpoint_due) {
      auto t0 = Clock::now();
      Run(q);
      auto t1 = Clock::now();
      if (q.advance_to == INT64_MIN)
        st_->batch_latency->Observe(std::chrono::duration<double>(t1 - t0).count());
      checkpoint_due =
          journal_ && s.slots_since_ckpt > 0 && t1 - s.last_ckpt >= opts_.checkpoint_interval;
    }
    if (checkpoint_due) {
      Status st = Checkpoint();
      if (!st.ok()) {
        spdlog::error("checkpoint: {}", st.ToString());
        s.last_ckpt = Clock::now();  // retry after an interval, not in a loop
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  if (journal_) {
    // Stopping with a journal: open windows and traces stay in the journal
    // and are rebuilt by the next Start(); the checkpoint records the rest.
    Status st = Checkpoint();
    if (!st.ok()) {
      spdlog::error("checkpoint: {}", st.ToString());
      std::lock_guard<std::mutex> l(mu_);
      store_error_ = st;
    }
  } else {
    // Stopping: close what is open so accepted data reaches the store.
    s.assembler->Flush();
    s.windows->Flush();
    if (!s.dirty_templates.empty()) {
      Status st = store_->InTransaction([this] { return WriteTemplates(); });
      if (!st.ok()) {
        spdlog::error("store: {}", st.ToString());
        std::lock_guard<std::mutex> l(mu_);
        store_error_ = st;
      }
    }
  }
  if (trace_stage_) trace_stage_->Shutdown();  // every completed trace is in
  if (!opts_.drain_state_path.empty()) {
    Status st = s.drain->Save(opts_.drain_state_path);
    if (!st.ok()) spdlog::error("saving log parser state: {}", st.ToString());
  }
  std::lock_guard<std::mutex> l(mu_);
  busy_ = false;
  idle_cv_.notify_all();
}

void OnlinePipeline::Run(Queued& q) {
  State& s = *st_;
  TimeNs max_time = INT64_MIN;
  if (q.advance_to != INT64_MIN) {
    max_time = q.advance_to;
    s.windows->AdvanceTo(q.advance_to);
    if (s.windows->watermark() != INT64_MIN) s.assembler->AdvanceTo(s.windows->watermark());
    s.open_slots->Set(static_cast<double>(s.windows->open_slots()));
    s.open_traces->Set(static_cast<double>(s.assembler->open_traces()));
    if (s.windows->watermark() != INT64_MIN)
      s.watermark->Set(static_cast<double>(s.windows->watermark()) / kNsPerSec);
  } else {
    max_time = MaxEventTime(q.batch);
    const bool has_records = q.batch.records() > 0;
    s.learn_logs = q.seq == 0 || q.seq > s.drain_seq;
    Process(q.batch);
    s.learn_logs = true;
    if (has_records) {
      s.last_record_wall = std::chrono::steady_clock::now();
      s.wm_at_last_record = s.windows->watermark();
    }
  }
  if (q.seq > 0) {
    s.retained.emplace_back(q.seq, max_time);
    s.last_seq = q.seq;
  }
  s.open_state = s.windows->open_slots() > 0 || s.assembler->open_traces() > 0;
  if (trace_stage_ && s.windows->watermark() != INT64_MIN)
    trace_stage_->AdvanceTo(s.windows->watermark());
}

void OnlinePipeline::MaybeIdleAdvance(std::chrono::steady_clock::time_point now) {
  State& s = *st_;
  if (s.wm_at_last_record == INT64_MIN || now < s.last_record_wall + opts_.idle_close ||
      now < s.next_idle_tick)
    return;
  // Ticks of a tenth of the idle time (50 ms .. 5 s).
  s.next_idle_tick = now + std::clamp<std::chrono::milliseconds>(
                               opts_.idle_close / 10, std::chrono::milliseconds(50),
                               std::chrono::milliseconds(5000));
  const TimeNs t =
      s.wm_at_last_record +
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.last_record_wall).count();
  if (t <= s.windows->watermark()) return;
  Queued q;
  q.advance_to = t;
  if (journal_) {
    std::string payload;
    EncodeBatch(q.batch, t, &payload);
    Status err;
    if (journal_->Append(payload, &q.seq, &err) != Journal::Result::kOk) return;  // next tick
  }
  s.idle_advances->Add();
  queue_.push_back(std::move(q));
}

Status OnlinePipeline::LoadCheckpoint(uint64_t* replay_from) {
  State& s = *st_;
  std::string v;
  Status st = store_->GetMeta(kCheckpointKey, &v);
  if (st.code() == Status::Code::kNotFound) return Status::OK();
  TRIAD_RETURN_IF_ERROR(st);
  json j = json::parse(v, nullptr, false);
  if (!j.is_object() || !j["replay_from"].is_number_unsigned() ||
      !j["drain_seq"].is_number_unsigned() || !j["templates"].is_array())
    return Status::Corruption("store: malformed pipeline checkpoint");
  *replay_from = j["replay_from"].get<uint64_t>();
  s.drain_seq = j["drain_seq"].get<uint64_t>();
  for (const json& t : j["templates"]) {
    if (!t.is_array() || t.size() != 4 || !t[0].is_number_unsigned() ||
        !t[1].is_number_unsigned() || !t[2].is_number_integer() || !t[3].is_number_integer())
      return Status::Corruption("store: malformed template in the pipeline checkpoint");
    auto& ti = s.templates[t[0].get<uint32_t>()];
    ti.count = t[1].get<uint64_t>();
    ti.first = t[2].get<TimeNs>();
    ti.last = t[3].get<TimeNs>();
  }
  TRIAD_RETURN_IF_ERROR(store_->GetMeta(kDrainKey, &v));
  const std::string tmp = (std::filesystem::path(opts_.journal.dir) / "drain.load.tmp").string();
  std::error_code ec;
  std::filesystem::create_directories(opts_.journal.dir, ec);
  TRIAD_RETURN_IF_ERROR(DrainFromString(v, tmp, &s.drain));
  spdlog::info("checkpoint: {} log templates, replay from journal seq {}, committed up to {}",
               s.drain->num_templates(), *replay_from, s.committed_end);
  return Status::OK();
}

Status OnlinePipeline::Replay(uint64_t from) {
  State& s = *st_;
  const uint64_t oldest = journal_->oldest_seq();
  if (from > 0 && from < oldest)
    spdlog::warn("journal {} starts at seq {} but the checkpoint needs {}: replaying what is there",
                 opts_.journal.dir, oldest, from);
  Status st = journal_->Replay(from, [&](uint64_t seq, std::string_view payload) {
    Queued q;
    if (!DecodeBatch(payload, &q.batch, &q.advance_to)) {
      journal_stats_.Skip(opts_.journal.dir, seq, "undecodable batch in the journal");
      return;
    }
    q.seq = seq;
    ++replayed_batches_;
    replayed_records_ += q.batch.records();
    s.replayed->Add(q.batch.records());
    Run(q);
  });
  if (replayed_batches_ > 0)
    spdlog::info("journal: replayed {} records in {} batches from {}", replayed_records_,
                 replayed_batches_, opts_.journal.dir);
  return st;
}

Status OnlinePipeline::Checkpoint() {
  State& s = *st_;
  const TimeNs thr = s.committed_end == INT64_MIN ? INT64_MIN
                                                  : s.committed_end - opts_.replay_lookback;
  while (!s.retained.empty() && s.retained.front().second < thr) s.retained.pop_front();
  const uint64_t from = s.retained.empty() ? s.last_seq + 1 : s.retained.front().first;
  const uint64_t drain_seq = std::max(s.drain_seq, s.last_seq);
  std::string drain;
  TRIAD_RETURN_IF_ERROR(DrainToString(
      *s.drain, (std::filesystem::path(opts_.journal.dir) / "drain.save.tmp").string(), &drain));
  json tpl = json::array();
  for (const auto& [id, ti] : s.templates) tpl.push_back({id, ti.count, ti.first, ti.last});
  json j = {{"version", 1},
            {"replay_from", from},
            {"drain_seq", drain_seq},
            {"committed_end", s.committed_end},
            {"templates", std::move(tpl)}};
  TRIAD_RETURN_IF_ERROR(store_->InTransaction([&]() -> Status {
    TRIAD_RETURN_IF_ERROR(store_->PutMeta(kCheckpointKey, j.dump()));
    TRIAD_RETURN_IF_ERROR(store_->PutMeta(kDrainKey, drain));
    return WriteTemplates();
  }));
  s.drain_seq = drain_seq;
  s.slots_since_ckpt = 0;
  s.last_ckpt = std::chrono::steady_clock::now();
  journal_->ReleaseBefore(from);
  s.checkpoints->Add();
  s.journal_bytes->Set(static_cast<double>(journal_->bytes()));
  return Status::OK();
}

void OnlinePipeline::Process(IngestBatch& b) {
  State& s = *st_;
  const size_t max_ev = opts_.evidence_spans;
  for (Span& span : b.spans) {
    if (max_ev > 0) {
      TimeNs slot = WindowStart(span.start, opts_.windows.window, 0);
      auto& v = s.notable[slot][span.service];
      const double ms = static_cast<double>(span.end - span.start) / kNsPerMs;
      const bool err = span.is_error();
      auto brief = [&] {
        return SpanBrief{span.trace_id, span.span_id, span.name, span.start, ms, err,
                         span.http_status_code, span.status_message.substr(0, 200)};
      };
      if (v.size() < max_ev) {
        v.push_back(brief());
      } else {
        auto worst = std::max_element(v.begin(), v.end(), [](const SpanBrief& a, const SpanBrief& c) {
          return a.Before(c);
        });
        SpanBrief probe;  // only the ranking fields: no string copies for the common case
        probe.ms = ms;
        probe.error = err;
        if (probe.Before(*worst)) *worst = brief();
      }
    }
    s.assembler->Add(EvidenceCopy(span));
    s.windows->OnSpan(std::move(span));
  }
  for (LogRecord& log : b.logs) {
    if (s.learn_logs) {  // false: a replayed batch the checkpointed parser already holds
      DrainMatch m = s.drain->Add(log.body);
      auto& ti = s.templates[m.template_id];
      TimeNs t = log.time != 0 ? log.time : log.observed_time;
      if (ti.count == 0) ti.first = t;
      ti.last = std::max(ti.last, t);
      ++ti.count;
      s.dirty_templates.insert(m.template_id);  // count, last seen, maybe generalised text
    }
    s.windows->OnLog(std::move(log));
  }
  for (MetricSample& m : b.metrics) s.windows->OnMetric(std::move(m));
  s.processed[static_cast<int>(b.signal)]->Add(b.records());
  if (s.windows->watermark() != INT64_MIN) s.assembler->AdvanceTo(s.windows->watermark());
  // Notable spans of slots that closed long ago (late spans) would linger.
  while (!s.notable.empty() && s.windows->watermark() != INT64_MIN &&
         s.notable.begin()->first + 4 * opts_.windows.window + opts_.windows.allowed_lateness <
             s.windows->watermark())
    s.notable.erase(s.notable.begin());
  s.late->Add(s.windows->late() - s.late_reported);
  s.late_reported = s.windows->late();
  s.implausible->Add(s.windows->implausible() - s.implausible_reported);
  s.implausible_reported = s.windows->implausible();
  s.open_slots->Set(static_cast<double>(s.windows->open_slots()));
  s.open_traces->Set(static_cast<double>(s.assembler->open_traces()));
  if (s.windows->watermark() != INT64_MIN)
    s.watermark->Set(static_cast<double>(s.windows->watermark()) / kNsPerSec);
  s.templates_gauge->Set(static_cast<double>(s.drain->num_templates()));
}

void OnlinePipeline::OnTrace(Trace&& t) {
  State& s = *st_;
  s.traces_completed->Add();
  if (trace_stage_) trace_stage_->Submit(t);
  if (opts_.evidence_traces == 0) return;
  bool error = std::any_of(t.spans.begin(), t.spans.end(), [](const Span& x) { return x.is_error(); });
  if (!error || s.error_traces.count(t.trace_id)) return;
  s.error_traces.emplace(t.trace_id, TraceJson(t));
  s.error_trace_fifo.push_back(t.trace_id);
  while (s.error_trace_fifo.size() > opts_.evidence_traces) {
    s.error_traces.erase(s.error_trace_fifo.front());
    s.error_trace_fifo.pop_front();
  }
}

Status OnlinePipeline::WriteTemplates() {
  State& s = *st_;
  for (uint32_t id : s.dirty_templates) {
    if (id == 0 || id > s.drain->num_templates()) continue;
    const auto& ti = s.templates[id];
    TRIAD_RETURN_IF_ERROR(
        store_->UpsertTemplate({id, s.drain->TemplateText(id), ti.count, ti.first, ti.last}));
  }
  s.dirty_templates.clear();
  return Status::OK();
}

void OnlinePipeline::OnSlot(ClosedSlot&& slot) {
  State& s = *st_;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<WindowScore> scores;
  if (detector_ != nullptr && slot.scoreable)
    scores = detector_->ScoreRange(slot.windows, slot.start, slot.end);
  auto notable_it = s.notable.find(slot.start);
  const TimeNs now = WallNow();
  std::vector<AnomalyRow> added;  // committed with the transaction
  Status st = store_->InTransaction([&]() -> Status {
    added.clear();
    for (const WindowFeatures& w : slot.windows)
      for (const auto& [callee, n] : w.callees)
        TRIAD_RETURN_IF_ERROR(store_->AddEdge(w.service, callee, n, w.start));
    const double th = detector_ != nullptr ? detector_->threshold() : 0;
    for (const WindowScore& sc : scores) {
      TRIAD_RETURN_IF_ERROR(store_->AddScore({sc.service, sc.start, sc.end, sc.score, sc.anomaly}, th));
      if (!sc.anomaly) continue;
      json ev;
      json contrib = json::array();
      for (const Contribution& c : sc.top)
        contrib.push_back({{"feature", c.feature},
                           {"observed", Num(c.observed)},
                           {"expected", Num(c.expected)},
                           {"z", Num(c.z)},
                           {"detail", c.detail}});
      ev["contributions"] = std::move(contrib);
      ev["slow_ops"] = sc.slow_ops;
      for (const WindowFeatures& w : slot.windows) {
        if (w.service != sc.service) continue;
        json feats = json::object();
        for (const auto& [f, v] : w.features)
          if (f.rfind("op:", 0) != 0) feats[f] = Num(v);
        ev["features"] = std::move(feats);
        // Log templates of the window, rarest first (new ones are the usual suspects).
        std::vector<std::pair<uint64_t, std::string>> tpl;
        for (const auto& [k, n] : w.templates) tpl.emplace_back(n, k);
        std::sort(tpl.begin(), tpl.end());
        json logs = json::array();
        for (size_t i = 0; i < tpl.size() && i < 10; ++i) {
          auto ex = w.template_examples.find(tpl[i].second);
          logs.push_back({{"template", tpl[i].second},
                          {"count", tpl[i].first},
                          {"example", ex != w.template_examples.end() ? ex->second : ""}});
        }
        ev["log_templates"] = std::move(logs);
        ev["callees"] = w.callees;
      }
      json spans = json::array(), traces = json::object();
      if (notable_it != s.notable.end()) {
        auto v = notable_it->second.find(sc.service);
        if (v != notable_it->second.end()) {
          std::vector<SpanBrief> sorted = v->second;
          std::sort(sorted.begin(), sorted.end(),
                    [](const SpanBrief& a, const SpanBrief& b) { return a.Before(b); });
          for (const SpanBrief& b : sorted) {
            json j = {{"trace_id", b.trace_id}, {"span_id", b.span_id}, {"name", b.name},
                      {"start_ns", b.start},    {"duration_ms", b.ms},  {"error", b.error}};
            if (b.http_status != 0) j["http_status"] = b.http_status;
            if (!b.status_message.empty()) j["status_message"] = b.status_message;
            spans.push_back(std::move(j));
            auto tr = s.error_traces.find(b.trace_id);
            if (tr != s.error_traces.end()) traces[b.trace_id] = tr->second;
          }
        }
      }
      ev["spans"] = std::move(spans);
      ev["traces"] = std::move(traces);
      AnomalyRow row;
      row.service = sc.service;
      row.start = sc.start;
      row.end = sc.end;
      row.score = sc.score;
      row.threshold = th;
      row.model = opts_.model_name;
      row.summary = DescribeEvidence(sc);
      row.evidence_json = ev.dump(-1, ' ', false, json::error_handler_t::replace);
      row.detected = now;
      TRIAD_RETURN_IF_ERROR(store_->AddAnomaly(&row));
      s.anomalies->Add();
      if (anomaly_hook_) {
        row.evidence_json.clear();  // the hook gets the row without its (large) evidence
        added.push_back(std::move(row));
      }
    }
    TRIAD_RETURN_IF_ERROR(WriteTemplates());
    if (opts_.retention > 0 && slot.start - opts_.retention > 0)
      TRIAD_RETURN_IF_ERROR(store_->DeleteOlderThan(slot.start - opts_.retention, nullptr));
    // Replay after a crash skips this slot (same transaction as its scores).
    return store_->PutMeta(kCommittedEndKey, std::to_string(slot.end));
  });
  if (st.ok()) {
    s.committed_end = slot.end;
    ++s.slots_since_ckpt;
  }
  if (!st.ok()) {
    s.store_errors->Add();
    spdlog::error("store: {}", st.ToString());
    std::lock_guard<std::mutex> l(mu_);
    store_error_ = st;
  }
  s.windows_scored->Add(scores.size());
  if (st.ok() && anomaly_hook_)
    for (const AnomalyRow& row : added) anomaly_hook_(row);
  if (score_hook_)
    for (const WindowScore& sc : scores) score_hook_(sc);
  if (notable_it != s.notable.end()) s.notable.erase(notable_it);
  if (detector_ != nullptr && slot.scoreable)
    s.scoring_latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace triad
