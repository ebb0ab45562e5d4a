#include "models/cross_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "models/model_file.h"
#include "sim/simulator.h"

namespace triad {
namespace {

// ---- Loss ---------------------------------------------------------------------

// CE of row q against candidates (unit vectors), target index `pos`.
double HandCe(const std::vector<double>& q, const std::vector<std::vector<double>>& cands, int pos,
              double t) {
  double z = 0, zp = 0;
  for (size_t j = 0; j < cands.size(); ++j) {
    double dot = 0;
    for (size_t i = 0; i < q.size(); ++i) dot += q[i] * cands[j][i];
    z += std::exp(dot / t);
    if (static_cast<int>(j) == pos) zp = dot / t;
  }
  return -(zp - std::log(z));
}

TEST(CrossServiceLoss, MatchesHandComputation) {
  const double t = 0.1;
  // Asymmetric logits, so that the two directions differ.
  std::vector<std::vector<double>> A = {{1, 0}, {0, 1}}, Bv = {{0.6, 0.8}, {0.96, 0.28}};
  std::vector<float> a = {1, 0, 0, 1}, b = {0.6f, 0.8f, 0.96f, 0.28f};
  // L_svc: 0.5 * (mean_i CE(a_i -> b) + mean_i CE(b_i -> a)).
  const double svc = 0.5 * ((HandCe(A[0], Bv, 0, t) + HandCe(A[1], Bv, 1, t)) / 2 +
                            (HandCe(Bv[0], A, 0, t) + HandCe(Bv[1], A, 1, t)) / 2);
  auto l0 = CrossServiceLoss(a, b, 2, 2, {}, 0, {}, t, 0.0);
  EXPECT_NEAR(l0.svc, svc, 1e-4 * svc);
  EXPECT_NEAR(l0.total, svc, 1e-4 * svc);
  EXPECT_EQ(l0.clu, 0.0);
  // Rows are normalised inside.
  std::vector<float> a2 = {5, 0, 0, 0.25f};
  EXPECT_NEAR(CrossServiceLoss(a2, b, 2, 2, {}, 0, {}, t, 0.0).svc, svc, 1e-4 * svc);

  // Prototype term: protos (1,0) and (0,2) (normalised inside), clusters {1, 0}.
  std::vector<std::vector<double>> P = {{1, 0}, {0, 1}};
  const double clu = 0.5 * ((HandCe(A[0], P, 1, t) + HandCe(A[1], P, 0, t)) / 2 +
                            (HandCe(Bv[0], P, 1, t) + HandCe(Bv[1], P, 0, t)) / 2);
  auto l1 = CrossServiceLoss(a, b, 2, 2, {1, 0, 0, 2}, 2, {1, 0}, t, 0.5);
  EXPECT_NEAR(l1.svc, svc, 1e-4 * svc);
  EXPECT_NEAR(l1.clu, clu, 1e-4 * clu);
  EXPECT_NEAR(l1.total, svc + 0.5 * clu, 1e-4 * (svc + clu));
  // The right clusters cost less than the wrong ones.
  EXPECT_LT(CrossServiceLoss(a, b, 2, 2, {1, 0, 0, 2}, 2, {0, 1}, t, 0.5).clu, l1.clu);

  // Excluded pairs leave the negatives of both directions.
  std::vector<std::vector<double>> A3 = {{1, 0}, {0, 1}, {0.6, -0.8}},
                                   B3 = {{0.6, 0.8}, {0.8, 0.6}, {-0.6, 0.8}};
  std::vector<float> a3 = {1, 0, 0, 1, 0.6f, -0.8f}, b3 = {0.6f, 0.8f, 0.8f, 0.6f, -0.6f, 0.8f};
  std::vector<uint8_t> ex(9, 0);
  ex[0 * 3 + 1] = ex[1 * 3 + 0] = 1;  // 0 and 1 are not each other's negatives
  double dir_a = HandCe(A3[0], {B3[0], B3[2]}, 0, t) + HandCe(A3[1], {B3[1], B3[2]}, 0, t) +
                 HandCe(A3[2], B3, 2, t);
  double dir_b = HandCe(B3[0], {A3[0], A3[2]}, 0, t) + HandCe(B3[1], {A3[1], A3[2]}, 0, t) +
                 HandCe(B3[2], A3, 2, t);
  const double want = 0.5 * (dir_a / 3 + dir_b / 3);
  EXPECT_NEAR(CrossServiceLoss(a3, b3, 3, 2, {}, 0, {}, t, 0.0, ex).svc, want, 1e-4 * want);
  EXPECT_GT(CrossServiceLoss(a3, b3, 3, 2, {}, 0, {}, t, 0.0).svc, want);
}

// ---- Synthetic system -----------------------------------------------------------

// Four services a -> b -> c, a -> d, driven by one shared load signal (the
// gateway's traffic, as in a real system): each service's cpu and request
// count follow the load, its latency has a small load term, plus noise; the
// call counts are proportional to the load. With fault_service >= 0, in steps
// [fault_from, fault_to) that service's latency rises by 1.5 and its cpu
// stops following the load; its callers' latency rises by 0.5 (they wait),
// and the calls into it drop by 30 %.
ServiceGraphSeries MakeSeries(int steps, int fault_service, int fault_from, int fault_to,
                              uint64_t seed) {
  ServiceGraphSeries s;
  s.start = 0;
  s.step = 60 * kNsPerSec;
  s.steps = steps;
  s.services = {"a", "b", "c", "d"};
  s.columns = {"metric:cpu", "span:mean_ms", "span:count"};
  s.slot_templates.assign(4, {});
  const int n = 4, d = 3;
  const std::vector<std::pair<int, int>> calls = {{0, 1}, {0, 3}, {1, 2}};
  const double per_load[] = {10, 3, 5};
  s.x.assign(static_cast<size_t>(steps) * n * d, 0.f);
  s.mask.assign(s.x.size(), 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.1);
  for (int t = 0; t < steps; ++t) {
    const bool fault = t >= fault_from && t < fault_to;
    const double load =
        1 + 0.5 * std::sin(2 * M_PI * t / 40.0) + 0.2 * std::sin(2 * M_PI * t / 7.0);
    for (int v = 0; v < n; ++v) {
      double cpu = (0.5 + 0.2 * v) * load + noise(rng);
      double lat = 0.3 * v + 0.2 * load + noise(rng);
      const double count = (v + 1) * load + noise(rng);
      if (fault && v == fault_service) {
        lat += 1.5;
        cpu = 0.5 + noise(rng);
      }
      for (const auto& [caller, callee] : calls)
        if (fault && callee == fault_service && caller == v) lat += 0.5;
      s.x[s.Index(t, v, 0)] = static_cast<float>(cpu);
      s.x[s.Index(t, v, 1)] = static_cast<float>(lat);
      s.x[s.Index(t, v, 2)] = static_cast<float>(count);
    }
    std::vector<CallEdge> e;
    for (size_t i = 0; i < calls.size(); ++i) {
      const double drop = fault && calls[i].second == fault_service ? 0.7 : 1.0;
      e.push_back({calls[i].first, calls[i].second, per_load[i] * load * drop});
    }
    s.edges.push_back(std::move(e));
  }
  return s;
}

constexpr int kSteps = 300, kTrain = 180, kFaultFrom = 230, kFaultTo = 262, kFaulty = 2;

CrossServiceConfig SmallConfig(bool aggregate) {
  CrossServiceConfig c;
  c.window = 12;
  c.aggregate = aggregate;
  c.channels = 16;
  c.embedding = 16;
  c.steps = 150;
  c.batch = 32;
  c.lr = 3e-3;
  c.threads = 1;
  c.quantile = 0.99;
  // The first version's default, with which the assertions below were
  // measured (model seeds 1-5 and 42).
  c.same_service_negatives = SameServiceNegatives::kNonOverlapping;
  return c;
}

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "/cs_" + std::to_string(getpid()) + "_" + name;
}

class CrossServiceTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    train_ = new ServiceGraphSeries(MakeSeries(kSteps, kFaulty, kFaultFrom, kFaultTo, 7));
    for (int agg = 0; agg < 2; ++agg) {
      models_[agg] = new CrossServiceModel(SmallConfig(agg == 1));
      fit_[agg] = models_[agg]->Fit(*train_, 0, kTrain);
    }
  }
  static void TearDownTestSuite() {
    delete train_;
    for (auto* m : models_) delete m;
  }
  static ServiceGraphSeries* train_;
  static CrossServiceModel* models_[2];  // [0]: no aggregation, [1]: with
  static Status fit_[2];
};
ServiceGraphSeries* CrossServiceTest::train_ = nullptr;
CrossServiceModel* CrossServiceTest::models_[2] = {nullptr, nullptr};
Status CrossServiceTest::fit_[2];

TEST_F(CrossServiceTest, FitShapesAndWeights) {
  for (int agg = 0; agg < 2; ++agg) {
    ASSERT_TRUE(fit_[agg].ok()) << fit_[agg].ToString();
    const CrossServiceModel& m = *models_[agg];
    const auto& st = m.stats();
    EXPECT_EQ(st.services, 4);
    EXPECT_EQ(st.dims, 3);
    // 180 - 11 = 169 window ends: 20 % (34) validation.
    EXPECT_EQ(st.train_windows + st.validation_windows, kTrain - 11);
    EXPECT_EQ(st.validation_windows, 34);
    EXPECT_LT(st.final_loss, st.first_loss);  // it learns
    EXPECT_TRUE(std::isfinite(st.threshold));
    std::vector<float> h;
    ASSERT_TRUE(m.Embed(*train_, 20, 25, &h).ok());
    ASSERT_EQ(h.size(), size_t(5 * 4 * 16));  // [ends, N, k]
    for (size_t r = 0; r < h.size() / 16; ++r) {
      double nn = 0;
      for (int j = 0; j < 16; ++j) nn += double(h[r * 16 + j]) * h[r * 16 + j];
      EXPECT_NEAR(nn, 1.0, 1e-4);
    }
    ASSERT_NE(m.Prototype("c"), nullptr);
    EXPECT_EQ(m.Prototype("c")->size(), 16u);
    EXPECT_EQ(m.Prototype("zz"), nullptr);
    // Traffic weights: calls made + served over the training steps:
    // a 10 + 3, b 10 + 5, c 5, d 3 per step (no fault in training).
    EXPECT_NEAR(m.Weight("a"), 13.0 / 36, 1e-9);
    EXPECT_NEAR(m.Weight("b"), 15.0 / 36, 1e-9);
    EXPECT_NEAR(m.Weight("c"), 5.0 / 36, 1e-9);
    EXPECT_NEAR(m.Weight("d"), 3.0 / 36, 1e-9);
  }
  std::vector<float> h;
  EXPECT_EQ(models_[1]->Embed(*train_, 5, 8, &h).code(),
            Status::Code::kInvalidArgument);  // end < w-1
}

TEST_F(CrossServiceTest, WindowEqualToPrototypeScoresZero) {
  ASSERT_TRUE(fit_[1].ok());
  CrossServiceModel& m = *models_[1];
  const std::vector<float> saved_c = *m.Prototype("c");
  // Reference period of one window: p_v = h_{v,100}.
  ASSERT_TRUE(m.ComputePrototypes(*train_, 100, 101).ok());
  std::vector<CrossServiceScore> sc;
  ASSERT_TRUE(m.Score(*train_, 100, 102, &sc).ok());
  ASSERT_EQ(sc.size(), 2u);
  EXPECT_EQ(sc[0].step, 100);
  for (int v = 0; v < 4; ++v) EXPECT_NEAR(sc[0].service[v], 0.0, 1e-5) << v;
  EXPECT_NEAR(sc[0].system, 0.0, 1e-5);
  double other = 0;
  for (int v = 0; v < 4; ++v) other += sc[1].service[v];
  EXPECT_GT(other, 1e-4);  // the next window differs
  // Restore the training prototypes (window ends [11, 146)).
  ASSERT_TRUE(m.ComputePrototypes(*train_, 11, 11 + m.stats().train_windows).ok());
  const std::vector<float>& back = *m.Prototype("c");
  for (size_t j = 0; j < back.size(); ++j) EXPECT_NEAR(back[j], saved_c[j], 1e-5);
}

// Scores of the fault windows (ends in the fault, at least half of the window in it)
// and of the normal test windows (ends after training, window before the fault).
struct FaultSummary {
  double fault_mean = 0, normal_mean = 0;  // s of the faulty service
  double top1 = 0, detected = 0, false_alarms = 0;
  double detected_system = 0, false_alarms_system = 0;  // S_t > threshold alone
};

FaultSummary Summarise(const CrossServiceModel& m, const ServiceGraphSeries& s) {
  std::vector<CrossServiceScore> sc;
  EXPECT_TRUE(m.Score(s, kTrain, 0, &sc).ok());
  FaultSummary r;
  int nf = 0, nn = 0;
  for (const auto& x : sc) {
    if (x.step >= kFaultFrom + 6 && x.step < kFaultTo) {
      ++nf;
      r.fault_mean += x.service[kFaulty];
      r.top1 += !x.ranked.empty() && x.ranked[0] == kFaulty;
      r.detected += x.anomaly;
      r.detected_system += x.system_anomaly;
    } else if (x.step < kFaultFrom) {
      ++nn;
      r.normal_mean += x.service[kFaulty];
      r.false_alarms += x.anomaly;
      r.false_alarms_system += x.system_anomaly;
    }
  }
  r.fault_mean /= nf;
  r.top1 /= nf;
  r.detected /= nf;
  r.detected_system /= nf;
  r.false_alarms_system /= nn;
  r.normal_mean /= nn;
  r.false_alarms /= nn;
  return r;
}

TEST_F(CrossServiceTest, SyntheticFaultRaisesScoreAndRanksFaultyServiceFirst) {
  for (int agg = 0; agg < 2; ++agg) {
    ASSERT_TRUE(fit_[agg].ok());
    const FaultSummary r = Summarise(*models_[agg], *train_);
    SCOPED_TRACE(agg ? "with aggregation" : "without aggregation");
    if (agg == 1) {
      // The paper's model. Held for model seeds 1-5 and 42 (measured).
      EXPECT_GT(r.fault_mean, 2.5 * r.normal_mean) << r.fault_mean << " vs " << r.normal_mean;
      EXPECT_GE(r.top1, 0.8);
      EXPECT_GE(r.detected, 0.8);
      EXPECT_LE(r.false_alarms, 0.2);
    } else {
      // The single-service ablation is seed-sensitive at this training length
      // (seeds 2 and 4 detect < 10 % of the fault windows): only the direction.
      EXPECT_GT(r.fault_mean, r.normal_mean);
    }
    std::printf(
        "[cross-service] aggregate=%d: s_c fault %.4f normal %.4f, top-1 %.2f, detected "
        "%.2f, false alarms %.2f (S only: %.2f, %.2f), final loss %.3f\n",
        agg, r.fault_mean, r.normal_mean, r.top1, r.detected, r.false_alarms, r.detected_system,
        r.false_alarms_system, models_[agg]->stats().final_loss);
  }
}

TEST_F(CrossServiceTest, UnknownServiceAndColumnMismatch) {
  ASSERT_TRUE(fit_[1].ok());
  const CrossServiceModel& m = *models_[1];
  ServiceGraphSeries s = MakeSeries(60, -1, 0, 0, 9);
  s.services[3] = "e";  // not in training
  std::vector<CrossServiceScore> sc;
  ASSERT_TRUE(m.Score(s, 0, 0, &sc).ok());
  ASSERT_EQ(sc.size(), size_t(60 - 11));
  EXPECT_EQ(sc[0].step, 11);
  EXPECT_TRUE(std::isnan(sc[0].service[3]));
  EXPECT_EQ(sc[0].ranked.size(), 3u);
  for (int v : sc[0].ranked) EXPECT_NE(v, 3);
  s.columns[0] = "metric:other";
  EXPECT_EQ(m.Score(s, 0, 0, &sc).code(), Status::Code::kInvalidArgument);
  // Too short a training range; bad config.
  CrossServiceModel tiny(SmallConfig(true));
  EXPECT_EQ(tiny.Fit(*train_, 0, 13).code(), Status::Code::kInvalidArgument);
  CrossServiceConfig bad = SmallConfig(true);
  bad.temperature = 0;
  CrossServiceModel badm(bad);
  EXPECT_EQ(badm.Fit(*train_, 0, kTrain).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(tiny.Score(*train_, 0, 0, &sc).code(), Status::Code::kInvalidArgument);  // untrained
}

TEST_F(CrossServiceTest, CustomAndUniformWeights) {
  CrossServiceConfig c = SmallConfig(true);
  c.steps = 2;
  c.weighting = ServiceWeighting::kCustom;
  c.weights = {{"a", 1}, {"c", 3}};
  CrossServiceModel m(c);
  ASSERT_TRUE(m.Fit(*train_, 0, kTrain).ok());
  EXPECT_NEAR(m.Weight("a"), 0.25, 1e-12);
  EXPECT_NEAR(m.Weight("b"), 0.0, 1e-12);
  EXPECT_NEAR(m.Weight("c"), 0.75, 1e-12);
  std::vector<CrossServiceScore> sc;
  ASSERT_TRUE(m.Score(*train_, 200, 201, &sc).ok());
  EXPECT_NEAR(sc[0].system, 0.25 * sc[0].service[0] + 0.75 * sc[0].service[2], 1e-9);
  c.weighting = ServiceWeighting::kUniform;
  CrossServiceModel u(c);
  ASSERT_TRUE(u.Fit(*train_, 0, kTrain).ok());
  EXPECT_NEAR(u.Weight("d"), 0.25, 1e-12);
  c.weighting = ServiceWeighting::kCustom;
  c.weights = {{"zz", 1}};
  CrossServiceModel z(c);
  EXPECT_EQ(z.Fit(*train_, 0, kTrain).code(), Status::Code::kInvalidArgument);  // all weights 0
}

TEST_F(CrossServiceTest, SaveLoadGivesIdenticalScores) {
  for (int agg = 0; agg < 2; ++agg) {
    ASSERT_TRUE(fit_[agg].ok());
    const std::string path = TempPath("model" + std::to_string(agg));
    ASSERT_TRUE(models_[agg]->Save(path).ok());
    std::unique_ptr<CrossServiceModel> back;
    Status st = LoadCrossServiceModel(path, &back);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(back->config().aggregate, agg == 1);
    EXPECT_EQ(back->config().window, 12);
    EXPECT_EQ(back->stats().threshold, models_[agg]->stats().threshold);
    EXPECT_EQ(back->services(), models_[agg]->services());
    std::vector<CrossServiceScore> a, b;
    ASSERT_TRUE(models_[agg]->Score(*train_, kTrain, 0, &a).ok());
    ASSERT_TRUE(back->Score(*train_, kTrain, 0, &b).ok());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].system, b[i].system) << i;
      EXPECT_EQ(a[i].anomaly, b[i].anomaly);
      EXPECT_EQ(a[i].ranked, b[i].ranked);
      for (int v = 0; v < 4; ++v) EXPECT_EQ(a[i].service[v], b[i].service[v]);
    }
    std::remove(path.c_str());
  }
}

TEST_F(CrossServiceTest, ForeignOrDamagedFileRefused) {
  std::unique_ptr<CrossServiceModel> out;
  EXPECT_EQ(LoadCrossServiceModel(TempPath("missing"), &out).code(), Status::Code::kNotFound);
  const std::string foreign = TempPath("foreign");
  ASSERT_TRUE(WriteModelFile(foreign, {{"format", "triad-fusion"}, {"version", 1}}, "xx").ok());
  EXPECT_EQ(LoadCrossServiceModel(foreign, &out).code(), Status::Code::kUnsupported);
  {
    std::ofstream f(foreign, std::ios::binary | std::ios::trunc);
    f << "not a model\n";
  }
  EXPECT_EQ(LoadCrossServiceModel(foreign, &out).code(), Status::Code::kUnsupported);
  ASSERT_TRUE(
      WriteModelFile(foreign, {{"format", "triad-cross-service"}, {"version", 2}}, "").ok());
  EXPECT_EQ(LoadCrossServiceModel(foreign, &out).code(), Status::Code::kUnsupported);
  // A header without the model's fields; then truncated weights.
  ASSERT_TRUE(
      WriteModelFile(foreign, {{"format", "triad-cross-service"}, {"version", 1}}, "").ok());
  EXPECT_EQ(LoadCrossServiceModel(foreign, &out).code(), Status::Code::kCorruption);
  ASSERT_TRUE(fit_[1].ok());
  ASSERT_TRUE(models_[1]->Save(foreign).ok());
  std::string text;
  {
    std::ifstream f(foreign, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  {
    std::ofstream f(foreign, std::ios::binary | std::ios::trunc);
    f << text.substr(0, text.size() - 10);
  }
  EXPECT_EQ(LoadCrossServiceModel(foreign, &out).code(), Status::Code::kCorruption);
  EXPECT_EQ(out, nullptr);
  std::remove(foreign.c_str());
}

// ---- Calibration and ranking (torch-free helpers shared with baselines) ---------

TEST(CrossServiceCalibration, ThresholdsAreValidationQuantiles) {
  CrossServiceConfig c;
  c.quantile = 1.0;  // the maximum: hand-checkable
  const double nan = std::nan("");
  // [windows][N]: service 1 unknown in the last window.
  const std::vector<std::vector<double>> val = {{0.1, 1.0}, {0.2, 2.0}, {0.3, 3.0}, {0.4, nan}};
  const ServiceScoreThresholds thr = FitServiceScoreThresholds(val, {0.25, 0.75}, c);
  ASSERT_EQ(thr.service.size(), 2u);
  EXPECT_NEAR(thr.service[0], 0.4, 1e-12);
  EXPECT_NEAR(thr.service[1], 3.0, 1e-12);
  // S: 0.775, 1.55, 2.325, 0.4 (service 0 alone); M: 1/3, 2/3, 1, 1.
  EXPECT_NEAR(thr.system, 2.325, 1e-12);
  EXPECT_NEAR(thr.max_ratio, 1.0, 1e-12);
  c.quantile = 0.5;  // linear interpolation between the 2nd and 3rd of 4
  const ServiceScoreThresholds med = FitServiceScoreThresholds(val, {0.25, 0.75}, c);
  EXPECT_NEAR(med.service[0], 0.25, 1e-12);
  EXPECT_NEAR(med.service[1], 2.0, 1e-12);  // NaN left out: median of 1, 2, 3
}

TEST(CrossServiceCalibration, MaxRatioRuleReplacesTheMarginRule) {
  ServiceScoreThresholds thr;
  thr.service = {1.0, 1.0, 2.0};
  thr.system = 10;  // S never fires here
  thr.max_ratio = 1.5;
  const std::vector<double> w = {1, 1, 1};
  CrossServiceConfig c;  // default: margin rule, 1.2 * thr_v
  CrossServiceScore sc;
  sc.service = {0.5, 1.4, 2.0};  // ratios 0.5, 1.4, 1.0
  FinishServiceScore(thr, w, c, nullptr, &sc);
  EXPECT_NEAR(sc.system, (0.5 + 1.4 + 2.0) / 3, 1e-12);
  EXPECT_NEAR(sc.max_ratio, 1.4, 1e-12);
  EXPECT_FALSE(sc.system_anomaly);
  EXPECT_TRUE(sc.anomaly);  // 1.4 > 1.2 * 1
  EXPECT_EQ(sc.alarmed, std::vector<int>({1}));
  EXPECT_EQ(sc.ranked, std::vector<int>({1, 2, 0}));
  c.max_ratio_alarm = true;
  FinishServiceScore(thr, w, c, nullptr, &sc);
  EXPECT_FALSE(sc.anomaly);  // 1.4 <= 1.5
  sc.service[2] = 3.2;       // ratio 1.6
  FinishServiceScore(thr, w, c, nullptr, &sc);
  EXPECT_TRUE(sc.anomaly);
  EXPECT_EQ(sc.ranked[0], 2);
  // Unknown services (NaN) are neither weighted nor ranked.
  sc.service = {0.5, std::nan(""), 2.0};
  FinishServiceScore(thr, w, c, nullptr, &sc);
  EXPECT_NEAR(sc.system, 1.25, 1e-12);
  EXPECT_EQ(sc.ranked, std::vector<int>({2, 0}));
}

TEST(CrossServiceCalibration, CalleeResidualMovesBlameToTheCallee) {
  // g -> c, g -> x, x -> y over steps 0-2; c is faulty, its caller g echoes it
  // with a higher score.
  ServiceGraphSeries s;
  s.services = {"c", "g", "x", "y"};
  s.steps = 4;
  s.edges.resize(4);
  s.edges[1] = {{1, 0, 5}, {1, 2, 3}};
  s.edges[2] = {{2, 3, 1}, {1, 1, 9}};  // a self-call is left out
  s.edges[3] = {{0, 3, 1}};             // outside the window ending at 2
  const auto callees = WindowCallees(s, 2, 3);
  ASSERT_EQ(callees.size(), 4u);
  EXPECT_TRUE(callees[0].empty());
  EXPECT_EQ(callees[1], std::vector<int>({0, 2}));
  EXPECT_EQ(callees[2], std::vector<int>({3}));
  EXPECT_TRUE(callees[3].empty());
  ServiceScoreThresholds thr;
  thr.service = {1, 1, 1, 1};
  thr.system = thr.max_ratio = 10;
  CrossServiceConfig c;
  CrossServiceScore sc;
  sc.service = {1.0, 1.25, 0.3, 0.2};
  FinishServiceScore(thr, {1, 1, 1, 1}, c, &callees, &sc);
  EXPECT_EQ(sc.ranked[0], 1);  // plain ratio: the echoing caller first
  c.rank_neighbour_weight = 1.0;
  FinishServiceScore(thr, {1, 1, 1, 1}, c, &callees, &sc);
  // keys: c 1.0, g 1.25 - 1.0, x 0.3 - 0.2, y 0.2.
  EXPECT_EQ(sc.ranked, std::vector<int>({0, 1, 3, 2}));
}

TEST_F(CrossServiceTest, MaxRatioAlarmIsCalibratedOnValidation) {
  ASSERT_TRUE(fit_[1].ok());
  const CrossServiceModel& m = *models_[1];
  EXPECT_GT(m.stats().max_ratio_threshold, 0.0);
  // M_t of the validation windows stays at or below its own quantile on
  // >= 98 % of them (quantile 0.99, interpolated), by construction.
  std::vector<CrossServiceScore> sc;
  const int from = 11 + m.stats().train_windows;
  ASSERT_TRUE(m.Score(*train_, from, kTrain, &sc).ok());
  ASSERT_EQ(static_cast<int>(sc.size()), m.stats().validation_windows);
  int above = 0;
  for (const auto& x : sc) above += x.max_ratio > m.stats().max_ratio_threshold;
  EXPECT_LE(above, 1);
  // On the fault: the faulty service's ratio dominates M_t in most fault windows.
  ASSERT_TRUE(m.Score(*train_, kFaultFrom + 6, kFaultTo, &sc).ok());
  int hits = 0;
  for (const auto& x : sc) hits += x.max_ratio > m.stats().max_ratio_threshold;
  EXPECT_GE(hits, static_cast<int>(0.8 * sc.size()));
  // Saved and loaded with the model.
  const std::string path = TempPath("maxratio");
  ASSERT_TRUE(m.Save(path).ok());
  std::unique_ptr<CrossServiceModel> back;
  ASSERT_TRUE(LoadCrossServiceModel(path, &back).ok());
  EXPECT_EQ(back->stats().max_ratio_threshold, m.stats().max_ratio_threshold);
  EXPECT_EQ(back->config().max_ratio_alarm, m.config().max_ratio_alarm);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace triad

// The long evaluations (simulator, Nezha, scoring time) are in cross_service_eval_test.cc.
