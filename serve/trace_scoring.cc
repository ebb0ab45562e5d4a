#include "serve/trace_scoring.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <nlohmann/json.hpp>
#include <set>

#include "serve/evidence_json.h"

namespace triad {

using json = nlohmann::json;

struct TraceScoringStage::Bucket {
  uint64_t scored = 0;      // traces through the service that started in the bucket
  uint64_t anomalous = 0;   // of them, anomalous and blamed on the service
  uint64_t structural = 0;  // anomalous by label (incl. "both")
  uint64_t response_time = 0;
  struct Worst {
    double score = 0;
    std::string trace_id, type;
    json trace, offending, findings;
  };
  std::vector<Worst> worst;  // by score, descending; <= evidence_traces
};

namespace {

constexpr const char* kWrittenThroughKey = "trace_scoring.written_through";

TimeNs BucketStart(TimeNs t, TimeNs window) {
  TimeNs q = t / window;
  if (t % window != 0 && t < 0) --q;
  return q * window;
}

}  // namespace

TraceScoringStage::TraceScoringStage(TraceScoringOptions opts, const TraceScorer* scorer,
                                     Store* store, PromRegistry* metrics)
    : opts_(opts), scorer_(scorer), store_(store), metrics_(metrics) {
  assert(scorer_ != nullptr && store_ != nullptr && metrics_ != nullptr);
  assert(opts_.window > 0 && opts_.max_queue > 0);
}

TraceScoringStage::~TraceScoringStage() { Shutdown(); }

void TraceScoringStage::Start() {
  std::string v;
  if (store_->GetMeta(kWrittenThroughKey, &v).ok())
    flushed_through_ = written_before_start_ = std::strtoll(v.c_str(), nullptr, 10);
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] { Work(); });
}

void TraceScoringStage::Submit(Trace t) {
  std::unique_lock<std::mutex> l(mu_);
  space_cv_.wait(l, [&] { return queue_.size() < opts_.max_queue || stopping_; });
  if (stopping_) return;
  queue_.push_back(std::move(t));
  metrics_->Gauge("triad_trace_queue", "Completed traces waiting for the trace model")
      ->Set(static_cast<double>(queue_.size()));
  cv_.notify_one();
}

void TraceScoringStage::AdvanceTo(TimeNs watermark) {
  std::lock_guard<std::mutex> l(mu_);
  if (watermark > watermark_) {
    watermark_ = watermark;
    cv_.notify_one();
  }
}

bool TraceScoringStage::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_cv_.wait_for(
      l, timeout, [&] { return queue_.empty() && !busy_ && flushed_mark_ == watermark_; });
}

uint64_t TraceScoringStage::anomalies_written() const {
  std::lock_guard<std::mutex> l(mu_);
  return written_;
}

Status TraceScoringStage::last_error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

void TraceScoringStage::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (joined_) return;
    stopping_ = true;
    cv_.notify_one();
    space_cv_.notify_all();
    if (!started_) {
      joined_ = true;
      return;
    }
  }
  worker_.join();
  std::lock_guard<std::mutex> l(mu_);
  joined_ = true;
}

void TraceScoringStage::Work() {
  PromCounter* scored = metrics_->Counter("triad_traces_scored_total",
                                          "Completed traces scored by the trace model");
  PromCounter* anomalous = metrics_->Counter(
      "triad_trace_anomalies_total", "Traces the trace model judged anomalous");
  PromCounter* late = metrics_->Counter(
      "triad_trace_late_total", "Scored traces whose window had already been written");
  PromCounter* replayed = metrics_->Counter(
      "triad_trace_replayed_total",
      "Replayed traces of windows written before a restart (not written again)");
  PromHistogram* latency =
      metrics_->Histogram("triad_trace_scoring_latency_seconds",
                          "Trace model inference per completed trace", LatencyBuckets());
  PromGauge* queue_gauge =
      metrics_->Gauge("triad_trace_queue", "Completed traces waiting for the trace model");
  for (;;) {
    Trace t;
    TimeNs mark;
    bool have = false, stop = false, flush = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !queue_.empty() || stopping_ || watermark_ != flushed_mark_; });
      mark = watermark_;
      if (!queue_.empty()) {
        t = std::move(queue_.front());
        queue_.pop_front();
        queue_gauge->Set(static_cast<double>(queue_.size()));
        have = true;
        busy_ = true;
        space_cv_.notify_one();
      } else {
        stop = stopping_;
      }
      flush = mark != flushed_mark_;
      if (flush) busy_ = true;
    }
    if (have && !t.spans.empty()) {
      auto t0 = std::chrono::steady_clock::now();
      TraceAssessment a;
      scorer_->Score(t, &a);
      latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      scored->Add();
      const TimeNs start = BucketStart(t.start(), opts_.window);
      if (start + opts_.window <= written_before_start_) {
        replayed->Add();  // written by the process before a restart
      } else {
        if (start + opts_.window <= flushed_through_) late->Add();
        if (a.anomaly) anomalous->Add();
        Accumulate(t, a, start);
      }
    }
    if (stop) break;
    if (flush && mark != INT64_MIN) Flush(mark - opts_.flush_delay, false);
    std::lock_guard<std::mutex> l(mu_);
    if (flush) flushed_mark_ = mark;
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  TimeNs last_mark;
  {
    std::lock_guard<std::mutex> l(mu_);
    last_mark = watermark_;
  }
  if (opts_.flush_open_at_shutdown) {
    Flush(INT64_MAX, true);
  } else if (last_mark != INT64_MIN) {
    Flush(last_mark - opts_.flush_delay, false);  // open buckets come back in the replay
  }
  std::lock_guard<std::mutex> l(mu_);
  flushed_mark_ = watermark_;
  busy_ = false;
  idle_cv_.notify_all();
}

void TraceScoringStage::Accumulate(const Trace& t, const TraceAssessment& a, TimeNs start) {
  std::set<std::string> services;
  for (const Span& s : t.spans) services.insert(s.service);
  for (const std::string& svc : services) {
    auto& b = buckets_[{start, svc}];
    if (!b) b = std::make_unique<Bucket>();
    ++b->scored;
  }
  if (a.anomaly && a.blamed >= 0 && static_cast<size_t>(a.blamed) < t.spans.size()) {
    auto& b = buckets_[{start, t.spans[a.blamed].service}];
    if (!b) b = std::make_unique<Bucket>();
    ++b->anomalous;
    if (a.type == "structural" || a.type == "both") ++b->structural;
    if (a.type == "response_time" || a.type == "both") ++b->response_time;
    if (b->worst.size() < opts_.evidence_traces || a.score > b->worst.back().score) {
      Bucket::Worst w;
      w.score = a.score;
      w.trace_id = t.trace_id;
      w.type = a.type;
      w.trace = TraceJson(t);
      w.offending = json::array();
      for (int32_t i : a.spans)
        if (i >= 0 && static_cast<size_t>(i) < t.spans.size())
          w.offending.push_back(SpanJson(t.spans[i]));
      w.findings = json::parse(a.findings_json.empty() ? "[]" : a.findings_json, nullptr,
                               /*allow_exceptions=*/false);
      if (w.findings.is_discarded()) w.findings = json::array();
      auto pos = std::find_if(b->worst.begin(), b->worst.end(),
                              [&](const Bucket::Worst& x) { return x.score < w.score; });
      b->worst.insert(pos, std::move(w));
      if (b->worst.size() > opts_.evidence_traces) b->worst.pop_back();
    }
  }
}

void TraceScoringStage::Flush(TimeNs up_to, bool all) {
  std::vector<AnomalyRow> rows;
  const TimeNs through_before = flushed_through_;
  auto it = buckets_.begin();
  TimeNs now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  while (it != buckets_.end()) {
    const TimeNs start = it->first.first;
    if (!all && start + opts_.window > up_to) break;  // map is ordered by start
    const std::string& svc = it->first.second;
    const Bucket& b = *it->second;
    if (b.anomalous > 0) {
      AnomalyRow row;
      row.service = svc;
      row.start = start;
      row.end = start + opts_.window;
      row.score = b.worst.empty() ? 0 : b.worst.front().score;
      row.threshold = 1.0;
      row.model = scorer_->name();
      std::string kinds = b.structural && b.response_time ? "call structure and response time"
                          : b.structural                  ? "call structure"
                                                          : "response time";
      row.summary = fmt::format("{} of {} traces through {} anomalous ({}); worst trace {}",
                                b.anomalous, b.scored, svc, kinds,
                                b.worst.empty() ? "" : b.worst.front().trace_id);
      json ev = {{"kind", "trace"},
                 {"model", scorer_->name()},
                 {"scored_traces", b.scored},
                 {"anomalous_traces", b.anomalous},
                 {"structural", b.structural},
                 {"response_time", b.response_time}};
      json spans = json::array(), traces = json::object(), findings = json::object();
      for (const Bucket::Worst& w : b.worst) {
        for (const json& s : w.offending) spans.push_back(s);
        traces[w.trace_id] = w.trace;
        findings[w.trace_id] = {{"score", w.score}, {"type", w.type}, {"events", w.findings}};
      }
      ev["spans"] = std::move(spans);
      ev["traces"] = std::move(traces);
      ev["trace_findings"] = std::move(findings);
      row.evidence_json = ev.dump(-1, ' ', false, json::error_handler_t::replace);
      row.detected = now;
      rows.push_back(std::move(row));
    }
    flushed_through_ = std::max(flushed_through_, start + opts_.window);
    it = buckets_.erase(it);
  }
  if (rows.empty() && flushed_through_ == through_before) return;
  Status st = store_->InTransaction([&] {
    for (AnomalyRow& r : rows) TRIAD_RETURN_IF_ERROR(store_->AddAnomaly(&r));
    return store_->PutMeta(kWrittenThroughKey, std::to_string(flushed_through_));
  });
  if (!st.ok()) {
    spdlog::error("store (trace anomalies): {}", st.ToString());
    metrics_->Counter("triad_store_errors_total", "Failed store transactions")->Add();
    std::lock_guard<std::mutex> l(mu_);
    error_ = st;
    return;
  }
  if (rows.empty()) return;
  metrics_->Counter("triad_anomalies_total", "Anomalies written to the store")->Add(rows.size());
  {
    std::lock_guard<std::mutex> l(mu_);
    written_ += rows.size();
  }
  if (hook_)
    for (AnomalyRow& r : rows) {
      r.evidence_json.clear();
      hook_(r);
    }
}

}  // namespace triad
