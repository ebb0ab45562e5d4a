#include "detect/pca_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace triad {
namespace {

Session S(std::vector<uint32_t> keys) {
  Session s;
  s.keys = std::move(keys);
  return s;
}

std::string TmpPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed())))
      .string();
}

TEST(SymmetricEigenTest, ReconstructsMatrix) {
  const size_t n = 6;
  std::mt19937 rng(7);
  std::normal_distribution<double> g;
  std::vector<double> b(n * n), a(n * n, 0.0);
  for (double& x : b) x = g(rng);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      for (size_t k = 0; k < n; ++k) a[i * n + j] += b[i * n + k] * b[j * n + k];
  std::vector<double> vals, vecs;
  SymmetricEigen(a, n, &vals, &vecs);
  for (size_t i = 1; i < n; ++i) EXPECT_GE(vals[i - 1], vals[i]);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      double r = 0, dot = 0;
      for (size_t k = 0; k < n; ++k) {
        r += vecs[i * n + k] * vals[k] * vecs[j * n + k];
        dot += vecs[k * n + i] * vecs[k * n + j];
      }
      EXPECT_NEAR(r, a[i * n + j], 1e-9);
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-9);
    }
  // A diagonal matrix: eigenvalues are the diagonal, sorted.
  SymmetricEigen({1, 0, 0, 0, 3, 0, 0, 0, 2}, 3, &vals, &vecs);
  EXPECT_EQ(vals, (std::vector<double>{3, 2, 1}));
}

// Normal sessions: a workflow 1 (2 3)^k 4 with k in 1..3 -> counts of 2 and 3
// always equal. Anomalies break that correlation or use a new key.
std::vector<Session> Normal(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Session> out;
  for (int i = 0; i < count; ++i) {
    std::vector<uint32_t> k = {1};
    int reps = 1 + static_cast<int>(rng() % 3);
    for (int r = 0; r < reps; ++r) {
      k.push_back(2);
      k.push_back(3);
    }
    k.push_back(4);
    out.push_back(S(k));
  }
  return out;
}

TEST(PcaDetectorTest, SeparatesBrokenCorrelationAndExplains) {
  auto train = Normal(300, 1);
  for (bool tfidf : {false, true}) {
    PcaConfig cfg;
    cfg.tf_idf = tfidf;
    PcaDetector det(cfg);
    ASSERT_TRUE(det.Fit(train).ok());
    EXPECT_GE(det.components(), 1);
    size_t fp = 0;
    for (const Session& s : Normal(200, 2)) fp += det.Score(s).anomaly;
    EXPECT_EQ(fp, 0u) << "tfidf " << tfidf;
    // Three 2s but one 3: the correlated pair breaks.
    SequenceVerdict v = det.Score(S({1, 2, 3, 2, 2, 4}));
    EXPECT_TRUE(v.anomaly) << v.reason;
    EXPECT_GT(v.score, det.threshold());
    // A key never seen in training.
    SequenceVerdict u = det.Score(S({1, 2, 3, 9, 4}));
    EXPECT_TRUE(u.anomaly);
    EXPECT_EQ(u.observed, 9u);
    EXPECT_EQ(u.position, 3);
    EXPECT_NE(u.reason.find("unseen"), std::string::npos) << u.reason;
  }
  // Without TF-IDF a missing end (no 4) is caught too; the culprit is E4.
  PcaDetector det;
  ASSERT_TRUE(det.Fit(train).ok());
  SequenceVerdict m = det.Score(S({1, 2, 3}));
  EXPECT_TRUE(m.anomaly) << m.reason;
}

TEST(PcaDetectorTest, QuantileThresholdAndBadConfig) {
  auto train = Normal(200, 3);
  PcaConfig cfg;
  cfg.threshold = "quantile";
  cfg.margin = 2.0;
  PcaDetector det(cfg);
  ASSERT_TRUE(det.Fit(train).ok());
  EXPECT_GE(det.threshold(), 0);
  EXPECT_TRUE(det.Score(S({1, 2, 2, 2, 3, 4})).anomaly);
  PcaConfig bad;
  bad.variance = 1.5;
  EXPECT_FALSE(PcaDetector(bad).Fit(train).ok());
  EXPECT_FALSE(PcaDetector().Fit({}).ok());
}

TEST(PcaDetectorTest, SaveLoadRoundTripAndRefusals) {
  auto train = Normal(200, 4);
  PcaDetector det;
  det.set_vocabulary({{1, "start <*>"}, {4, "end"}});
  ASSERT_TRUE(det.Fit(train).ok());
  std::string path = TmpPath("pca_model.json");
  ASSERT_TRUE(det.Save(path).ok());
  std::unique_ptr<PcaDetector> back;
  ASSERT_TRUE(PcaDetector::Load(path, &back).ok());
  EXPECT_EQ(back->threshold(), det.threshold());
  EXPECT_EQ(back->vocabulary().at(1), "start <*>");
  for (const Session& s : {S({1, 2, 3, 4}), S({1, 2, 2, 3, 4}), S({7})}) {
    EXPECT_EQ(back->Score(s).score, det.Score(s).score);
    EXPECT_EQ(back->Score(s).anomaly, det.Score(s).anomaly);
  }
  std::unique_ptr<SequenceDetector> any;
  EXPECT_TRUE(LoadPcaDetector(path, &any).ok());
  EXPECT_EQ(any->name(), "pca");
  // Another model, a wrong version, garbage, a missing file.
  auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  write(R"({"format":"triad-model","model":"stide","version":1})");
  Status s = PcaDetector::Load(path, &back);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'stide'"), std::string::npos) << s.ToString();
  write(R"({"format":"triad-model","model":"pca","version":99})");
  EXPECT_EQ(PcaDetector::Load(path, &back).code(), Status::Code::kUnsupported);
  write(R"({"format":"triad-model","model":"pca","version":1,"config":{}})");
  EXPECT_EQ(PcaDetector::Load(path, &back).code(), Status::Code::kCorruption);
  write("not json");
  EXPECT_FALSE(PcaDetector::Load(path, &back).ok());
  std::filesystem::remove(path);
  EXPECT_EQ(PcaDetector::Load(path, &back).code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace triad
