#include "serve/online_pipeline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "parse/drain.h"

namespace triad {
namespace {

using json = nlohmann::json;

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

json SpanJson(const Span& s) {
  json j = {{"trace_id", s.trace_id},
            {"span_id", s.span_id},
            {"parent_span_id", s.parent_span_id},
            {"service", s.service},
            {"name", s.name},
            {"kind", SpanKindName(s.kind)},
            {"start_ns", s.start},
            {"duration_ms", static_cast<double>(s.end - s.start) / kNsPerMs},
            {"error", s.is_error()}};
  if (s.http_status_code != 0) j["http_status"] = s.http_status_code;
  if (!s.status_message.empty()) j["status_message"] = s.status_message.substr(0, 300);
  return j;
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
}

OnlinePipeline::~OnlinePipeline() { Shutdown(); }

Status OnlinePipeline::Start() {
  State& s = *st_;
  if (!opts_.drain_state_path.empty() && std::filesystem::exists(opts_.drain_state_path)) {
    TRIAD_RETURN_IF_ERROR(DrainParser::Load(opts_.drain_state_path, &s.drain));
    spdlog::info("loaded {} log templates from {}", s.drain->num_templates(),
                 opts_.drain_state_path);
  } else {
    s.drain = std::make_unique<DrainParser>();
  }
  s.assembler = std::make_unique<TraceAssembler>(opts_.traces,
                                                 [this](Trace&& t) { OnTrace(std::move(t)); });
  s.windows = std::make_unique<StreamingWindows>(
      opts_.windows, [this](ClosedSlot&& slot) { OnSlot(std::move(slot)); });
  std::lock_guard<std::mutex> l(mu_);
  started_ = true;
  worker_ = std::thread([this] { Work(); });
  return Status::OK();
}

OnlinePipeline::Admit OnlinePipeline::Submit(IngestBatch&& b) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_ || !started_) return Admit::kStopping;
  size_t n = b.records();
  if (queue_.size() >= opts_.max_queue_batches ||
      (queued_records_ > 0 && queued_records_ + n > opts_.max_queue_records))
    return Admit::kQueueFull;
  queued_records_ += n;
  queue_.push_back(std::move(b));
  metrics_->Gauge("triad_queue_batches", "")->Set(static_cast<double>(queue_.size()));
  metrics_->Gauge("triad_queue_records", "")->Set(static_cast<double>(queued_records_));
  cv_.notify_one();
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
  for (;;) {
    IngestBatch b;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return (!queue_.empty() && !paused_) || stopping_; });
      if (queue_.empty()) break;  // stopping and drained
      b = std::move(queue_.front());
      queue_.pop_front();
      queued_records_ -= b.records();
      busy_ = true;
      metrics_->Gauge("triad_queue_batches", "")->Set(static_cast<double>(queue_.size()));
      metrics_->Gauge("triad_queue_records", "")->Set(static_cast<double>(queued_records_));
    }
    auto t0 = std::chrono::steady_clock::now();
    Process(b);
    st_->batch_latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::lock_guard<std::mutex> l(mu_);
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  // Stopping: close what is open so accepted data reaches the store.
  State& s = *st_;
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
  if (!opts_.drain_state_path.empty()) {
    Status st = s.drain->Save(opts_.drain_state_path);
    if (!st.ok()) spdlog::error("saving log parser state: {}", st.ToString());
  }
  std::lock_guard<std::mutex> l(mu_);
  busy_ = false;
  idle_cv_.notify_all();
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
    s.assembler->Add(Span(span));
    s.windows->OnSpan(std::move(span));
  }
  for (LogRecord& log : b.logs) {
    DrainMatch m = s.drain->Add(log.body);
    auto& ti = s.templates[m.template_id];
    TimeNs t = log.time != 0 ? log.time : log.observed_time;
    if (ti.count == 0) ti.first = t;
    ti.last = std::max(ti.last, t);
    ++ti.count;
    s.dirty_templates.insert(m.template_id);  // count, last seen, maybe generalised text
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
  if (opts_.evidence_traces == 0) return;
  bool error = std::any_of(t.spans.begin(), t.spans.end(), [](const Span& x) { return x.is_error(); });
  if (!error || s.error_traces.count(t.trace_id)) return;
  json spans = json::array();
  for (size_t i = 0; i < t.spans.size() && i < 200; ++i) {
    json j = SpanJson(t.spans[i]);
    j["parent"] = t.parent[i];
    spans.push_back(std::move(j));
  }
  s.error_traces.emplace(t.trace_id, std::move(spans));
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
    return Status::OK();
  });
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
