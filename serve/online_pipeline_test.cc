// OnlinePipeline in process: wall-clock idle close, the journal's bounds, and
// checkpoint + replay across a restart (the process-level restart and kill -9
// tests are in cli/cmd_serve_restart_test.cc).
#include "serve/online_pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

namespace triad {
namespace {

namespace fs = std::filesystem;

constexpr TimeNs kT0 = 1700000000LL * kNsPerSec;

class OnlinePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("triad_pipeline_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(Store::Open((dir_ / "t.db").string(), &store_).ok());
    opts_.windows.window = kNsPerSec;
    opts_.windows.allowed_lateness = 200 * kNsPerMs;
    opts_.traces.idle_timeout = 500 * kNsPerMs;
    opts_.idle_close = std::chrono::milliseconds(0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Logs of service "svc" at kT0 + ms (each its own batch).
  static IngestBatch Logs(std::initializer_list<int> ms) {
    IngestBatch b;
    b.signal = OtlpSignal::kLogs;
    for (int m : ms) {
      LogRecord l;
      l.time = kT0 + m * kNsPerMs;
      l.service = "svc";
      l.body = "request " + std::to_string(m) + " done";
      b.logs.push_back(std::move(l));
    }
    return b;
  }
  TimeNs CommittedEnd() {
    std::string v;
    return store_->GetMeta("pipeline.committed_end", &v).ok() ? std::stoll(v) : INT64_MIN;
  }
  std::vector<EdgeRow> Edges() {
    std::vector<EdgeRow> e;
    EXPECT_TRUE(store_->ListEdges(&e).ok());
    return e;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  PromRegistry metrics_;
  PipelineOptions opts_;
};

TEST_F(OnlinePipelineTest, IdleCloseClosesTheLastWindowsByWallClock) {
  for (int idle_ms : {0, 200}) {
    SCOPED_TRACE(idle_ms);
    std::unique_ptr<Store> store;
    ASSERT_TRUE(Store::Open((dir_ / ("idle" + std::to_string(idle_ms) + ".db")).string(), &store).ok());
    PromRegistry metrics;
    opts_.idle_close = std::chrono::milliseconds(idle_ms);
    OnlinePipeline p(opts_, store.get(), nullptr, &metrics);
    ASSERT_TRUE(p.Start().ok());
    ASSERT_EQ(p.Submit(Logs({100, 900, 1500, 2100, 2600})), OnlinePipeline::Admit::kAccepted);
    ASSERT_TRUE(p.WaitIdle(std::chrono::seconds(10)));
    // Event time stopped at 2.6 s: slots [0,1) and [1,2) closed, [2,3) open.
    auto committed = [&] {
      std::string v;
      return store->GetMeta("pipeline.committed_end", &v).ok() ? std::stoll(v) : INT64_MIN;
    };
    EXPECT_EQ(committed(), kT0 + 2 * kNsPerSec);
    // Wait (bounded) for the idle close to score the last slot.
    for (int i = 0; i < (idle_ms == 0 ? 50 : 250) && committed() < kT0 + 3 * kNsPerSec; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (idle_ms == 0) {
      EXPECT_EQ(committed(), kT0 + 2 * kNsPerSec);  // never closes without data or idle close
    } else {
      EXPECT_EQ(committed(), kT0 + 3 * kNsPerSec);
      EXPECT_NE(metrics.Render().find("triad_idle_advances_total"), std::string::npos);
    }
  }
}

TEST_F(OnlinePipelineTest, FullJournalRefusesWith429) {
  opts_.journal.dir = (dir_ / "journal").string();
  opts_.journal.max_bytes = 4000;
  opts_.journal.segment_bytes = 1000;
  OnlinePipeline p(opts_, store_.get(), nullptr, &metrics_);
  ASSERT_TRUE(p.Start().ok());
  p.Pause();  // nothing is processed, so no checkpoint frees space
  int accepted = 0;
  OnlinePipeline::Admit a;
  while ((a = p.Submit(Logs({100, 200, 300}))) == OnlinePipeline::Admit::kAccepted)
    ASSERT_LT(++accepted, 1000);
  EXPECT_EQ(a, OnlinePipeline::Admit::kQueueFull);  // the server answers 429
  EXPECT_GT(accepted, 5);
  EXPECT_LE(p.journal()->bytes(), 4000u);
  EXPECT_NE(metrics_.Render().find("triad_journal_full_total 1"), std::string::npos)
      << metrics_.Render();
}

TEST_F(OnlinePipelineTest, RestartReplaysOpenWindowsAndWritesEachSlotOnce) {
  opts_.journal.segment_bytes = 150;  // one batch a segment, so old ones can go
  // Spans with a call edge in every slot: edges count each slot once.
  auto calls = [](int from_s, int to_s) {
    IngestBatch b;
    for (int t = from_s; t < to_s; ++t) {
      Span parent, child;
      parent.trace_id = child.trace_id = "t" + std::to_string(t);
      parent.span_id = "p";
      child.span_id = "c";
      child.parent_span_id = "p";
      parent.service = "front";
      child.service = "back";
      parent.start = child.start = kT0 + t * kNsPerSec + 100 * kNsPerMs;
      parent.end = child.end = parent.start + kNsPerMs;
      b.spans = {parent, child};
    }
    return b;
  };
  auto run = [&](Store* store, const std::string& journal, int from_s, int to_s,
                 uint64_t* replayed) {
    PromRegistry metrics;
    PipelineOptions o = opts_;
    o.journal.dir = journal;
    OnlinePipeline p(o, store, nullptr, &metrics);
    ASSERT_TRUE(p.Start().ok());
    *replayed = p.replayed_batches();
    for (int t = from_s; t < to_s; ++t)
      ASSERT_EQ(p.Submit(calls(t, t + 1)), OnlinePipeline::Admit::kAccepted);
    p.Shutdown();
    ASSERT_TRUE(p.last_store_error().ok());
  };
  // The reference: one uninterrupted run.
  std::unique_ptr<Store> ref;
  ASSERT_TRUE(Store::Open((dir_ / "ref.db").string(), &ref).ok());
  uint64_t replayed = 0;
  ASSERT_NO_FATAL_FAILURE(run(ref.get(), (dir_ / "ref.journal").string(), 0, 20, &replayed));
  std::vector<EdgeRow> want;
  ASSERT_TRUE(ref->ListEdges(&want).ok());
  ASSERT_EQ(want.size(), 1u);
  std::string v;
  ASSERT_TRUE(ref->GetMeta("pipeline.committed_end", &v).ok());
  const TimeNs want_end = std::stoll(v);
  // One call per closed slot: slots [0,1) .. up to the committed end.
  EXPECT_EQ(static_cast<TimeNs>(want[0].calls), (want_end - kT0) / kNsPerSec);
  EXPECT_GE(want[0].calls, 15u);

  const std::string journal = (dir_ / "journal").string();
  ASSERT_NO_FATAL_FAILURE(run(store_.get(), journal, 0, 10, &replayed));
  EXPECT_EQ(replayed, 0u);
  // SIGTERM-like shutdown: slots up to the watermark are committed, the open
  // ones stay in the journal.
  const TimeNs first_end = CommittedEnd();
  EXPECT_GT(first_end, kT0);
  EXPECT_LT(first_end, kT0 + 10 * kNsPerSec);
  ASSERT_NO_FATAL_FAILURE(run(store_.get(), journal, 10, 20, &replayed));
  EXPECT_GT(replayed, 0u);  // the open windows came back from the journal
  ASSERT_NO_FATAL_FAILURE(run(store_.get(), journal, 20, 20, &replayed));  // nothing new
  EXPECT_GT(replayed, 0u);
  // Every closed slot was written once, as in the uninterrupted run.
  auto edges = Edges();
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].calls, want[0].calls);
  EXPECT_EQ(CommittedEnd(), want_end);
  // Old segments were deleted after checkpoints.
  size_t segs = 0;
  for (const auto& e : fs::directory_iterator(journal)) segs += e.path().extension() == ".seg";
  EXPECT_LE(segs, 8u);  // 20 without deletion
}

}  // namespace
}  // namespace triad
