// Evaluation of the log + metric fusion model (models/fusion.h) and its
// ablations at window level (issue 6):
//   * the built-in simulator: fault-free prefix = training, faults after it;
//     system-scope windows of 60 s every 15 s (overlapping), labels from the
//     simulator's ground truth;
//   * Nezha Train-Ticket 2023-01-29 and Online Boutique 2022-08-22/23
//     (per-pod metric CSVs + the log CSVs, loaded with eval/nezha_dataset.h;
//     system scope, 60 s windows).
// Prints P/R/F1 at the model's own label-free threshold (0.99 quantile of
// held-out normal validation windows), PR-AUC, ROC-AUC, best F1 over
// thresholds (oracle, for reference), training time, and inference latency
// per window (batch 1 and batched) as markdown rows prefixed with '|'.
// Skips cleanly without data. Floors are loose: these tests document, they do
// not tune.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "align/log_metric_windows.h"
#include "detect/esd.h"
#include "eval/metrics.h"
#include "eval/nezha_dataset.h"
#include "ingest/nezha_faults.h"
#include "models/fusion.h"
#include "sim/fault_events.h"
#include "sim/simulator.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Variant {
  const char* name;
  FusionMode mode;
  bool momentum, augment;
};
constexpr Variant kVariants[] = {
    {"fused (contrastive)", FusionMode::kFused, true, true},
    {"log-only", FusionMode::kLogOnly, true, true},
    {"metric-only", FusionMode::kMetricOnly, true, true},
    {"concat (no alignment)", FusionMode::kConcat, true, true},
    {"fused, no momentum", FusionMode::kFused, false, true},
    {"fused, no augmentation", FusionMode::kFused, true, false},
};

struct Row {
  std::string dataset, method, subset;
  size_t windows = 0, positives = 0;
  double p = 0, r = 0, f1 = 0, pr_auc = 0, roc_auc = 0, best_f1 = 0;
  double train_s = 0, lat1_ms = 0, latb_ms = 0;
};

Row Metrics(const std::vector<double>& score, const std::vector<int>& flag, const std::vector<int>& label) {
  Row r;
  r.windows = label.size();
  for (int l : label) r.positives += l != 0;
  Confusion c = Evaluate(label, flag);
  r.p = c.precision();
  r.r = c.recall();
  r.f1 = c.f1();
  r.pr_auc = PrAuc(score, label);
  r.roc_auc = RocAuc(score, label);
  r.best_f1 = BestF1OverThresholds(score, label).f1;
  return r;
}

void Print(const std::vector<Row>& rows) {
  fmt::print("| dataset | method | test windows | subset | anomalous | P | R | F1 | PR-AUC | ROC-AUC | "
             "best F1 (oracle) | train s | ms/window (batch 1) | ms/window (batched) |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows)
    fmt::print("| {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.1f} | {:.2f} | {:.3f} |\n",
               r.dataset, r.method, r.windows, r.subset, r.positives, r.p, r.r, r.f1, r.pr_auc,
               r.roc_auc, r.best_f1, r.train_s, r.lat1_ms, r.latb_ms);
  std::fflush(stdout);
}

// Epochs of every variant: 10 (simulator), 5 on Nezha (2-core run-time budget);
// TRIAD_FUSION_EPOCHS overrides both.
int g_epochs = 10;

FusionConfig EvalConfig(const Variant& v) {
  FusionConfig c;
  c.mode = v.mode;
  c.momentum = v.momentum;
  c.augment = v.augment;
  c.epochs = g_epochs;
  if (const char* e = std::getenv("TRIAD_FUSION_EPOCHS")) c.epochs = std::max(1, std::atoi(e));
  c.batch = 64;
  c.max_len = 64;
  c.threads = 2;
  c.verbose = true;
  return c;
}

// Trains every variant on `train` and scores `test`; rows per subset: "all"
// test windows and, when `log_subset`, those with logs.
void EvalVariants(const std::string& dataset, const std::vector<LogMetricWindow>& train,
                  const std::vector<LogMetricWindow>& test, const MetricSchema& schema, bool log_subset,
                  std::vector<Row>* rows, bool esd = true) {
  std::vector<const LogMetricWindow*> tp;
  for (const auto& w : test) tp.push_back(&w);
  for (const Variant& v : kVariants) {
    FusionModel m(EvalConfig(v));
    const auto t0 = Clock::now();
    Status s = m.Fit(train, schema);
    const double train_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s.code() == Status::Code::kInvalidArgument && s.ToString().find("no training window has data") !=
                                                          std::string::npos) {
      // E.g. log-only on Nezha OB: no training window has logs. Not an error of the model.
      fmt::print("{} / {}: not trainable here: {}\n", dataset, v.name, s.ToString());
      continue;
    }
    ASSERT_TRUE(s.ok()) << v.name << ": " << s.ToString();
    std::vector<FusionScore> sc;
    const auto b0 = Clock::now();
    ASSERT_TRUE(m.Score(tp, &sc).ok());
    const double batched_ms = 1e3 * std::chrono::duration<double>(Clock::now() - b0).count() / double(tp.size());
    const size_t n1 = std::min<size_t>(tp.size(), 50);
    const auto s0 = Clock::now();
    std::vector<FusionScore> one;
    for (size_t i = 0; i < n1; ++i) ASSERT_TRUE(m.Score({tp[i]}, &one).ok());
    const double lat1_ms = 1e3 * std::chrono::duration<double>(Clock::now() - s0).count() / double(n1);
    double roc_all = 0;
    for (int pass = 0; pass < (log_subset ? 2 : 1); ++pass) {
      std::vector<double> score;
      std::vector<int> flag, label;
      for (size_t i = 0; i < test.size(); ++i) {
        if (pass == 1 && test[i].templates.empty()) continue;
        score.push_back(sc[i].score);
        flag.push_back(sc[i].anomaly ? 1 : 0);
        label.push_back(test[i].label);
      }
      if (label.empty()) continue;
      Row r = Metrics(score, flag, label);
      r.dataset = dataset;
      r.method = v.name;
      r.subset = pass == 0 ? "all" : "with logs";
      r.train_s = train_s;
      r.lat1_ms = lat1_ms;
      r.latb_ms = batched_ms;
      if (pass == 0) roc_all = r.roc_auc;
      rows->push_back(r);
    }
    const FusionStats& st = m.stats();
    fmt::print("{} / {}: train {} windows ({} pairs, {} logs only, {} metrics only), validation {}, V={}, "
               "loss {:.3f}, thresholds both {:.3f} logs {:.3f} metrics {:.3f}\n",
               dataset, v.name, st.train_windows, st.train_pairs, st.train_log_only, st.train_metric_only,
               st.validation_windows, st.vocab, st.final_loss, st.threshold_both, st.threshold_logs,
               st.threshold_metrics);
    if (v.mode == FusionMode::kFused && v.momentum && v.augment) {
      // Interpretation of the highest-scoring anomalous window.
      size_t best = test.size();
      for (size_t i = 0; i < test.size(); ++i)
        if (sc[i].anomaly && (best == test.size() || sc[i].score > sc[best].score)) best = i;
      if (best < test.size()) {
        FusionAttribution a;
        ASSERT_TRUE(m.Explain(test[best], 3, &a).ok());
        std::string t, mm;
        for (const auto& [id, d] : a.templates) t += fmt::format(" {}({:+.3f})", id, d);
        for (size_t j = 0; j < a.metrics.size(); ++j)
          mm += fmt::format(" {}({:+.3f})", a.metric_names[j], a.metrics[j].second);
        fmt::print("{}: top window start {} label {} score {:.3f} ({}): templates{}; metrics{}\n", dataset,
                   test[best].start, test[best].label, a.score,
                   sc[best].used == FusionModality::kBoth ? "logs+metrics"
                   : sc[best].used == FusionModality::kLogs ? "logs only" : "metrics only",
                   t, mm);
      }
      std::vector<std::array<float, 2>> pts;
      ASSERT_TRUE(m.Project2D(tp, &pts).ok());
      ASSERT_EQ(pts.size(), tp.size());
    }
    // The score must not be worse than chance by a margin on the whole test set.
    EXPECT_GT(roc_all, 0.3) << dataset << " " << v.name;
  }
  if (esd) {
    for (bool hybrid : {false, true}) {
      EsdOptions eo;
      eo.hybrid = hybrid;
      eo.period = 0;
      EsdScores es = ScoreWindowsEsd(tp, eo);
      std::vector<int> vote = VoteOutlierFlags(es.votes, eo.alpha, eo.max_anomalies);
      std::vector<int> label;
      for (const auto& w : test) label.push_back(w.label);
      Row r = Metrics(es.score, vote, label);
      r.dataset = dataset;
      r.method = hybrid ? "S-H-ESD + vote (metrics, test windows only)" : "S-ESD + vote (metrics, test windows only)";
      r.subset = "all";
      rows->push_back(r);
    }
  }
}

void Split(std::vector<LogMetricWindow>& all, TimeNs split, std::vector<LogMetricWindow>* train,
           std::vector<LogMetricWindow>* test) {
  for (auto& w : all) {
    if (w.missing_logs && w.missing_metrics) continue;  // no data at all (gaps between days)
    if (w.end <= split) {
      if (w.label == 0) train->push_back(std::move(w));  // train on fault-free windows only
    } else if (w.start >= split) {
      test->push_back(std::move(w));
    }
  }
}

TEST(FusionEval, Simulator) {
  g_epochs = 10;
  SimConfig sc;
  sc.seed = 7;
  sc.minutes = 60;
  sc.train_minutes = 30;
  sc.faults = 6;
  sc.rps = 10;
  LogMetricOptions o;
  o.tau = 60 * kNsPerSec;
  o.step = 15 * kNsPerSec;
  o.per_service = false;
  o.counter_rates = true;  // cumulative counters as per-second rates, as `triad fusion-train` does
  LogMetricWindowBuilder b(o);
  Simulator sim(sc);
  ASSERT_TRUE(sim.Run(b).ok());
  std::vector<FaultEvent> faults = FaultEventsOf(sim.truth());
  fmt::print("simulated: {}\n", b.stats().Summary());
  std::fflush(stdout);
  auto all = b.Build();
  LabelWindows(faults, &all);
  std::vector<LogMetricWindow> train, test;
  Split(all, sim.truth().train_end, &train, &test);
  fmt::print("simulator: {} faults, {} train windows, {} test windows; {}\n", faults.size(), train.size(),
             test.size(), b.stats().Summary());
  std::fflush(stdout);
  ASSERT_FALSE(train.empty());
  ASSERT_FALSE(test.empty());
  std::vector<Row> rows;
  EvalVariants("simulator (seed 7, 60 min, 6 faults)", train, test, b.schema(), false, &rows);
  Print(rows);
}

// Loads a Nezha day with eval/nezha_dataset.h (sharing one Drain parser
// across days) and replays its metrics and logs into `b`; faults appended.
// Returns false when the day is absent.
bool FeedNezhaDay(const fs::path& day, const std::shared_ptr<DrainParser>& parser,
                  LogMetricWindowBuilder* b, std::vector<FaultEvent>* faults) {
  if (!fs::exists(day / "fault_list.json") || !fs::exists(day / "metric")) return false;
  NezhaLoadOptions lo;
  lo.parser = parser;
  NezhaDay d;
  Status s = LoadNezhaDay(day.string(), lo, &d);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return false;
  const auto t0 = Clock::now();
  ReplayNezhaDay(d, *b, /*metrics=*/true, /*logs=*/true, /*spans=*/false);
  faults->insert(faults->end(), d.faults.begin(), d.faults.end());
  fmt::print("{}: {} pods with metrics, {} logs ({} templates so far), {} faults; load: {}; replay into the "
             "window builder {:.2f} s; {}\n",
             day.string(), d.metrics.size(), d.logs.size(), parser->num_templates(), d.faults.size(),
             d.times.Summary(), std::chrono::duration<double>(Clock::now() - t0).count(),
             d.read_stats.Summary());
  std::fflush(stdout);
  return true;
}

void EvalNezha(const std::string& name, const std::vector<fs::path>& days, bool split_by_day,
               std::vector<Row>* rows) {
  LogMetricOptions o;
  o.tau = 60 * kNsPerSec;
  o.per_service = false;
  o.counter_rates = true;
  LogMetricWindowBuilder b(o);
  std::vector<FaultEvent> faults;
  auto parser = std::make_shared<DrainParser>();
  for (const auto& d : days)
    if (!FeedNezhaDay(d, parser, &b, &faults)) return;
  const auto tb = Clock::now();
  auto all = b.Build();
  fmt::print("{}: window build {:.2f} s\n", name, std::chrono::duration<double>(Clock::now() - tb).count());
  LabelWindows(faults, &all);
  std::sort(faults.begin(), faults.end(), [](const auto& a, const auto& c) { return a.start < c.start; });
  // Split: one day for training, the next for testing (OB); within one day (TT),
  // before / after 5 minutes ahead of the fault at 45 % of the list, so both
  // parts have faults and log-covered minutes.
  TimeNs split = 0;
  if (split_by_day) {
    for (const auto& w : all)
      if (!w.missing_metrics) split = std::max(split, w.end);
    // End of the first day's data: the first window after a >= 1 h gap in metrics.
    TimeNs prev = 0;
    for (const auto& w : all) {
      if (w.missing_metrics) continue;
      if (prev && w.start - prev >= 3600 * kNsPerSec) {
        split = w.start;
        break;
      }
      prev = w.end;
    }
  } else {
    split = faults[faults.size() * 45 / 100].start - 5 * 60 * kNsPerSec;
  }
  std::vector<LogMetricWindow> train, test;
  Split(all, split, &train, &test);
  size_t train_logs = 0, test_logs = 0, test_logs_pos = 0, test_pos = 0;
  for (const auto& w : train) train_logs += !w.templates.empty();
  for (const auto& w : test) {
    test_logs += !w.templates.empty();
    test_pos += w.label;
    test_logs_pos += !w.templates.empty() && w.label;
  }
  fmt::print("{}: {} faults, dims {}, split at {} ns: train {} normal windows ({} with logs), test {} windows "
             "({} anomalous; {} with logs, {} of them anomalous); {}\n",
             name, faults.size(), train.empty() ? 0 : train[0].dims, split, train.size(), train_logs,
             test.size(), test_pos, test_logs, test_logs_pos, b.stats().Summary());
  if (train.size() < 20 || test.empty()) {
    ADD_FAILURE() << name << ": too few windows";
    return;
  }
  EvalVariants(name, train, test, b.schema(), true, rows);
}

TEST(FusionEval, Nezha) {
  if (std::getenv("TRIAD_LONG_EVAL") == nullptr)
    GTEST_SKIP() << "long benchmark: run with TRIAD_LONG_EVAL=1 (docs/BENCHMARKS.md)";
  const fs::path root = fs::path(TRIAD_SHARED_DATA_DIR) / "multimodal/nezha";
  const fs::path tt = root / "trainticket/2023-01-29";
  const fs::path ob1 = root / "onlineboutique/2022-08-22", ob2 = root / "onlineboutique/2022-08-23";
  if (!fs::exists(tt / "metric") && !fs::exists(ob1 / "metric"))
    GTEST_SKIP() << "no Nezha data under " << root;
  std::vector<Row> rows;
  g_epochs = 5;
  if (fs::exists(tt / "metric")) EvalNezha("Nezha TT 2023-01-29", {tt}, false, &rows);
  if (fs::exists(ob1 / "metric") && fs::exists(ob2 / "metric"))
    EvalNezha("Nezha OB train 08-22, test 08-23", {ob1, ob2}, true, &rows);
  Print(rows);
}

}  // namespace
}  // namespace triad
