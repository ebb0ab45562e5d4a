#include "detect/pipeline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "detect/output.h"

namespace triad {
namespace {

// Forwards records to another sink under a mutex.
class LockedSink : public TelemetrySink {
 public:
  LockedSink(TelemetrySink* target, std::mutex* mu) : target_(target), mu_(mu) {}
  void OnSpan(Span&& s) override {
    std::lock_guard<std::mutex> l(*mu_);
    target_->OnSpan(std::move(s));
  }
  void OnLog(LogRecord&& r) override {
    std::lock_guard<std::mutex> l(*mu_);
    target_->OnLog(std::move(r));
  }
  void OnMetric(MetricSample&& m) override {
    std::lock_guard<std::mutex> l(*mu_);
    target_->OnMetric(std::move(m));
  }

 private:
  TelemetrySink* target_;
  std::mutex* mu_;
};

}  // namespace

bool ParseDuration(std::string_view text, TimeNs* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  double v = 0;
  std::string num(text.substr(0, i));
  char* end = nullptr;
  v = std::strtod(num.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(v)) return false;
  std::string_view unit = text.substr(i);
  double mult;
  if (unit.empty() || unit == "s") {
    mult = kNsPerSec;
  } else if (unit == "ms") {
    mult = kNsPerMs;
  } else if (unit == "us") {
    mult = kNsPerUs;
  } else if (unit == "ns") {
    mult = 1;
  } else if (unit == "m" || unit == "min") {
    mult = 60.0 * kNsPerSec;
  } else if (unit == "h") {
    mult = 3600.0 * kNsPerSec;
  } else {
    return false;
  }
  double ns = v * mult;
  if (!(ns >= 1) || ns > 9e18) return false;
  *out = static_cast<TimeNs>(std::llround(ns));
  return true;
}

Status AggregateInputs(const std::vector<std::string>& paths, const ReadOptions& opts,
                       WindowAggregator* agg, ReadStats* total, int threads) {
  std::mutex mu;
  std::vector<ReadStats> stats(paths.size());
  std::vector<Status> status(paths.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    LockedSink sink(agg, &mu);
    for (size_t i = next++; i < paths.size(); i = next++) {
      auto t0 = std::chrono::steady_clock::now();
      InputFormat used = InputFormat::kAuto;
      status[i] = ReadTelemetry(paths[i], opts, sink, &stats[i], &used);
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (status[i].ok())
        spdlog::info("read {} ({}): {} in {:.1f} s", paths[i], InputFormatName(used),
                     stats[i].Summary(), secs);
    }
  };
  int n = std::max(1, std::min<int>(threads, static_cast<int>(paths.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < paths.size(); ++i) {
    if (total != nullptr) total->Merge(stats[i]);
    if (!status[i].ok()) return status[i];
  }
  return Status::OK();
}

const std::vector<std::string>& BaselineEvidenceColumns() {
  static const std::vector<std::string> cols = {"threshold", "top_features", "evidence"};
  return cols;
}

Status WriteBaselineScores(const std::string& path, const std::vector<WindowScore>& scores,
                           double threshold) {
  std::unique_ptr<ScoreCsvWriter> w;
  TRIAD_RETURN_IF_ERROR(ScoreCsvWriter::Open(path, BaselineEvidenceColumns(), &w));
  std::string th = fmt::format("{:.4f}", threshold);
  for (const auto& s : scores) {
    ScoreRow r{s.start, s.end, s.service, s.score, s.anomaly,
               {th, TopFeatureNames(s), DescribeEvidence(s)}};
    TRIAD_RETURN_IF_ERROR(w->Write(r));
  }
  return w->Close();
}

std::vector<Incident> GroupIncidents(const std::vector<WindowScore>& scores) {
  std::map<std::string, std::vector<const WindowScore*>> by_service;
  for (const auto& s : scores)
    if (s.anomaly) by_service[s.service].push_back(&s);
  std::vector<Incident> out;
  for (auto& [svc, v] : by_service) {
    std::sort(v.begin(), v.end(),
              [](const WindowScore* a, const WindowScore* b) { return a->start < b->start; });
    Incident cur;
    for (const WindowScore* s : v) {
      if (cur.windows > 0 && s->start <= cur.end) {
        cur.end = std::max(cur.end, s->end);
        ++cur.windows;
        if (s->score > cur.max_score) {
          cur.max_score = s->score;
          cur.evidence = DescribeEvidence(*s);
        }
        continue;
      }
      if (cur.windows > 0) out.push_back(cur);
      cur = Incident{svc, s->start, s->end, 1, s->score, DescribeEvidence(*s)};
    }
    if (cur.windows > 0) out.push_back(cur);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Incident& a, const Incident& b) { return a.max_score > b.max_score; });
  return out;
}

Status ReadWindows(const std::vector<std::string>& paths, const ReadOptions& opts, TimeNs window,
                   std::vector<WindowFeatures>* out, ReadStats* total) {
  AlignOptions ao;
  ao.window = window;
  WindowAggregator agg(ao);
  TRIAD_RETURN_IF_ERROR(AggregateInputs(paths, opts, &agg, total));
  std::vector<WindowFeatures> windows = agg.Finish();
  size_t all_windows = windows.size();
  *out = DropPartialEdgeWindows(std::move(windows), agg.min_time(), agg.max_time(), window / 10);
  if (out->size() < all_windows)
    spdlog::info("left out {} partial windows at the edges of the data", all_windows - out->size());
  if (agg.stats().skipped > 0)
    spdlog::warn("alignment skipped {} records (implausible or far-off timestamps)",
                 agg.stats().skipped);
  return Status::OK();
}

}  // namespace triad
