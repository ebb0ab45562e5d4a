#include "models/fusion.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace triad {
namespace {

// ---- InfoNCE, queue, POT ------------------------------------------------------

// Hand computation of CE(q_i -> [k; queue]) averaged over rows (vectors already unit length).
double HandNce(const std::vector<std::vector<double>>& q, const std::vector<std::vector<double>>& k,
               const std::vector<std::vector<double>>& queue, double t) {
  double total = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    auto dot = [&](const std::vector<double>& a) { return (q[i][0] * a[0] + q[i][1] * a[1]) / t; };
    double z = 0;
    for (const auto& r : k) z += std::exp(dot(r));
    for (const auto& r : queue) z += std::exp(dot(r));
    total += -(dot(k[i]) - std::log(z));
  }
  return total / double(q.size());
}

TEST(FusionLoss, InfoNceMatchesHandComputation) {
  // Identical unit rows, T = 1: each row's loss is log(1 + e^-1) (cos 1 vs cos 0).
  std::vector<float> eye = {1, 0, 0, 1};
  EXPECT_NEAR(SymmetricInfoNce(eye, eye, 2, 2, 1.0), std::log(1.0 + std::exp(-1.0)), 1e-6);

  // A non-trivial batch: a = (1,0), (0,1); b = (0.6,0.8), (0.8,0.6); T = 0.07.
  std::vector<float> a = {1, 0, 0, 1}, b = {0.6f, 0.8f, 0.8f, 0.6f};
  std::vector<std::vector<double>> A = {{1, 0}, {0, 1}}, B = {{0.6, 0.8}, {0.8, 0.6}};
  const double t = 0.07;
  const double want = 0.5 * (HandNce(A, B, {}, t) + HandNce(B, A, {}, t));
  EXPECT_NEAR(SymmetricInfoNce(a, b, 2, 2, t), want, 1e-4 * want);
  // Rows are normalised inside: scaling an input row changes nothing.
  std::vector<float> a2 = {3, 0, 0, 0.5f};
  EXPECT_NEAR(SymmetricInfoNce(a2, b, 2, 2, t), want, 1e-4 * want);
  // Queues add negatives to each direction.
  std::vector<float> qa = {-1, 0}, qb = {0, 1};
  const double want_q = 0.5 * (HandNce(A, B, {{0, 1}}, t) + HandNce(B, A, {{-1, 0}}, t));
  EXPECT_NEAR(SymmetricInfoNce(a, b, 2, 2, t, qa, qb), want_q, 1e-4 * want_q);
  EXPECT_GT(want_q, want);  // (0,1) is a strong negative for row 1 of a
}

TEST(FusionQueue, FifoAndSize) {
  EmbeddingQueue q(3, 2);
  EXPECT_EQ(q.size(), 0);
  const float r1[] = {1, 1, 2, 2};
  q.Enqueue(r1, 2);
  EXPECT_EQ(q.size(), 2);
  EXPECT_EQ(q.Oldest(0)[0], 1);
  EXPECT_EQ(q.Oldest(1)[0], 2);
  const float r2[] = {3, 3, 4, 4};
  q.Enqueue(r2, 2);  // 1 falls out
  EXPECT_EQ(q.size(), 3);
  EXPECT_EQ(q.capacity(), 3);
  EXPECT_EQ(q.Oldest(0)[0], 2);
  EXPECT_EQ(q.Oldest(1)[0], 3);
  EXPECT_EQ(q.Oldest(2)[0], 4);
  EXPECT_EQ(q.Oldest(2)[1], 4);
  const float r3[] = {5, 5, 6, 6, 7, 7, 8, 8};
  q.Enqueue(r3, 4);  // more rows than capacity: the last 3 remain
  EXPECT_EQ(q.size(), 3);
  EXPECT_EQ(q.Oldest(0)[0], 6);
  EXPECT_EQ(q.Oldest(2)[0], 8);
  EmbeddingQueue off(0, 2);
  off.Enqueue(r1, 2);
  EXPECT_EQ(off.size(), 0);
}

TEST(FusionThreshold, QuantileAndPot) {
  std::vector<double> v;
  for (int i = 0; i <= 100; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(EmpiricalQuantile(v, 0.5), 50);
  EXPECT_DOUBLE_EQ(EmpiricalQuantile(v, 0.99), 99);
  // Exponential samples: POT at risk 1e-3 should land near -log(1e-3) = 6.9.
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> e(1.0);
  std::vector<double> x(20000);
  for (auto& s : x) s = e(rng);
  const double thr = PotThreshold(x, 0.9, 1e-3);
  EXPECT_NEAR(thr, 6.9, 0.8);
}

// ---- Synthetic windows --------------------------------------------------------

constexpr int kT = 8, kD = 4;

// A window in latent state `s` (0..3) for logs and `ms` for metrics: state s
// emits templates 10+s and 20+s (plus shared 1, 2); metrics follow level ms.
LogMetricWindow MakeWindow(int s, int ms, std::mt19937_64& rng, int64_t t0) {
  LogMetricWindow w;
  w.scope = "svc";
  w.start = t0;
  w.end = t0 + 60;
  std::uniform_int_distribution<int> len(12, 20), pick(0, 9);
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    const int r = pick(rng);
    w.templates.push_back(r < 4 ? 10 + s : r < 7 ? 20 + s : r < 9 ? 1 : 2);
  }
  w.log_count = w.templates.size();
  w.steps = kT;
  w.dims = kD;
  std::normal_distribution<float> noise(0, 0.15f);
  for (int t = 0; t < kT; ++t)
    for (int f = 0; f < kD; ++f) {
      float base = f == 0 ? ms : f == 1 ? 3 - ms : f == 2 ? (ms % 2) * 2.0f : std::sin(t + ms);
      w.values.push_back(10 + base + noise(rng));
      w.mask.push_back(1);
    }
  w.metric_samples = kT * kD;
  return w;
}

MetricSchema Schema() {
  MetricSchema s;
  s.features["svc"] = {"m0", "m1", "m2", "m3"};
  return s;
}

FusionConfig TinyConfig() {
  FusionConfig c;
  c.d_model = 32;
  c.layers = 1;
  c.heads = 2;
  c.ff = 64;
  c.conv_channels = 8;
  c.lstm_hidden = 16;
  c.embedding = 32;
  c.epochs = 15;
  c.batch = 32;
  c.lr = 3e-3;
  c.queue = 64;
  c.momentum_m = 0.99;
  c.threads = 2;
  c.verbose = false;
  c.quantile = 0.95;
  // The synthetic windows are fully observed: a constant mask channel only
  // changes the random initialisation (FusionMask tests the channel).
  c.mask_channel = false;
  return c;
}

std::vector<LogMetricWindow> NormalWindows(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<LogMetricWindow> w;
  for (int i = 0; i < n; ++i) {
    const int s = (i / 3) % 4;  // states persist a few windows
    w.push_back(MakeWindow(s, s, rng, int64_t(i) * 60));
  }
  return w;
}

std::string TempPath(const std::string& name) {
  return "/tmp/triad_fusion_test_" + std::to_string(getpid()) + "_" + name;
}

class FusionModelTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new FusionModel(TinyConfig());
    ASSERT_TRUE(model_->Fit(NormalWindows(240, 7), Schema()).ok());
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static FusionModel* model_;
};
FusionModel* FusionModelTest::model_ = nullptr;

TEST_F(FusionModelTest, ShapesAndStats) {
  const FusionStats& s = model_->stats();
  EXPECT_EQ(s.vocab, 10);  // 1, 2, 10..13, 20..23
  EXPECT_EQ(s.dims, kD);
  EXPECT_EQ(s.steps, kT);
  EXPECT_EQ(s.train_windows + s.validation_windows, 240u);
  EXPECT_EQ(s.validation_windows, 48u);
  EXPECT_EQ(s.train_pairs, s.train_windows);
  EXPECT_TRUE(std::isfinite(s.final_loss));
  auto test = NormalWindows(10, 99);
  std::vector<const LogMetricWindow*> p;
  for (const auto& w : test) p.push_back(&w);
  std::vector<float> zl, zm;
  ASSERT_TRUE(model_->Embed(p, &zl, &zm).ok());
  ASSERT_EQ(zl.size(), 10u * 32);
  ASSERT_EQ(zm.size(), 10u * 32);
  double norm = 0;
  for (int j = 0; j < 32; ++j) norm += zl[j] * zl[j];
  EXPECT_NEAR(norm, 1.0, 1e-4);  // L2-normalised
  std::vector<std::array<float, 2>> pts;
  ASSERT_TRUE(model_->Project2D(p, &pts).ok());
  ASSERT_EQ(pts.size(), 10u);
  double spread = 0;
  for (const auto& q : pts) spread += std::fabs(q[0]);
  EXPECT_GT(spread, 0);
  std::vector<FusionScore> sc;
  ASSERT_TRUE(model_->Score(p, &sc).ok());
  ASSERT_EQ(sc.size(), 10u);
  for (const auto& r : sc) {
    EXPECT_EQ(r.used, FusionModality::kBoth);
    EXPECT_TRUE(std::isfinite(r.score));
    EXPECT_FALSE(std::isnan(r.disagreement));
  }
  // Wrong width is refused.
  LogMetricWindow bad = test[0];
  bad.dims = 3;
  bad.values.resize(kT * 3);
  bad.mask.resize(kT * 3);
  std::vector<const LogMetricWindow*> pb = {&bad};
  EXPECT_FALSE(model_->Score(pb, &sc).ok());
}

TEST_F(FusionModelTest, BrokenPairingIsFlagged) {
  // Each modality on its own is normal; only the pairing is wrong.
  std::mt19937_64 rng(123);
  std::vector<LogMetricWindow> test;
  std::vector<int> label;
  for (int i = 0; i < 40; ++i) {
    const int s = i % 4;
    test.push_back(MakeWindow(s, s, rng, 100000 + i * 60));
    label.push_back(0);
  }
  for (int i = 0; i < 20; ++i) {
    const int s = i % 4;
    test.push_back(MakeWindow(s, (s + 2) % 4, rng, 200000 + i * 60));
    label.push_back(1);
  }
  std::vector<FusionScore> sc;
  ASSERT_TRUE(model_->Score(test, &sc).ok());
  int tp = 0, fp = 0;
  double mean_pos = 0, mean_neg = 0;
  for (size_t i = 0; i < sc.size(); ++i) {
    (label[i] ? mean_pos : mean_neg) += sc[i].score;
    if (sc[i].anomaly) (label[i] ? tp : fp)++;
  }
  mean_pos /= 20;
  mean_neg /= 40;
  EXPECT_GT(mean_pos, 2 * mean_neg);
  EXPECT_GE(tp, 14) << "recall " << tp / 20.0;
  EXPECT_LE(fp, 6) << "false positives among 40 normal windows";
  // The disagreement term carries it: larger on broken pairs.
  double d_pos = 0, d_neg = 0;
  for (size_t i = 0; i < sc.size(); ++i) (label[i] ? d_pos : d_neg) += sc[i].disagreement;
  EXPECT_GT(d_pos / 20, 2 * d_neg / 40);
}

TEST_F(FusionModelTest, MissingModalityScoredWithTheOther) {
  std::mt19937_64 rng(5);
  LogMetricWindow no_logs = MakeWindow(1, 1, rng, 0);
  no_logs.templates.clear();
  no_logs.log_count = 0;
  no_logs.missing_logs = true;
  LogMetricWindow no_metrics = MakeWindow(2, 2, rng, 60);
  no_metrics.missing_metrics = true;
  LogMetricWindow none = no_logs;
  none.missing_metrics = true;
  std::vector<FusionScore> sc;
  ASSERT_TRUE(model_->Score(std::vector<LogMetricWindow>{no_logs, no_metrics, none}, &sc).ok());
  EXPECT_EQ(sc[0].used, FusionModality::kMetrics);
  EXPECT_TRUE(std::isnan(sc[0].log_distance));
  EXPECT_FALSE(std::isnan(sc[0].metric_distance));
  EXPECT_DOUBLE_EQ(sc[0].threshold, model_->stats().threshold_metrics);
  EXPECT_EQ(sc[1].used, FusionModality::kLogs);
  EXPECT_DOUBLE_EQ(sc[1].threshold, model_->stats().threshold_logs);
  EXPECT_EQ(sc[2].used, FusionModality::kNone);
  EXPECT_FALSE(sc[2].anomaly);
  EXPECT_GT(model_->stats().validation_logs, 0u);  // calibrated from validation pairs
}

TEST_F(FusionModelTest, ExplainPointsAtTheMovedMetric) {
  std::mt19937_64 rng(77);
  LogMetricWindow w = MakeWindow(1, 1, rng, 0);
  for (int t = 0; t < kT; ++t) w.values[size_t(t) * kD + 3] += 6.0f;  // metric m3 shifted
  std::vector<FusionScore> sc;
  ASSERT_TRUE(model_->Score(std::vector<LogMetricWindow>{w}, &sc).ok());
  FusionAttribution a;
  ASSERT_TRUE(model_->Explain(w, 3, &a).ok());
  EXPECT_NEAR(a.score, sc[0].score, 1e-5 * std::fabs(sc[0].score));  // other batch: float order
  ASSERT_EQ(a.metrics.size(), 3u);
  EXPECT_EQ(a.metrics[0].first, 3);
  EXPECT_EQ(a.metric_names[0], "m3");
  EXPECT_GT(a.metrics[0].second, 0);
  ASSERT_LE(a.templates.size(), 3u);
  EXPECT_GE(a.metrics[0].second, a.metrics[1].second);

  // A foreign template (never seen in training) raises the score most among templates.
  LogMetricWindow u = MakeWindow(2, 2, rng, 60);
  for (int i = 0; i < 8; ++i) u.templates[size_t(i) * 2] = 999;
  ASSERT_TRUE(model_->Explain(u, 3, &a).ok());
  ASSERT_FALSE(a.templates.empty());
  EXPECT_EQ(a.templates[0].first, 999u);
}

TEST_F(FusionModelTest, SaveLoadGivesIdenticalScores) {
  const std::string path = TempPath("model.bin");
  ASSERT_TRUE(model_->Save(path).ok());
  std::unique_ptr<FusionModel> loaded;
  Status s = LoadFusionModel(path, &loaded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto test = NormalWindows(20, 4242);
  test[3].templates.clear();  // one metric-only window
  std::vector<FusionScore> a, b;
  ASSERT_TRUE(model_->Score(test, &a).ok());
  ASSERT_TRUE(loaded->Score(test, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].score, b[i].score) << i;  // bit-identical
    EXPECT_EQ(a[i].anomaly, b[i].anomaly);
    EXPECT_EQ(a[i].used, b[i].used);
  }
  EXPECT_EQ(loaded->stats().threshold_both, model_->stats().threshold_both);
  EXPECT_EQ(loaded->stats().vocab, model_->stats().vocab);
  EXPECT_EQ(loaded->config().d_model, 32);

  // Foreign and damaged files are refused.
  const std::string other = TempPath("other.bin");
  {
    std::ofstream f(other);
    f << "{\"format\":\"triad-deeplog\",\"version\":1}\nxyz";
  }
  std::unique_ptr<FusionModel> x;
  EXPECT_TRUE(LoadFusionModel(other, &x).code() == Status::Code::kUnsupported);
  {
    std::ofstream f(other);
    f << "hello world\n";
  }
  EXPECT_TRUE(LoadFusionModel(other, &x).code() == Status::Code::kUnsupported);
  {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream f(other, std::ios::binary);
    f << all.substr(0, all.size() - 100);
  }
  EXPECT_TRUE(LoadFusionModel(other, &x).code() == Status::Code::kCorruption);
  EXPECT_EQ(x, nullptr);
  std::remove(path.c_str());
  std::remove(other.c_str());
}

TEST_F(FusionModelTest, AttachmentsAndMaskOptionSurviveSaveLoad) {
  EXPECT_TRUE(FusionConfig().mask_channel);  // the default (TinyConfig turns it off)
  const std::string path = TempPath("attach.bin");
  FusionModel& m = *model_;
  m.SetAttachment("drain", "{\"format\":\"triad-drain\",\n\"x\":1}");
  m.SetAttachment("windows", "a");
  m.SetAttachment("windows", "b");  // replaced
  ASSERT_TRUE(m.Save(path).ok());
  std::unique_ptr<FusionModel> loaded;
  ASSERT_TRUE(LoadFusionModel(path, &loaded).ok());
  std::remove(path.c_str());
  ASSERT_NE(loaded->Attachment("drain"), nullptr);
  EXPECT_EQ(*loaded->Attachment("drain"), "{\"format\":\"triad-drain\",\n\"x\":1}");
  EXPECT_EQ(*loaded->Attachment("windows"), "b");
  EXPECT_EQ(loaded->Attachment("nosuch"), nullptr);
  EXPECT_EQ(loaded->config().mask_channel, m.config().mask_channel);
}

// The metric encoder reads the missing-data mask: the same values with some
// cells marked unobserved (carried forward by the window builder) embed
// differently iff mask_channel is on.
TEST(FusionMask, MaskChannelChangesTheMetricEmbedding) {
  for (bool mask_channel : {true, false}) {
    FusionConfig c = TinyConfig();
    c.mode = FusionMode::kMetricOnly;
    c.epochs = 2;
    c.mask_channel = mask_channel;
    FusionModel m(c);
    ASSERT_TRUE(m.Fit(NormalWindows(60, 3), Schema()).ok());
    std::mt19937_64 rng(9);
    LogMetricWindow full = MakeWindow(1, 1, rng, 0);
    LogMetricWindow gappy = full;  // identical values
    for (int t = 2; t < kT; ++t) gappy.mask[size_t(t) * kD + 0] = 0;
    std::vector<const LogMetricWindow*> p = {&full, &gappy};
    std::vector<float> zm;
    ASSERT_TRUE(m.Embed(p, nullptr, &zm).ok());
    ASSERT_EQ(zm.size(), 2u * c.embedding);
    double diff = 0;
    for (int j = 0; j < c.embedding; ++j) diff += std::fabs(zm[j] - zm[c.embedding + j]);
    if (mask_channel) EXPECT_GT(diff, 1e-4);
    else EXPECT_EQ(diff, 0.0);
    // Explain still names metrics (the mask columns are not features).
    FusionAttribution a;
    ASSERT_TRUE(m.Explain(gappy, -1, &a).ok());
    EXPECT_EQ(a.metrics.size(), size_t(kD));
    // A file saved without the option loads it as saved.
    const std::string path = TempPath("mask.bin");
    ASSERT_TRUE(m.Save(path).ok());
    std::unique_ptr<FusionModel> loaded;
    ASSERT_TRUE(LoadFusionModel(path, &loaded).ok());
    std::remove(path.c_str());
    EXPECT_EQ(loaded->config().mask_channel, mask_channel);
    std::vector<float> zl2;
    ASSERT_TRUE(loaded->Embed(p, nullptr, &zl2).ok());
    EXPECT_EQ(zl2, zm);
  }
}

TEST(FusionMomentum, UpdateFormula) {
  FusionConfig c = TinyConfig();
  c.epochs = 1;
  c.momentum_m = 0.9;
  FusionModel m(c);
  ASSERT_TRUE(m.Fit(NormalWindows(40, 3), Schema()).ok());
  const std::vector<float> q0 = m.ParametersForTest(false), k0 = m.ParametersForTest(true);
  ASSERT_EQ(q0.size(), k0.size());
  ASSERT_FALSE(q0.empty());
  m.PerturbAndMomentumUpdateForTest(0.5f);
  const std::vector<float> q1 = m.ParametersForTest(false), k1 = m.ParametersForTest(true);
  double max_err = 0, moved = 0;
  for (size_t i = 0; i < q0.size(); ++i) {
    EXPECT_FLOAT_EQ(q1[i], q0[i] + 0.5f);
    const double want = 0.9 * k0[i] + 0.1 * q1[i];
    max_err = std::max(max_err, std::fabs(k1[i] - want));
    moved = std::max(moved, std::fabs(double(k1[i]) - k0[i]));
  }
  EXPECT_LT(max_err, 1e-5);
  EXPECT_GT(moved, 0.04);
}

TEST(FusionConfigTest, RejectsBadInput) {
  FusionConfig c = TinyConfig();
  c.heads = 3;  // 32 % 3 != 0
  FusionModel m(c);
  EXPECT_TRUE(m.Fit(NormalWindows(10, 1), Schema()).code() == Status::Code::kInvalidArgument);
  FusionModel m2(TinyConfig());
  EXPECT_TRUE(m2.Fit({}, Schema()).code() == Status::Code::kInvalidArgument);
  auto w = NormalWindows(10, 1);
  w[4].scope = "other";
  EXPECT_TRUE(m2.Fit(w, Schema()).code() == Status::Code::kInvalidArgument);
  std::vector<FusionScore> sc;
  EXPECT_FALSE(m2.Score(NormalWindows(2, 1), &sc).ok());  // not trained
}

TEST(FusionAblations, EveryModeTrainsAndScores) {
  for (FusionMode mode : {FusionMode::kLogOnly, FusionMode::kMetricOnly, FusionMode::kConcat}) {
    FusionConfig c = TinyConfig();
    c.mode = mode;
    c.epochs = 3;
    FusionModel m(c);
    ASSERT_TRUE(m.Fit(NormalWindows(60, 11), Schema()).ok()) << FusionModeName(mode);
    std::vector<FusionScore> sc;
    ASSERT_TRUE(m.Score(NormalWindows(5, 12), &sc).ok());
    for (const auto& r : sc) {
      EXPECT_TRUE(std::isfinite(r.score)) << FusionModeName(mode);
      EXPECT_TRUE(std::isnan(r.disagreement));
      EXPECT_NE(r.used, FusionModality::kNone);
    }
  }
  FusionConfig c = TinyConfig();
  c.momentum = false;
  c.augment = false;
  c.epochs = 3;
  FusionModel m(c);
  ASSERT_TRUE(m.Fit(NormalWindows(60, 11), Schema()).ok());
  EXPECT_TRUE(m.ParametersForTest(true).empty());  // no momentum encoder
}

}  // namespace
}  // namespace triad
