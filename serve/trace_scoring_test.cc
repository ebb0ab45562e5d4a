#include "serve/trace_scoring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

namespace triad {
namespace {

constexpr TimeNs kW = 30 * kNsPerSec;
constexpr TimeNs kT0 = 1'700'000'010 * kNsPerSec / 30 * 30;  // some window start

// Flags a trace iff one of its spans is named "bad" and blames that span.
class FakeScorer : public TraceScorer {
 public:
  std::string name() const override { return "fake"; }
  void Score(const Trace& t, TraceAssessment* a) const override {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ++calls;
    *a = TraceAssessment();
    for (size_t i = 0; i < t.spans.size(); ++i)
      if (t.spans[i].name == "bad") {
        a->anomaly = true;
        a->score = 1.5 + t.spans[i].end * 1e-18;  // later traces score a little higher
        a->type = "structural";
        a->blamed = static_cast<int32_t>(i);
        a->spans = {static_cast<int32_t>(i)};
        a->findings_json = R"([{"position":1,"observed":"db_bad"}])";
        return;
      }
  }
  int delay_ms = 0;
  mutable std::atomic<int> calls{0};
};

Trace MakeTrace(const std::string& id, TimeNs start, bool bad) {
  Trace t;
  t.trace_id = id;
  Span root;
  root.trace_id = id;
  root.span_id = id + "-0";
  root.service = "gateway";
  root.name = "GET /";
  root.start = start;
  root.end = start + 10 * kNsPerMs;
  Span child = root;
  child.span_id = id + "-1";
  child.parent_span_id = root.span_id;
  child.service = "db";
  child.name = bad ? "bad" : "Query";
  child.start = start + kNsPerMs;
  child.end = start + 5 * kNsPerMs;
  t.spans = {root, child};
  t.parent = {-1, 0};
  return t;
}

class TraceScoringTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Store::Open(":memory:", &store_).ok()); }
  std::vector<AnomalyRow> Anomalies() {
    std::vector<AnomalyRow> v;
    TimeQuery q;
    EXPECT_TRUE(store_->QueryAnomalies(q, &v).ok());
    return v;
  }
  std::unique_ptr<Store> store_;
  PromRegistry metrics_;
  FakeScorer scorer_;
};

TEST_F(TraceScoringTest, OneAnomalyPerServiceAndWindowWithWorstTracesAsEvidence) {
  TraceScoringOptions o;
  o.window = kW;
  o.flush_delay = 10 * kNsPerSec;
  o.evidence_traces = 2;
  TraceScoringStage stage(o, &scorer_, store_.get(), &metrics_);
  stage.Start();
  // Window 0: 6 traces, 3 bad (db). Window 1: 2 traces, 1 bad.
  for (int i = 0; i < 6; ++i)
    stage.Submit(MakeTrace("a" + std::to_string(i), kT0 + i * kNsPerSec, i % 2 == 1));
  stage.Submit(MakeTrace("b0", kT0 + kW + kNsPerSec, true));
  stage.Submit(MakeTrace("b1", kT0 + kW + 2 * kNsPerSec, false));
  ASSERT_TRUE(stage.WaitIdle(std::chrono::seconds(10)));
  EXPECT_TRUE(Anomalies().empty());  // nothing flushed before the watermark moves
  stage.AdvanceTo(kT0 + kW + o.flush_delay);  // window 0 is complete
  ASSERT_TRUE(stage.WaitIdle(std::chrono::seconds(10)));
  std::vector<AnomalyRow> rows = Anomalies();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].service, "db");
  EXPECT_EQ(rows[0].start, kT0);
  EXPECT_EQ(rows[0].end, kT0 + kW);
  EXPECT_EQ(rows[0].model, "fake");
  EXPECT_DOUBLE_EQ(rows[0].threshold, 1.0);
  EXPECT_NE(rows[0].summary.find("3 of 6 traces through db"), std::string::npos)
      << rows[0].summary;
  AnomalyRow full;
  ASSERT_TRUE(store_->GetAnomaly(rows[0].id, &full).ok());
  auto ev = nlohmann::json::parse(full.evidence_json);
  EXPECT_EQ(ev["kind"], "trace");
  EXPECT_EQ(ev["anomalous_traces"], 3);
  EXPECT_EQ(ev["scored_traces"], 6);
  // The two worst (latest) bad traces: a5, a3; their offending spans and trees.
  ASSERT_EQ(ev["traces"].size(), 2u);
  EXPECT_TRUE(ev["traces"].contains("a5"));
  EXPECT_TRUE(ev["traces"].contains("a3"));
  EXPECT_EQ(ev["traces"]["a5"].size(), 2u);
  EXPECT_EQ(ev["traces"]["a5"][1]["parent"], 0);
  ASSERT_EQ(ev["spans"].size(), 2u);
  EXPECT_EQ(ev["spans"][0]["span_id"], "a5-1");
  EXPECT_EQ(ev["trace_findings"]["a5"]["events"][0]["observed"], "db_bad");
  // Shutdown writes the rest.
  stage.Shutdown();
  rows = Anomalies();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(stage.anomalies_written(), 2u);
  EXPECT_NE(metrics_.Render().find("triad_traces_scored_total 8"), std::string::npos)
      << metrics_.Render();
}

TEST_F(TraceScoringTest, LateTraceOpensANewRowAndIsCounted) {
  TraceScoringOptions o;
  o.window = kW;
  o.flush_delay = 0;
  TraceScoringStage stage(o, &scorer_, store_.get(), &metrics_);
  stage.Start();
  stage.Submit(MakeTrace("x", kT0, true));
  ASSERT_TRUE(stage.WaitIdle(std::chrono::seconds(10)));
  stage.AdvanceTo(kT0 + 2 * kW);
  ASSERT_TRUE(stage.WaitIdle(std::chrono::seconds(10)));
  ASSERT_EQ(Anomalies().size(), 1u);
  stage.Submit(MakeTrace("y", kT0 + kNsPerSec, true));  // same window, after it was written
  stage.Shutdown();
  EXPECT_EQ(Anomalies().size(), 2u);
  EXPECT_NE(metrics_.Render().find("triad_trace_late_total 1"), std::string::npos);
}

TEST_F(TraceScoringTest, FullQueueBlocksInsteadOfDropping) {
  TraceScoringOptions o;
  o.window = kW;
  o.max_queue = 2;
  scorer_.delay_ms = 2;
  TraceScoringStage stage(o, &scorer_, store_.get(), &metrics_);
  stage.Start();
  for (int i = 0; i < 40; ++i) stage.Submit(MakeTrace("q" + std::to_string(i), kT0, i == 7));
  stage.Shutdown();
  EXPECT_EQ(scorer_.calls.load(), 40);
  std::vector<AnomalyRow> rows = Anomalies();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].summary.find("1 of 40"), std::string::npos) << rows[0].summary;
}

TEST_F(TraceScoringTest, NormalTracesWriteNothing) {
  TraceScoringOptions o;
  o.window = kW;
  TraceScoringStage stage(o, &scorer_, store_.get(), &metrics_);
  stage.Start();
  for (int i = 0; i < 10; ++i) stage.Submit(MakeTrace("n" + std::to_string(i), kT0, false));
  stage.Shutdown();
  stage.Submit(MakeTrace("after", kT0, true));  // ignored after Shutdown, no hang
  EXPECT_TRUE(Anomalies().empty());
  EXPECT_EQ(scorer_.calls.load(), 10);
}

}  // namespace
}  // namespace triad

namespace triad {
namespace {

// A restart with a journal replays traces already scored: the windows the
// first process wrote are not written again, the open one is written once.
TEST_F(TraceScoringTest, ReplayAfterRestartWritesEachWindowOnce) {
  TraceScoringOptions o;
  o.window = kW;
  o.flush_delay = 0;
  o.flush_open_at_shutdown = false;
  std::vector<Trace> traces = {MakeTrace("w0", kT0 + kNsPerSec, true),
                               MakeTrace("w1", kT0 + kW + kNsPerSec, true)};
  {
    TraceScoringStage first(o, &scorer_, store_.get(), &metrics_);
    first.Start();
    for (const Trace& t : traces) first.Submit(t);
    first.AdvanceTo(kT0 + kW + 2 * kNsPerSec);  // window 0 complete, window 1 open
    ASSERT_TRUE(first.WaitIdle(std::chrono::seconds(10)));
    first.Shutdown();
    EXPECT_EQ(first.anomalies_written(), 1u);  // the open window waits for the replay
  }
  ASSERT_EQ(Anomalies().size(), 1u);
  PromRegistry m2;
  TraceScoringStage second(o, &scorer_, store_.get(), &m2);
  second.Start();
  for (const Trace& t : traces) second.Submit(t);  // the journal replay
  second.AdvanceTo(kT0 + 3 * kW);
  ASSERT_TRUE(second.WaitIdle(std::chrono::seconds(10)));
  second.Shutdown();
  std::vector<AnomalyRow> rows = Anomalies();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].start, rows[1].start);
  EXPECT_NE(m2.Render().find("triad_trace_replayed_total 1"), std::string::npos) << m2.Render();
}

}  // namespace
}  // namespace triad
