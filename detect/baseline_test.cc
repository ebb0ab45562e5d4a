#include "detect/baseline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace triad {
namespace {

constexpr TimeNs kT0 = 1700000000LL * kNsPerSec;
constexpr TimeNs kW = 30 * kNsPerSec;

// Deterministic jitter in [-1, 1].
double Jitter(int i, int salt) { return ((i * 7919 + salt * 104729) % 201) / 100.0 - 1.0; }

WindowFeatures Normal(const std::string& svc, int i) {
  WindowFeatures w;
  w.service = svc;
  w.start = kT0 + i * kW;
  w.end = w.start + kW;
  w.features["log:count"] = 100 + 8 * Jitter(i, 1);
  w.features["log:error"] = (i % 10 == 0) ? 1 : 0;
  w.features["trace:p95_ms"] = 50 + 3 * Jitter(i, 2);
  w.features["trace:error_ratio"] = 0.01 + 0.005 * Jitter(i, 3);
  w.features["metric:cpu"] = 0.3 + 0.02 * Jitter(i, 4);
  w.templates["user <*> ok"] = 90;
  w.template_examples["user <*> ok"] = "user 7 ok";
  if (svc == "frontend") w.callees["backend"] = 40;
  return w;
}

std::vector<WindowFeatures> Training(int n) {
  std::vector<WindowFeatures> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Normal("backend", i));
    out.push_back(Normal("frontend", i));
  }
  return out;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("triad_baseline_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(BaselineTest, FlagsInjectedOutlierNotNormalWindows) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(60)).ok());
  EXPECT_GE(d.threshold(), d.config().min_threshold);
  // Fresh normal windows (unseen jitter) stay below the threshold.
  for (int i = 60; i < 80; ++i) {
    WindowScore s = d.Score(Normal("backend", i));
    EXPECT_FALSE(s.anomaly) << i << " score " << s.score << " " << DescribeEvidence(s);
  }
  WindowFeatures bad = Normal("backend", 61);
  bad.features["trace:p95_ms"] = 900;
  WindowScore s = d.Score(bad);
  EXPECT_TRUE(s.anomaly);
  ASSERT_FALSE(s.top.empty());
  EXPECT_EQ(s.top[0].feature, "trace:p95_ms");
  EXPECT_DOUBLE_EQ(s.top[0].observed, 900);
  EXPECT_NEAR(s.top[0].expected, 50, 3);
  EXPECT_LE(s.score, d.config().z_cap);
  EXPECT_NE(DescribeEvidence(s).find("expected"), std::string::npos);
  EXPECT_EQ(TopFeatureNames(s).substr(0, 12), "trace:p95_ms");
}

TEST(BaselineTest, ErrorsAreOneSided) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(60)).ok());
  WindowFeatures fewer = Normal("backend", 62);
  fewer.features["trace:error_ratio"] = 0;  // fewer errors than usual: fine
  EXPECT_FALSE(d.Score(fewer).anomaly);
  WindowFeatures more = Normal("backend", 62);
  more.features["trace:error_ratio"] = 0.4;
  EXPECT_TRUE(d.Score(more).anomaly);
}

TEST(BaselineTest, NewTemplatesAndNewCallees) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(60)).ok());
  WindowFeatures w = Normal("frontend", 65);
  w.templates["connection to <*> refused"] = 12;
  w.template_examples["connection to <*> refused"] = "connection to 10.0.0.7 refused";
  w.callees["payments"] = 5;
  WindowScore s = d.Score(w);
  EXPECT_TRUE(s.anomaly);
  std::string ev = DescribeEvidence(s);
  EXPECT_NE(ev.find("connection to 10.0.0.7 refused"), std::string::npos) << ev;
  EXPECT_NE(ev.find("payments"), std::string::npos) << ev;
  std::string names = TopFeatureNames(s);
  EXPECT_NE(names.find("log:new_templates"), std::string::npos);
  EXPECT_NE(names.find("trace:new_callees"), std::string::npos);
}

TEST(BaselineTest, MissingFeatureAndAbsentService) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(60)).ok());
  WindowFeatures nometrics = Normal("backend", 66);
  nometrics.features.erase("metric:cpu");
  WindowScore s = d.Score(nometrics);
  ASSERT_FALSE(s.top.empty());
  EXPECT_EQ(s.top[0].feature, "missing:metric:cpu");

  // backend goes silent for windows 70..72 of 70..75.
  std::vector<WindowFeatures> test;
  for (int i = 70; i < 75; ++i) {
    test.push_back(Normal("frontend", i));
    if (i >= 73) test.push_back(Normal("backend", i));
  }
  auto scores = d.ScoreRange(test, kT0 + 70 * kW, kT0 + 75 * kW);
  ASSERT_EQ(scores.size(), 10u);
  int absent = 0;
  for (const auto& sc : scores) {
    if (!sc.top.empty() && sc.top[0].feature == "telemetry:absent") {
      ++absent;
      EXPECT_EQ(sc.service, "backend");
      EXPECT_LT(sc.start, kT0 + 73 * kW);
    }
  }
  EXPECT_EQ(absent, 3);
  WindowScore unknown = d.Score(Normal("newcomer", 70));
  EXPECT_EQ(unknown.top.at(0).feature, "service:new");
}

TEST(BaselineTest, ThresholdComesFromTrainingOnly) {
  // A validation window (the last 20 % of training) holds a moderate outlier:
  // the threshold must rise above it, and scoring test data must not move it.
  auto train = Training(60);
  for (auto& w : train)
    if (w.service == "backend" && (w.start == kT0 + 55 * kW || w.start == kT0 + 57 * kW))
      w.features["metric:cpu"] = 0.4;
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(train).ok());
  BaselineDetector plain;
  ASSERT_TRUE(plain.Fit(Training(60)).ok());
  EXPECT_GT(d.threshold(), plain.threshold());
  double before = d.threshold();
  WindowFeatures bad = Normal("backend", 90);
  bad.features["trace:p95_ms"] = 5000;
  (void)d.Score(bad);
  (void)d.ScoreRange({bad}, bad.start, bad.end);
  EXPECT_EQ(d.threshold(), before);
  // The same outlier in a test window scores below the threshold.
  WindowFeatures mild = Normal("backend", 91);
  mild.features["metric:cpu"] = 0.4;
  WindowScore ms = d.Score(mild);
  EXPECT_GT(ms.score, plain.threshold());
  EXPECT_LT(ms.score, d.threshold());
}

TEST(BaselineTest, FitRejectsBadInput) {
  BaselineDetector d;
  EXPECT_FALSE(d.Fit({}).ok());
  auto train = Training(10);
  train[3].end = train[3].start + 60 * kNsPerSec;
  EXPECT_EQ(d.Fit(train).code(), Status::Code::kInvalidArgument);
}

TEST(BaselineTest, SaveLoadRoundTripIsExact) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(40)).ok());
  std::string p1 = TempPath("m1.json"), p2 = TempPath("m2.json");
  ASSERT_TRUE(d.Save(p1).ok());
  BaselineDetector e;
  Status s = BaselineDetector::Load(p1, &e);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(e.Save(p2).ok());
  std::string a = ReadAll(p1), b = ReadAll(p2);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\"format\": \"triad-model\""), std::string::npos);
  EXPECT_NE(a.find("\"model\": \"baseline\""), std::string::npos);
  EXPECT_EQ(d.threshold(), e.threshold());
  for (int i = 40; i < 50; ++i) {
    WindowFeatures w = Normal(i % 2 ? "frontend" : "backend", i);
    w.features["trace:p95_ms"] += i;
    WindowScore x = d.Score(w), y = e.Score(w);
    EXPECT_EQ(x.score, y.score);
    EXPECT_EQ(x.anomaly, y.anomaly);
    EXPECT_EQ(DescribeEvidence(x), DescribeEvidence(y));
  }
  std::filesystem::remove(p1);
  std::filesystem::remove(p2);
}

TEST(BaselineTest, LoadRefusesOtherModelsAndVersions) {
  BaselineDetector d;
  ASSERT_TRUE(d.Fit(Training(20)).ok());
  std::string text = d.ToJson();
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos);
    return s.replace(p, from.size(), to);
  };
  BaselineDetector e;
  Status s = e.FromJson(replace(text, "\"model\": \"baseline\"", "\"model\": \"lstm\""));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("lstm"), std::string::npos) << s.message();
  s = e.FromJson(replace(text, "\"version\": 1", "\"version\": 2"));
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.message();
  s = e.FromJson(replace(text, "\"format\": \"triad-model\"", "\"format\": \"other\""));
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(e.FromJson("{not json").ok());
  EXPECT_FALSE(e.FromJson("{\"format\":\"triad-model\",\"model\":\"baseline\",\"version\":1}").ok());
  EXPECT_FALSE(e.fitted());
  std::string missing = TempPath("nope.json");
  EXPECT_EQ(BaselineDetector::Load(missing, &e).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace triad
