// Real-data benchmark of S-ESD and S-H-ESD (issue 6, metric baselines) at
// window level on the windows of align/log_metric_windows.h:
//   * Nezha Train-Ticket 2023-01-29 and Online Boutique 2022-08-22/23: the
//     per-pod metric CSVs of the day, 60 s windows, labels from
//     fault_list.json (a fault lasts 180 s from inject_time). Reported for the
//     system scope (label: any fault overlaps the window; score: max over all
//     pods' metrics) and pooled over service scopes (label: the window
//     overlaps a fault whose root cause is that service).
//   * SMD (a few machines): test series, one point a minute = one 60 s
//     window, labels from test_label; daily period (1440).
// For each: P/R/F1 of the test's own flags, PR-AUC and ROC-AUC of the
// continuous score, best F1 over thresholds WITHOUT point adjustment (an
// oracle threshold, for reference), and the point-adjusted F1 of the flags
// only beside the unadjusted one. Skips cleanly without data; floors are
// loose (the score must rank anomalies above chance).
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "align/log_metric_windows.h"
#include "detect/esd.h"
#include "eval/metrics.h"
#include "ingest/metric_csv.h"
#include "ingest/nezha_faults.h"

namespace triad {
namespace {

namespace fs = std::filesystem;

std::string DataDir() { return TRIAD_SHARED_DATA_DIR; }

struct Row {
  std::string dataset, method;
  size_t windows = 0, positives = 0;
  double p = 0, r = 0, f1 = 0, pa_f1 = 0, pr_auc = 0, roc_auc = 0, best_f1 = 0;
};

Row Score(const std::string& dataset, const std::string& method, const std::vector<double>& score,
          const std::vector<int>& flag, const std::vector<int>& label) {
  Row r;
  r.dataset = dataset;
  r.method = method;
  r.windows = label.size();
  for (int l : label) r.positives += l != 0;
  Confusion c = Evaluate(label, flag);
  r.p = c.precision();
  r.r = c.recall();
  r.f1 = c.f1();
  r.pa_f1 = Evaluate(label, PointAdjust(label, flag)).f1();
  r.pr_auc = PrAuc(score, label);
  r.roc_auc = RocAuc(score, label);
  r.best_f1 = BestF1OverThresholds(score, label).f1;
  return r;
}

void Print(const std::vector<Row>& rows) {
  fmt::print("| dataset | method | windows | anomalous | P | R | F1 | F1 (PA) | PR-AUC | ROC-AUC | best F1 (no PA) |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows)
    fmt::print("| {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n",
               r.dataset, r.method, r.windows, r.positives, r.p, r.r, r.f1, r.pa_f1, r.pr_auc,
               r.roc_auc, r.best_f1);
  std::fflush(stdout);
}

struct Method {
  const char* name;
  bool hybrid;
};
constexpr Method kMethods[] = {{"S-ESD", false}, {"S-H-ESD", true}};

// Windows of one Nezha day (metrics only), labelled.
bool BuildNezhaDay(const fs::path& day, std::vector<LogMetricWindow>* out) {
  if (!fs::exists(day / "fault_list.json") || !fs::exists(day / "metric")) return false;
  LogMetricOptions o;
  o.tau = 60 * kNsPerSec;
  o.metric_steps = 12;
  LogMetricWindowBuilder b(o);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(day / "metric")) {
    const std::string n = e.path().filename().string();
    if (n.find("_metric.csv") != std::string::npos) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ReadStats rs;
  for (const auto& f : files) {
    Status s = ReadMetricCsvFile(f, {}, b, &rs);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  std::vector<FaultEvent> faults;
  ReadStats fs_stats;
  Status s = LoadFaultEvents((day / "fault_list.json").string(), {}, &faults, &fs_stats);
  EXPECT_TRUE(s.ok()) << s.ToString();
  *out = b.Build();
  LabelWindows(faults, out);
  fmt::print("{}: {} metric files, {}; {} faults; {}\n", day.string(), files.size(), rs.Summary(),
             faults.size(), b.stats().Summary());
  return !out->empty();
}

void EvalNezha(const std::string& name, const std::vector<fs::path>& days, std::vector<Row>* rows) {
  for (const Method& m : kMethods) {
    std::vector<double> sys_score, svc_score;
    std::vector<int> sys_flag, sys_label, svc_flag, svc_label, sys_vote_flag;
    for (const fs::path& day : days) {
      std::vector<LogMetricWindow> w;
      if (!BuildNezhaDay(day, &w)) continue;
      EsdOptions eo;
      eo.hybrid = m.hybrid;
      eo.period = 0;  // 15 hours of data: no daily season to remove
      eo.max_anomalies = 0.10;
      std::set<std::string> scopes;
      for (const auto& x : w) scopes.insert(x.scope);
      for (const std::string& sc : scopes) {
        auto ws = WindowsOfScope(w, sc);
        if (ws.empty() || ws[0]->dims == 0) continue;
        EsdScores es = ScoreWindowsEsd(ws, eo);
        std::vector<int> vote_flag = VoteOutlierFlags(es.votes, eo.alpha, eo.max_anomalies);
        for (size_t i = 0; i < ws.size(); ++i) {
          if (sc == kSystemScope) {
            sys_vote_flag.push_back(vote_flag[i]);
            sys_score.push_back(es.score[i]);
            sys_flag.push_back(es.flag[i]);
            sys_label.push_back(ws[i]->label);
          } else {
            svc_score.push_back(es.score[i]);
            svc_flag.push_back(es.flag[i]);
            svc_label.push_back(ws[i]->scope_is_root_cause ? 1 : 0);
          }
        }
      }
    }
    if (sys_label.empty()) continue;
    rows->push_back(Score(name + " system", m.name, sys_score, sys_flag, sys_label));
    rows->push_back(Score(name + " system", std::string(m.name) + " + vote ESD", sys_score,
                          sys_vote_flag, sys_label));
    rows->push_back(Score(name + " root-cause service", m.name, svc_score, svc_flag, svc_label));
  }
}

TEST(EsdEval, Nezha) {
  const fs::path root = fs::path(DataDir()) / "multimodal/nezha";
  const fs::path tt = root / "trainticket/2023-01-29";
  const fs::path ob1 = root / "onlineboutique/2022-08-22", ob2 = root / "onlineboutique/2022-08-23";
  if (!fs::exists(tt / "metric") && !fs::exists(ob1 / "metric"))
    GTEST_SKIP() << "no Nezha data under " << root;
  std::vector<Row> rows;
  if (fs::exists(tt / "metric")) EvalNezha("Nezha TT 2023-01-29", {tt}, &rows);
  std::vector<fs::path> ob;
  for (const auto& d : {ob1, ob2})
    if (fs::exists(d / "metric")) ob.push_back(d);
  if (!ob.empty()) EvalNezha("Nezha OB 2022-08-22/23", ob, &rows);
  Print(rows);
  for (const Row& r : rows) {
    ASSERT_GT(r.positives, 0u) << r.dataset;
    EXPECT_TRUE(std::isfinite(r.pr_auc)) << r.dataset << " " << r.method;
    // Loose floor: better than a coin on the ranking.
    EXPECT_GT(r.roc_auc, 0.5) << r.dataset << " " << r.method;
  }
}

// Adds `offset` to every sample time (SMD rows start at t = 0, which the
// builder would count as "no time").
class ShiftSink : public TelemetrySink {
 public:
  ShiftSink(TelemetrySink& to, TimeNs offset) : to_(to), offset_(offset) {}
  void OnMetric(MetricSample&& s) override {
    s.time += offset_;
    to_.OnMetric(std::move(s));
  }

 private:
  TelemetrySink& to_;
  TimeNs offset_;
};

TEST(EsdEval, Smd) {
  const fs::path smd = fs::path(DataDir()) / "metrics/smd";
  const std::vector<std::string> machines = {"machine-1-6", "machine-2-1", "machine-3-3",
                                             "machine-1-7"};
  std::vector<Row> rows;
  const TimeNs t0 = 1'600'000'020LL * kNsPerSec;  // a multiple of 60 s
  for (const std::string& mname : machines) {
    fs::path test = smd / "test" / (mname + ".txt.gz");
    if (!fs::exists(test)) test = smd / "test" / (mname + ".txt");
    fs::path lab = smd / "test_label" / (mname + ".txt");
    if (!fs::exists(lab)) lab = smd / "test_label" / (mname + ".txt.gz");
    if (!fs::exists(test) || !fs::exists(lab)) continue;
    LogMetricOptions o;
    o.tau = 60 * kNsPerSec;
    o.metric_steps = 1;
    o.per_service = true;
    o.system = false;
    LogMetricWindowBuilder b(o);
    ShiftSink shift(b, t0);
    ReadStats rs;
    MetricCsvOptions mo;
    mo.service = mname;
    ASSERT_TRUE(ReadMetricCsvFile(test.string(), mo, shift, &rs).ok());
    std::vector<int> labels;
    ASSERT_TRUE(ReadPointLabels(lab.string(), &labels, &rs).ok());
    auto w = b.Build();
    LabelWindows(FaultsFromPointLabels(labels, t0, 60 * kNsPerSec, "smd"), &w);
    auto ws = WindowsOfScope(w, mname);
    ASSERT_EQ(ws.size(), labels.size()) << mname;
    for (const Method& m : kMethods) {
      EsdOptions eo;
      eo.hybrid = m.hybrid;
      eo.period = 1440;  // daily
      eo.max_anomalies = 0.10;
      EsdScores es = ScoreWindowsEsd(ws, eo);
      std::vector<int> lab_v;
      for (const auto* x : ws) lab_v.push_back(x->label);
      rows.push_back(Score("SMD " + mname, m.name, es.score, es.flag, lab_v));
      rows.push_back(Score("SMD " + mname, std::string(m.name) + " + vote ESD", es.score,
                           VoteOutlierFlags(es.votes, eo.alpha, eo.max_anomalies), lab_v));
    }
  }
  if (rows.empty()) GTEST_SKIP() << "no SMD data under " << smd;
  // Means per method.
  for (const std::string mname :
       {std::string("S-ESD"), std::string("S-ESD + vote ESD"), std::string("S-H-ESD"),
        std::string("S-H-ESD + vote ESD")}) {
    Row mean;
    mean.dataset = "SMD mean";
    mean.method = mname;
    int n = 0;
    for (const Row& r : rows) {
      if (r.method != mname || r.dataset == "SMD mean") continue;
      ++n;
      mean.windows += r.windows;
      mean.positives += r.positives;
      mean.p += r.p; mean.r += r.r; mean.f1 += r.f1; mean.pa_f1 += r.pa_f1;
      mean.pr_auc += r.pr_auc; mean.roc_auc += r.roc_auc; mean.best_f1 += r.best_f1;
    }
    for (double* v : {&mean.p, &mean.r, &mean.f1, &mean.pa_f1, &mean.pr_auc, &mean.roc_auc,
                      &mean.best_f1})
      *v /= n;
    rows.push_back(mean);
  }
  Print(rows);
  for (const Row& r : rows) {
    if (r.dataset == "SMD mean") continue;
    const double base = static_cast<double>(r.positives) / r.windows;
    // Loose floor: the score ranks anomalies above their base rate.
    EXPECT_GT(r.pr_auc, base) << r.dataset << " " << r.method;
  }
}

}  // namespace
}  // namespace triad
