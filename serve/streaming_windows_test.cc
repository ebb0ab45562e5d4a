#include "serve/streaming_windows.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sim/simulator.h"

namespace triad {
namespace {

// Feeds records to a batch aggregator and a streaming one.
class TeeSink : public TelemetrySink {
 public:
  TeeSink(TelemetrySink* a, TelemetrySink* b) : a_(a), b_(b) {}
  void OnSpan(Span&& s) override {
    a_->OnSpan(Span(s));
    b_->OnSpan(std::move(s));
  }
  void OnLog(LogRecord&& l) override {
    a_->OnLog(LogRecord(l));
    b_->OnLog(std::move(l));
  }
  void OnMetric(MetricSample&& m) override {
    a_->OnMetric(MetricSample(m));
    b_->OnMetric(std::move(m));
  }

 private:
  TelemetrySink* a_;
  TelemetrySink* b_;
};

void ExpectSameWindow(const WindowFeatures& a, const WindowFeatures& b) {
  SCOPED_TRACE(a.service + " @ " + std::to_string(a.start));
  ASSERT_EQ(a.service, b.service);
  ASSERT_EQ(a.start, b.start);
  ASSERT_EQ(a.features.size(), b.features.size());
  for (const auto& [f, v] : a.features) {
    auto it = b.features.find(f);
    ASSERT_NE(it, b.features.end()) << f;
    EXPECT_NEAR(v, it->second, 1e-9 * std::max(1.0, std::abs(v))) << f;
  }
  EXPECT_EQ(a.templates, b.templates);
  EXPECT_EQ(a.callees, b.callees);
}

TEST(StreamingWindowsTest, SameWindowsAsTheBatchAggregatorOnSimulatedData) {
  SimConfig cfg;
  cfg.services = 6;
  cfg.minutes = 8;
  cfg.train_minutes = 3;
  cfg.faults = 2;
  cfg.rps = 8;
  Simulator sim(cfg);
  AlignOptions ao;
  WindowAggregator batch(ao);
  std::vector<ClosedSlot> slots;
  StreamingWindowOptions so;
  StreamingWindows stream(so, [&](ClosedSlot&& s) { slots.push_back(std::move(s)); });
  TeeSink tee(&batch, &stream);
  ASSERT_TRUE(sim.Run(tee).ok());
  size_t open_before_flush = stream.open_slots();
  EXPECT_GE(open_before_flush, 1u);
  EXPECT_LE(open_before_flush, 3u);  // (window + lateness) / window, plus one: bounded
  stream.Flush();
  EXPECT_EQ(stream.open_slots(), 0u);
  EXPECT_EQ(stream.late(), 0u);

  std::vector<WindowFeatures> want = batch.Finish();
  want = DropPartialEdgeWindows(std::move(want), batch.min_time(), batch.max_time(),
                                ao.window / 10);
  std::vector<WindowFeatures> got;
  TimeNs prev = INT64_MIN;
  for (auto& s : slots) {
    if (prev != INT64_MIN) {
      EXPECT_EQ(s.start, prev + so.window);  // contiguous, in order
    }
    prev = s.start;
    if (!s.scoreable) continue;
    for (auto& w : s.windows) got.push_back(std::move(w));
  }
  ASSERT_GT(want.size(), 50u);
  ASSERT_EQ(got.size(), want.size());
  size_t with_callees = 0, with_rates = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ExpectSameWindow(want[i], got[i]);
    with_callees += !want[i].callees.empty();
    for (const auto& [f, v] : want[i].features) with_rates += f.find(":rate") != std::string::npos;
  }
  EXPECT_GT(with_callees, 0u);  // the test covers call edges ...
  EXPECT_GT(with_rates, 0u);    // ... and counter rates across window boundaries
}

TEST(StreamingWindowsTest, LateAndImplausibleRecordsAreCountedNotKept) {
  std::vector<ClosedSlot> slots;
  StreamingWindowOptions so;
  so.window = 10 * kNsPerSec;
  so.allowed_lateness = 5 * kNsPerSec;
  StreamingWindows s(so, [&](ClosedSlot&& c) { slots.push_back(std::move(c)); });
  const TimeNs t0 = 1700000000LL * kNsPerSec;
  auto log = [&](TimeNs t) {
    LogRecord l;
    l.time = t;
    l.service = "a";
    l.body = "hello";
    s.OnLog(std::move(l));
  };
  log(t0);
  log(t0 + 12 * kNsPerSec);  // watermark 12 s: slot [0,10) not yet closed (needs 15 s)
  EXPECT_TRUE(slots.empty());
  log(t0 + 3 * kNsPerSec);   // within lateness: kept
  log(t0 + 16 * kNsPerSec);  // closes [0,10)
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].start, t0);
  ASSERT_EQ(slots[0].windows.size(), 1u);
  EXPECT_DOUBLE_EQ(slots[0].windows[0].features.at("log:count"), 2);
  EXPECT_TRUE(slots[0].scoreable);
  log(t0 + 9 * kNsPerSec);  // its slot has closed
  EXPECT_EQ(s.late(), 1u);
  log(5);  // 1970
  EXPECT_EQ(s.implausible(), 1u);
  // A gap: the empty slots in between are emitted, then the data's slot.
  log(t0 + 61 * kNsPerSec);
  s.Flush();
  ASSERT_GE(slots.size(), 7u);
  for (size_t i = 1; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i].start, slots[i - 1].start + so.window);
  }
  EXPECT_TRUE(slots[2].windows.empty());  // [20,30) had no data
  EXPECT_TRUE(slots[2].scoreable);
  EXPECT_FALSE(slots.back().scoreable);   // [60,70) ends after the last record: partial
}

TEST(StreamingWindowsTest, LeadingPartialSlotIsNotScoreable) {
  std::vector<ClosedSlot> slots;
  StreamingWindowOptions so;
  so.window = 10 * kNsPerSec;
  so.allowed_lateness = 0;
  StreamingWindows s(so, [&](ClosedSlot&& c) { slots.push_back(std::move(c)); });
  const TimeNs t0 = 1700000000LL * kNsPerSec;
  for (int i = 5; i < 40; ++i) {
    LogRecord l;
    l.time = t0 + i * kNsPerSec;
    l.service = "a";
    s.OnLog(std::move(l));
  }
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_FALSE(slots[0].scoreable);  // data starts 5 s into it
  EXPECT_TRUE(slots[1].scoreable);
}

TEST(StreamingWindowsTest, OneSignalRunningAheadHoldsWindowsAtMostMaxSignalLag) {
  std::vector<ClosedSlot> slots;
  StreamingWindowOptions so;
  so.window = 10 * kNsPerSec;
  so.allowed_lateness = 0;
  so.max_signal_lag = 60 * kNsPerSec;
  StreamingWindows s(so, [&](ClosedSlot&& c) { slots.push_back(std::move(c)); });
  const TimeNs t0 = 1700000000LL * kNsPerSec;
  auto log = [&](TimeNs t) {
    LogRecord l;
    l.time = t0 + t * kNsPerSec;
    l.service = "a";
    s.OnLog(std::move(l));
  };
  auto gauge = [&](TimeNs t) {
    MetricSample m;
    m.name = "cpu";
    m.service = "a";
    m.time = t0 + t * kNsPerSec;
    s.OnMetric(std::move(m));
  };
  log(1);
  gauge(50);  // metrics run ahead: the logs' front (1 s) is the watermark
  log(5);
  EXPECT_EQ(s.late(), 0u);
  EXPECT_TRUE(slots.empty());
  gauge(100);  // logs now lag by more than 60 s: watermark 40 s
  EXPECT_EQ(s.watermark(), t0 + 40 * kNsPerSec);
  ASSERT_EQ(slots.size(), 4u);  // [0,10) .. [30,40)
  log(35);
  EXPECT_EQ(s.late(), 1u);
  log(45);
  EXPECT_EQ(s.late(), 1u);
}

}  // namespace
}  // namespace triad
