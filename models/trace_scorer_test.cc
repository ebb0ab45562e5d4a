#include "models/trace_scorer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "models/trace_lstm.h"

namespace triad {
namespace {

// gateway GET /orders -> orders Load -> db Query, db Query (two queries), each
// span 1..10 ms with +-10 % jitter.
Trace OrderTrace(std::mt19937& rng, int id, double slow_db = 1.0, bool extra_call = false) {
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  Trace t;
  t.trace_id = "tr" + std::to_string(id);
  struct S { const char* svc; const char* name; const char* parent; const char* id; double ms; };
  std::vector<S> spans = {{"gateway", "GET /orders", "", "s0", 10},
                          {"orders", "Load", "s0", "s1", 6},
                          {"db", "Query", "s1", "s2", 2 * slow_db},
                          {"db", "Query", "s1", "s3", 2}};
  if (extra_call) spans.insert(spans.begin() + 2, {"payments", "Charge", "s1", "s9", 1});
  TimeNs at = 1'000'000'000'000 + id * kNsPerSec;
  for (const S& x : spans) {
    Span s;
    s.trace_id = t.trace_id;
    s.span_id = x.id;
    s.parent_span_id = x.parent;
    s.service = x.svc;
    s.name = x.name;
    s.start = at;
    s.end = at + static_cast<TimeNs>(x.ms * jitter(rng) * kNsPerMs);
    at += kNsPerMs / 10;  // strictly increasing starts: a fixed event order
    t.spans.push_back(s);
  }
  FinalizeTrace(&t);
  return t;
}

class TraceScorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::mt19937 rng(7);
    std::vector<LabeledTrace> train;
    for (int i = 0; i < 300; ++i) train.push_back(LabelTrace(OrderTrace(rng, i)));
    TraceModelConfig c;
    c.kind = TraceModelKind::kMultimodal;
    c.hidden = c.joint_hidden = 16;
    c.epochs = 40;
    c.batch = 32;
    c.lr = 1e-2;
    c.top_k = 1;
    c.threads = 1;
    c.length_filter.min_length = 1;
    TraceModel m(c);
    ASSERT_TRUE(m.Fit(train, {}).ok());
    path_ = new std::string(::testing::TempDir() + "trace_scorer_test.model");
    ASSERT_TRUE(m.Save(*path_).ok());
  }
  static void TearDownTestSuite() {
    std::remove(path_->c_str());
    delete path_;
  }
  static std::string* path_;
};
std::string* TraceScorerTest::path_ = nullptr;

TEST_F(TraceScorerTest, NormalTraceIsNotAnomalous) {
  std::unique_ptr<TraceScorer> s;
  ASSERT_TRUE(LoadTraceScorer(*path_, &s).ok());
  EXPECT_EQ(s->name(), "trace-multimodal");
  std::mt19937 rng(99);
  int flagged = 0;
  for (int i = 0; i < 50; ++i) {
    TraceAssessment a;
    s->Score(OrderTrace(rng, 1000 + i), &a);
    flagged += a.anomaly;
  }
  EXPECT_LE(flagged, 3);
}

TEST_F(TraceScorerTest, UnexpectedCallIsBlamedOnItsSpan) {
  std::unique_ptr<TraceScorer> s;
  ASSERT_TRUE(LoadTraceScorer(*path_, &s).ok());
  std::mt19937 rng(5);
  Trace t = OrderTrace(rng, 1, 1.0, /*extra_call=*/true);
  TraceAssessment a;
  s->Score(t, &a);
  ASSERT_TRUE(a.anomaly);
  EXPECT_GT(a.score, 1.0);
  EXPECT_TRUE(a.type == "structural" || a.type == "both") << a.type;
  ASSERT_GE(a.blamed, 0);
  EXPECT_EQ(t.spans[a.blamed].service, "payments");
  auto f = nlohmann::json::parse(a.findings_json);
  ASSERT_TRUE(f.is_array());
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0]["span_id"], t.spans[a.blamed].span_id);
  EXPECT_TRUE(f[0].contains("structural")) << f.dump();
  EXPECT_FALSE(f[0]["structural"]["expected"].empty());
}

TEST_F(TraceScorerTest, SlowSpanIsAResponseTimeAnomaly) {
  std::unique_ptr<TraceScorer> s;
  ASSERT_TRUE(LoadTraceScorer(*path_, &s).ok());
  std::mt19937 rng(6);
  Trace t = OrderTrace(rng, 2, /*slow_db=*/10.0);
  TraceAssessment a;
  s->Score(t, &a);
  ASSERT_TRUE(a.anomaly);
  EXPECT_TRUE(a.type == "response_time" || a.type == "both") << a.type;
  ASSERT_GE(a.blamed, 0);
  EXPECT_EQ(t.spans[a.blamed].span_id, "s2");
  auto f = nlohmann::json::parse(a.findings_json);
  ASSERT_TRUE(f[0].contains("response_time")) << f.dump();
  EXPECT_GT(f[0]["response_time"]["observed_ms"].get<double>(),
            f[0]["response_time"]["expected_ms"][1].get<double>());
}

TEST(TraceScorer, RefusesFilesThatAreNotTraceModels) {
  std::unique_ptr<TraceScorer> s;
  EXPECT_EQ(LoadTraceScorer(::testing::TempDir() + "no_such.model", &s).code(),
            Status::Code::kNotFound);
  std::string p = ::testing::TempDir() + "not_a_trace_model.json";
  std::ofstream(p) << "{\"format\":\"triad-baseline\"}\n";
  Status st = LoadTraceScorer(p, &s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(s, nullptr);
  std::remove(p.c_str());
}

}  // namespace
}  // namespace triad
