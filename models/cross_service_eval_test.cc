// Evaluation of the cross-service contrastive model (models/cross_service.h,
// issue 7) beside its single-service ablation and a statistical baseline, on
// the simulator and on Nezha (Train-Ticket 2023-01-29, Online Boutique
// 2022-08-23). Long: every test here is skipped unless TRIAD_LONG_EVAL=1, and
// the Nezha ones skip cleanly when /work/shared/data is absent.
//
// Protocol (docs/BENCHMARKS.md, "Cross-service model: evaluation (issue 7)"):
//  * Training: normal periods only, never a label beyond "this period has no
//    fault". Simulator: its fault-free prefix (train_minutes). Nezha: metrics
//    cover the whole day but faults only a campaign of a few hours, with no
//    fault-free prefix (TT's metrics start 2 min before the first fault); the
//    model trains on the fault-free tail of the day, from 30 min after the
//    last fault's end to the end of the day.
//  * Thresholds without labels: the chronological tail (validation_fraction)
//    of the training windows; thr_v, the S_t threshold and the M_t threshold
//    are their `quantile` (FitServiceScoreThresholds). The baseline uses the
//    same windows, the same function and the model's traffic weights.
//  * Labels: a window ending at step t is anomalous iff ("end" rule) step t
//    overlaps a fault interval, or ("overlap" rule) any of its w steps does.
//    Nezha faults last 180 s from inject_time (ingest/nezha_faults.h).
//  * Localisation: over the anomalous windows (end rule), a hit when one of
//    the fault's services (simulator: the root cause, both ends for
//    network_delay; Nezha: the injected pod's service) is ranked first / in
//    the first three.
//  * Nezha features: metrics only (per-service means of the pods' series) and
//    a static call graph (mean calls per minute of each edge over the day's
//    traces). Logs and traces are only collected around faults (none in the
//    training tail), so their presence alone would mark the fault minutes.
//
// Environment: TRIAD_CS_STEPS, TRIAD_CS_WINDOW, TRIAD_CS_LR, TRIAD_CS_LAMBDA,
// TRIAD_CS_VAL (validation_fraction), TRIAD_CS_SEED, TRIAD_CS_QUANTILE,
// TRIAD_CS_NEG (same_service_negatives 0/1/2), TRIAD_CS_BATCH, TRIAD_CS_TAU,
// TRIAD_CS_FAULTS (simulator; 0 = false alarms only), TRIAD_CS_SIM_SEED,
// TRIAD_CS_RANK_BETA (rank_neighbour_weight of the callee-residual columns,
// default 1), TRIAD_CS_TIMELINE=1.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "align/service_graph.h"
#include "eval/metrics.h"
#include "eval/nezha_dataset.h"
#include "ingest/nezha_faults.h"
#include "models/cross_service.h"
#include "sim/fault_events.h"
#include "sim/simulator.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool LongEval() { return std::getenv("TRIAD_LONG_EVAL") != nullptr; }

int EnvInt(const char* name, int def) {
  const char* e = std::getenv(name);
  return e ? std::atoi(e) : def;
}
double EnvDouble(const char* name, double def) {
  const char* e = std::getenv(name);
  return e ? std::atof(e) : def;
}

// One evaluation case: a series, the training step range and the test window ends.
struct Case {
  std::string name;
  ServiceGraphSeries series;
  int train_from = 0, train_to = 0;  // Fit range (steps)
  int test_from = 0, test_to = 0;    // window ends
  std::vector<FaultEvent> faults;
};

// The per-window scores of one method on the test windows, with its thresholds.
struct MethodScores {
  std::string name;
  std::vector<CrossServiceScore> test;
  ServiceScoreThresholds thr;
  std::vector<double> weights;  // [N] of the series
  double train_s = 0, score_ms = 0;
};

// Faults overlapping [t0, t1).
std::vector<const FaultEvent*> Overlapping(const Case& c, TimeNs t0, TimeNs t1) {
  std::vector<const FaultEvent*> out;
  for (const auto& f : c.faults)
    if (f.start < t1 && f.end > t0) out.push_back(&f);
  return out;
}

// Window ending at `end`: its faults under the end rule (step `end` only) or
// the overlap rule (its w steps).
std::vector<const FaultEvent*> WindowFaults(const Case& c, int end, int w, bool overlap) {
  const ServiceGraphSeries& s = c.series;
  const TimeNs t1 = s.start + (end + 1) * s.step;
  const TimeNs t0 = overlap ? s.start + (end - w + 1) * s.step : t1 - s.step;
  return Overlapping(c, t0, t1);
}

struct Metrics {
  Confusion conf;
  double top1 = 0, top3 = 0;
  int positives = 0;
};

// Flags of `rule` and top-k of `ranked` (as finished by FinishServiceScore with cfg).
Metrics EvaluateMethod(const Case& c, const MethodScores& m, const CrossServiceConfig& cfg, int w,
                       bool overlap, std::vector<int>* labels_out = nullptr,
                       std::vector<int>* flags_out = nullptr) {
  std::vector<int> labels, flags;
  Metrics r;
  int hits1 = 0, hits3 = 0;
  for (CrossServiceScore sc : m.test) {
    const bool nbr = cfg.rank_neighbour_weight != 0;
    std::vector<std::vector<int>> neighbours;
    if (nbr) neighbours = WindowCallees(c.series, sc.step, w);
    FinishServiceScore(m.thr, m.weights, cfg, nbr ? &neighbours : nullptr, &sc);
    const auto faults = WindowFaults(c, sc.step, w, overlap);
    labels.push_back(!faults.empty());
    flags.push_back(sc.anomaly);
    if (faults.empty()) continue;
    ++r.positives;
    for (int k = 0; k < 3 && k < static_cast<int>(sc.ranked.size()); ++k) {
      const std::string& name = c.series.services[sc.ranked[k]];
      bool hit = false;
      for (const FaultEvent* f : faults)
        hit = hit || f->service == name ||
              std::find(f->services.begin(), f->services.end(), name) != f->services.end();
      if (hit) {
        hits1 += k == 0;
        ++hits3;
        break;
      }
    }
  }
  r.conf = triad::Evaluate(labels, flags);
  r.top1 = r.positives ? double(hits1) / r.positives : 0;
  r.top3 = r.positives ? double(hits3) / r.positives : 0;
  if (labels_out) *labels_out = labels;
  if (flags_out) *flags_out = flags;
  return r;
}

void PrintHeader() {
  fmt::print(
      "| dataset | method | labels | rule | windows | anomalous | ACC | P | R | F1 | PR-AUC | "
      "ROC-AUC | top-1 | top-3 | top-1 (callee residual) | top-3 (callee residual) | train s | "
      "ms/window |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

// Rows of one method: alarm rules x label rules. PR/ROC-AUC of the rule's score
// (S_t for "S", M_t for "S or M" and the margin rule).
void Report(const Case& c, const MethodScores& m, const CrossServiceConfig& base, int w) {
  struct Rule {
    const char* name;
    bool max_ratio, service_alarms;
  };
  const Rule rules[] = {{"S_t (eq. 12)", false, false},
                        {"S_t or s_v > 1.2 thr_v", false, true},
                        {"S_t or M_t (calibrated)", true, false}};
  for (int overlap = 0; overlap < 2; ++overlap)
    for (const Rule& rule : rules) {
      CrossServiceConfig cfg = base;
      cfg.max_ratio_alarm = rule.max_ratio;
      cfg.service_alarms = rule.service_alarms;
      cfg.rank_neighbour_weight = 0;
      std::vector<int> labels;
      const Metrics r = EvaluateMethod(c, m, cfg, w, overlap == 1, &labels);
      cfg.rank_neighbour_weight = EnvDouble("TRIAD_CS_RANK_BETA", 1.0);
      const Metrics rn = EvaluateMethod(c, m, cfg, w, overlap == 1);
      std::vector<double> score;
      for (const auto& sc : m.test)
        score.push_back(rule.max_ratio || rule.service_alarms ? sc.max_ratio : sc.system);
      fmt::print(
          "| {} | {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | "
          "{:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.1f} | {:.3f} |\n",
          c.name, m.name, overlap ? "overlap" : "end", rule.name, labels.size(), r.positives,
          r.conf.accuracy(), r.conf.precision(), r.conf.recall(), r.conf.f1(), PrAuc(score, labels),
          RocAuc(score, labels), r.top1, r.top3, rn.top1, rn.top3, m.train_s, m.score_ms);
    }
  std::fflush(stdout);
}

// The model's thresholds and weights in the series' indices.
MethodScores FromModel(const std::string& name, const CrossServiceModel& model,
                       const ServiceGraphSeries& s) {
  MethodScores m;
  m.name = name;
  m.thr.system = model.stats().threshold;
  m.thr.max_ratio = model.stats().max_ratio_threshold;
  for (const auto& svc : s.services) {
    const double t = model.ServiceThreshold(svc);
    m.thr.service.push_back(std::isnan(t) ? 1.0 : t);
    m.weights.push_back(model.Weight(svc));
  }
  return m;
}

CrossServiceConfig ModelConfig(int window, bool aggregate) {
  CrossServiceConfig c;
  c.window = EnvInt("TRIAD_CS_WINDOW", window);
  c.aggregate = aggregate;
  c.steps = EnvInt("TRIAD_CS_STEPS", 400);
  c.lr = EnvDouble("TRIAD_CS_LR", 1e-3);
  c.lambda = EnvDouble("TRIAD_CS_LAMBDA", 2.0);
  c.validation_fraction = EnvDouble("TRIAD_CS_VAL", 0.2);
  c.quantile = EnvDouble("TRIAD_CS_QUANTILE", 0.99);
  c.seed = EnvInt("TRIAD_CS_SEED", 42);
  // 0 none (default), 1 non-overlapping (the first version's default), 2 all:
  // the same service's windows as negatives.
  c.same_service_negatives = static_cast<SameServiceNegatives>(
      EnvInt("TRIAD_CS_NEG", static_cast<int>(c.same_service_negatives)));
  c.batch = EnvInt("TRIAD_CS_BATCH", c.batch);
  c.temperature = EnvDouble("TRIAD_CS_TAU", c.temperature);
  c.threads = 2;
  c.verbose = true;
  return c;
}

// Trains and scores one model variant.
MethodScores RunModel(const Case& c, const std::string& name, const CrossServiceConfig& cfg,
                      CrossServiceModel* model) {
  Status st = model->Fit(c.series, c.train_from, c.train_to);
  EXPECT_TRUE(st.ok()) << st.ToString();
  MethodScores m = FromModel(name, *model, c.series);
  if (!st.ok()) return m;
  m.train_s = model->stats().train_seconds;
  const auto t0 = Clock::now();
  st = model->Score(c.series, c.test_from, c.test_to, &m.test);
  m.score_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() /
               std::max<size_t>(1, m.test.size());
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (std::getenv("TRIAD_CS_TIMELINE")) {  // '.' normal, 'x' false alarm, 'F' hit, '_' miss
    std::string line;
    for (const auto& sc : m.test) {
      const bool pos = !WindowFaults(c, sc.step, cfg.window, false).empty();
      line += pos ? (sc.anomaly ? 'F' : '_') : (sc.anomaly ? 'x' : '.');
    }
    fmt::print("{} / {}: {}\n", c.name, name, line);
  }
  return m;
}

// ---- Statistical baseline -----------------------------------------------------
// Per-service robust z-score on the same x_{v,t}: for each (service, column),
// median and scale (1.4826 MAD; else 1.2533 mean absolute deviation; else 1)
// of the observed cells of the training steps; s_{v,t} = max over observed
// columns of |x - median| / scale at step t (0 when none is observed).
class RobustZ {
 public:
  RobustZ(const ServiceGraphSeries& s, int from, int to) : s_(s) {
    const int n = s.num_services(), d = s.dims();
    med_.assign(static_cast<size_t>(n) * d, 0.0);
    scale_.assign(med_.size(), 1.0);
    for (int v = 0; v < n; ++v)
      for (int f = 0; f < d; ++f) {
        std::vector<double> x;
        for (int t = from; t < to; ++t)
          if (s.observed(t, v, f)) x.push_back(s.value(t, v, f));
        if (x.empty()) continue;
        const double med = Median(x);
        std::vector<double> dev;
        double mad_mean = 0;
        for (double y : x) {
          dev.push_back(std::fabs(y - med));
          mad_mean += std::fabs(y - med);
        }
        mad_mean /= x.size();
        const double mad = Median(dev);
        med_[v * d + f] = med;
        scale_[v * d + f] = mad > 0 ? 1.4826 * mad : (mad_mean > 0 ? 1.2533 * mad_mean : 1.0);
      }
  }
  double Score(int t, int v) const {
    const int d = s_.dims();
    double best = 0;
    for (int f = 0; f < d; ++f)
      if (s_.observed(t, v, f))
        best = std::max(best, std::fabs(s_.value(t, v, f) - med_[v * d + f]) / scale_[v * d + f]);
    return best;
  }

 private:
  static double Median(std::vector<double> x) {
    std::nth_element(x.begin(), x.begin() + x.size() / 2, x.end());
    return x[x.size() / 2];
  }
  const ServiceGraphSeries& s_;
  std::vector<double> med_, scale_;
};

// The baseline with the model's training / validation split and weights.
MethodScores RunBaseline(const Case& c, const CrossServiceModel& model,
                         const CrossServiceConfig& cfg) {
  const int w = cfg.window, n = c.series.num_services();
  const int first_end = c.train_from + w - 1;
  const int train_end =
      first_end + model.stats().train_windows;  // validation: [train_end, train_to)
  const auto t0 = Clock::now();
  RobustZ z(c.series, c.train_from, train_end);
  MethodScores m = FromModel("robust z baseline", model, c.series);
  std::vector<std::vector<double>> val;
  for (int t = train_end; t < c.train_to; ++t) {
    val.emplace_back(n);
    for (int v = 0; v < n; ++v) val.back()[v] = z.Score(t, v);
  }
  m.thr = FitServiceScoreThresholds(val, m.weights, cfg);
  m.train_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto t1 = Clock::now();
  for (int t = c.test_from; t < c.test_to; ++t) {
    CrossServiceScore sc;
    sc.step = t;
    sc.service.resize(n);
    for (int v = 0; v < n; ++v) sc.service[v] = z.Score(t, v);
    FinishServiceScore(m.thr, m.weights, cfg, nullptr, &sc);
    m.test.push_back(std::move(sc));
  }
  m.score_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count() /
               std::max<size_t>(1, m.test.size());
  return m;
}

// Full model, no-aggregation ablation and the baseline on one case.
void EvalCase(const Case& c, int window) {
  fmt::print(
      "{}: {} services, d {}, {} steps of {} s; train steps [{}, {}), test window ends "
      "[{}, {}), {} faults\n",
      c.name, c.series.num_services(), c.series.dims(), c.series.steps, c.series.step / kNsPerSec,
      c.train_from, c.train_to, c.test_from, c.test_to, c.faults.size());
  std::fflush(stdout);
  std::vector<MethodScores> methods;
  std::unique_ptr<CrossServiceModel> full;
  for (int agg = 1; agg >= 0; --agg) {
    const CrossServiceConfig cfg = ModelConfig(window, agg == 1);
    auto model = std::make_unique<CrossServiceModel>(cfg);
    methods.push_back(
        RunModel(c, agg ? "cross-service (full)" : "no aggregation (ablation)", cfg, model.get()));
    if (agg) full = std::move(model);
  }
  ASSERT_TRUE(full && full->trained());
  const CrossServiceConfig cfg = full->config();
  methods.push_back(RunBaseline(c, *full, cfg));
  PrintHeader();
  for (const auto& m : methods) Report(c, m, cfg, cfg.window);
  // Loose floors: the scores are finite and every method saw the test windows.
  for (const auto& m : methods) {
    ASSERT_EQ(m.test.size(), static_cast<size_t>(c.test_to - c.test_from)) << m.name;
    for (const auto& sc : m.test) ASSERT_TRUE(std::isfinite(sc.system)) << m.name;
  }
}

// ---- Simulator ------------------------------------------------------------------

// Runs `sim` into a service-graph series with 15 s steps; returns true iff it worked.
bool BuildSeries(Simulator& sim, ServiceGraphSeries* s) {
  ServiceGraphOptions go;
  go.step = 15 * kNsPerSec;
  ServiceGraphBuilder b(go);
  return sim.Run(b).ok() && b.Build(s).ok();
}

TEST(CrossServiceEval, Simulator) {
  if (!LongEval()) GTEST_SKIP() << "long benchmark: run with TRIAD_LONG_EVAL=1";
  SimConfig sc;
  sc.seed = EnvInt("TRIAD_CS_SIM_SEED", 3);
  sc.services = 10;
  sc.minutes = 180;
  sc.train_minutes = 90;
  sc.faults = EnvInt("TRIAD_CS_FAULTS", 4);
  sc.rps = 10;
  Simulator sim(sc);
  Case c;
  ASSERT_TRUE(BuildSeries(sim, &c.series));
  const GroundTruth& truth = sim.truth();
  const ServiceGraphSeries& s = c.series;
  c.faults = FaultEventsOf(truth);
  for (const auto& f : truth.faults) {
    fmt::print("simulator fault {} {} on {}, steps {}-{}\n", f.id, f.type,
               f.services.empty() ? "?" : f.services[0], (f.start - s.start) / s.step,
               (f.end - s.start) / s.step);
  }
  c.name = fmt::format("simulator (seed {}, 10 services, {} faults)", sc.seed, sc.faults);
  c.train_to = static_cast<int>((truth.train_end - s.start) / s.step);
  c.test_from = c.train_to;
  c.test_to = s.steps - 1;  // the last step is partial
  ASSERT_GT(c.train_to, 100);
  EvalCase(c, 16);
}

// ---- Nezha ------------------------------------------------------------------------

// Loads a Nezha day into a Case: metric series at 60 s, a static call graph
// from the day's traces, training on the fault-free tail. Returns false
// (and the reason) when the day is absent or unusable.
bool LoadNezhaCase(const fs::path& day, const std::string& name, int window, Case* c,
                   std::string* why) {
  if (!fs::exists(day / "fault_list.json") || !fs::exists(day / "metric")) {
    *why = "no Nezha day at " + day.string();
    return false;
  }
  NezhaLoadOptions lo;
  lo.logs = false;
  lo.traces = true;
  lo.keep_messages = false;
  NezhaDay d;
  Status st = LoadNezhaDay(day.string(), lo, &d);
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    *why = st.ToString();
    return false;
  }
  ServiceGraphOptions go;
  go.step = 60 * kNsPerSec;
  ServiceGraphBuilder mb(go), tb(go);
  ReplayNezhaDay(d, mb, /*metrics=*/true, /*logs=*/false, /*spans=*/false);
  ReplayNezhaDay(d, tb, /*metrics=*/false, /*logs=*/false, /*spans=*/true);
  ServiceGraphSeries traces;
  if (!mb.Build(&c->series).ok() || !tb.Build(&traces).ok()) {
    *why = "nothing to build";
    return false;
  }
  ServiceGraphSeries& s = c->series;
  // Static graph: mean calls per minute (over minutes with spans) of each edge.
  std::map<std::pair<int, int>, double> calls;
  int minutes = 0;
  for (const auto& step_edges : traces.edges) {
    minutes += !step_edges.empty();
    for (const CallEdge& e : step_edges) {
      const int a = s.ServiceIndex(traces.services[e.caller]);
      const int b = s.ServiceIndex(traces.services[e.callee]);
      if (a >= 0 && b >= 0 && a != b) calls[{a, b}] += e.calls;
    }
  }
  std::vector<CallEdge> graph;
  for (const auto& [ab, n] : calls)
    graph.push_back({ab.first, ab.second, n / std::max(1, minutes)});
  for (auto& e : s.edges) e = graph;
  c->faults = d.faults;
  TimeNs first = d.faults.front().start, last = 0;
  for (const auto& f : d.faults) last = std::max(last, f.end);
  const int first_step = static_cast<int>((first - s.start) / s.step);
  const int last_step = static_cast<int>((last - s.start) / s.step);
  c->name = name;
  c->train_from = std::min(s.steps - 1, last_step + 30);
  c->train_to = s.steps - 1;  // the last minute may be partial
  c->test_from = std::max(window - 1, first_step - 30);
  c->test_to = std::min(s.steps - 1, last_step + 30);
  fmt::print(
      "{}: {} pods with metrics, {} spans, {} trace services, {} static edges over {} "
      "minutes with spans; {}; faults {}-{} (steps {}-{})\n",
      name, d.metrics.size(), d.spans.size(), traces.num_services(), graph.size(), minutes,
      d.read_stats.Summary(), first_step, last_step, first_step, last_step);
  if (c->train_to - c->train_from < 3 * window || c->test_to <= c->test_from) {
    *why = "too short";
    return false;
  }
  return true;
}

void EvalNezhaDay(const std::string& rel, const std::string& name) {
  if (!LongEval()) GTEST_SKIP() << "long benchmark: run with TRIAD_LONG_EVAL=1";
  const fs::path day = fs::path(TRIAD_SHARED_DATA_DIR) / "multimodal/nezha" / rel;
  const int window = EnvInt("TRIAD_CS_WINDOW", 16);
  Case c;
  std::string why;
  const auto t0 = Clock::now();
  if (!LoadNezhaCase(day, name, window, &c, &why)) GTEST_SKIP() << why;
  fmt::print("{}: load + build {:.1f} s\n", name,
             std::chrono::duration<double>(Clock::now() - t0).count());
  EvalCase(c, window);
}

TEST(CrossServiceEval, NezhaTrainTicket) {
  EvalNezhaDay("trainticket/2023-01-29", "Nezha TT 2023-01-29");
}

TEST(CrossServiceEval, NezhaOnlineBoutique) {
  EvalNezhaDay("onlineboutique/2022-08-23", "Nezha OB 2022-08-23");
}

// ---- Scoring time -------------------------------------------------------------------

// Scoring time per window end (all services) for 10, 50 and 200 simulated
// services; the model is barely trained (timing only).
TEST(CrossServiceEval, ScoringTimeGrowsWithServices) {
  if (!LongEval()) GTEST_SKIP() << "long benchmark: run with TRIAD_LONG_EVAL=1";
  for (int services : {10, 50, 200}) {
    SimConfig sc;
    sc.services = services;
    sc.minutes = 40;
    sc.train_minutes = 30;
    sc.faults = 0;
    sc.rps = 5;
    Simulator sim(sc);
    ServiceGraphSeries s;
    ASSERT_TRUE(BuildSeries(sim, &s));
    CrossServiceConfig c;
    c.window = 16;
    c.steps = 20;
    CrossServiceModel m(c);
    ASSERT_TRUE(m.Fit(s, 0, 120).ok());
    std::vector<CrossServiceScore> out;
    const auto t0 = Clock::now();
    ASSERT_TRUE(m.Score(s, 0, 0, &out).ok());
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ASSERT_FALSE(out.empty());
    fmt::print(
        "[cross-service scale] {} services, d {}, {} window ends: {:.2f} ms per window end "
        "({:.4f} ms per service window), fit {:.1f} s\n",
        s.num_services(), s.dims(), out.size(), ms / out.size(), ms / out.size() / s.num_services(),
        m.stats().train_seconds);
  }
}

}  // namespace
}  // namespace triad
