#include "align/window_aggregator.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

constexpr TimeNs kT0 = 1700000000LL * kNsPerSec;  // 2023-11-14T22:13:20Z, a multiple of 10 s
constexpr TimeNs kW = 30 * kNsPerSec;

TimeNs At(double sec) { return kT0 + static_cast<TimeNs>(sec * kNsPerSec); }

const WindowFeatures* Find(const std::vector<WindowFeatures>& ws, const std::string& svc,
                           TimeNs start) {
  for (const auto& w : ws)
    if (w.service == svc && w.start == start) return &w;
  return nullptr;
}

AlignOptions Opts() {
  AlignOptions o;
  o.window = kW;
  o.origin = kT0;
  return o;
}

Span MakeSpan(const std::string& svc, const std::string& id, const std::string& parent,
              SpanKind kind, double start_s, double ms, bool error = false) {
  Span s;
  s.trace_id = "t1";
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = svc;
  s.name = "GET /item/" + id;
  s.kind = kind;
  s.start = At(start_s);
  s.end = s.start + static_cast<TimeNs>(ms * kNsPerMs);
  if (error) s.status = SpanStatus::kError;
  return s;
}

LogRecord MakeLog(const std::string& svc, double t, const std::string& sev,
                  const std::string& body) {
  LogRecord l;
  l.service = svc;
  l.time = At(t);
  l.severity_text = sev;
  l.body = body;
  return l;
}

TEST(WindowAggregatorTest, WindowStartFloors) {
  EXPECT_EQ(WindowStart(65, 30, 0), 60);
  EXPECT_EQ(WindowStart(60, 30, 0), 60);
  EXPECT_EQ(WindowStart(-1, 30, 0), -30);
  EXPECT_EQ(WindowStart(12, 30, 10), 10);
}

TEST(WindowAggregatorTest, BucketsLogsOutOfOrder) {
  WindowAggregator agg(Opts());
  agg.OnLog(MakeLog("a", 40, "INFO", "user 1 logged in"));  // second window first
  agg.OnLog(MakeLog("a", 1, "ERROR", "db timeout after 30ms"));
  agg.OnLog(MakeLog("a", 29.9, "WARN", "user 2 logged in"));
  agg.OnLog(MakeLog("a", 2, "INFO", "user 3 logged in"));
  auto ws = agg.Finish();
  ASSERT_EQ(ws.size(), 2u);
  const WindowFeatures* w0 = Find(ws, "a", kT0);
  ASSERT_NE(w0, nullptr);
  EXPECT_EQ(w0->end, kT0 + kW);
  EXPECT_DOUBLE_EQ(w0->features.at("log:count"), 3);
  EXPECT_DOUBLE_EQ(w0->features.at("log:error"), 1);
  EXPECT_DOUBLE_EQ(w0->features.at("log:warn"), 1);
  EXPECT_EQ(w0->templates.at("user <*> logged in"), 2u);
  EXPECT_EQ(w0->templates.at("db timeout after <*>"), 1u);
  EXPECT_EQ(w0->template_examples.at("db timeout after <*>"), "db timeout after 30ms");
  const WindowFeatures* w1 = Find(ws, "a", kT0 + kW);
  ASSERT_NE(w1, nullptr);
  EXPECT_DOUBLE_EQ(w1->features.at("log:count"), 1);
  EXPECT_EQ(ws[0].start, kT0);  // sorted by time
}

TEST(WindowAggregatorTest, CounterRateWithReset) {
  WindowAggregator agg(Opts());
  auto counter = [&](double t, double v, const std::string& inst) {
    MetricSample m;
    m.name = "requests_total";
    m.service = "api";
    m.instance = inst;
    m.kind = MetricKind::kCounter;
    m.time = At(t);
    m.value = v;
    agg.OnMetric(std::move(m));
  };
  // Instance i1: 10/s, then restarts at t=40 (value drops to 50: delta 50 over 10 s).
  counter(20, 300, "i1");
  counter(0, 100, "i1");
  counter(10, 200, "i1");
  counter(30, 400, "i1");
  counter(40, 50, "i1");
  counter(50, 150, "i1");
  // Instance i2: 1/s in the first window only.
  counter(0, 0, "i2");
  counter(20, 20, "i2");
  auto ws = agg.Finish();
  const WindowFeatures* w0 = Find(ws, "api", kT0);
  const WindowFeatures* w1 = Find(ws, "api", kT0 + kW);
  ASSERT_NE(w0, nullptr);
  ASSERT_NE(w1, nullptr);
  // Window 0: i1 increases at t=10,20 (200 over 20 s) -> 10/s; i2 20 over 20 s -> 1/s.
  EXPECT_DOUBLE_EQ(w0->features.at("metric:requests_total:rate"), 11.0);
  // Window 1: i1 increases at 30 (100), 40 (reset: 50), 50 (100) over 30 s -> 250/30.
  EXPECT_NEAR(w1->features.at("metric:requests_total:rate"), 250.0 / 30.0, 1e-9);
}

TEST(WindowAggregatorTest, GaugesAndHistograms) {
  WindowAggregator agg(Opts());
  for (int i = 0; i < 3; ++i) {
    MetricSample g;
    g.name = "cpu";
    g.service = "db";
    g.time = At(i * 10);
    g.value = i;  // 0,1,2 -> mean 1
    agg.OnMetric(std::move(g));
    MetricSample h;
    h.name = "latency";
    h.service = "db";
    h.kind = MetricKind::kHistogram;
    h.time = At(i * 10);
    h.value = 100.0 * i;        // sum
    h.count = 10 * static_cast<uint64_t>(i);  // count
    agg.OnMetric(std::move(h));
  }
  auto ws = agg.Finish();
  ASSERT_EQ(ws.size(), 1u);
  EXPECT_DOUBLE_EQ(ws[0].features.at("metric:cpu"), 1.0);
  EXPECT_DOUBLE_EQ(ws[0].features.at("metric:latency:mean"), 10.0);  // 200 / 20
}

TEST(WindowAggregatorTest, TraceFeaturesAndCallEdges) {
  WindowAggregator agg(Opts());
  // frontend (server) -> frontend client -> backend server. Arrives child first.
  agg.OnSpan(MakeSpan("backend", "s3", "s2", SpanKind::kServer, 1, 80, true));
  agg.OnSpan(MakeSpan("frontend", "s1", "", SpanKind::kServer, 0, 100));
  agg.OnSpan(MakeSpan("frontend", "s2", "s1", SpanKind::kClient, 0.5, 90));
  // A client call to an uninstrumented peer.
  Span ext = MakeSpan("frontend", "s4", "s1", SpanKind::kClient, 2, 5);
  ext.peer = "redis";
  agg.OnSpan(std::move(ext));
  auto ws = agg.Finish();
  const WindowFeatures* fe = Find(ws, "frontend", kT0);
  const WindowFeatures* be = Find(ws, "backend", kT0);
  ASSERT_NE(fe, nullptr);
  ASSERT_NE(be, nullptr);
  EXPECT_DOUBLE_EQ(fe->features.at("trace:spans"), 3);
  EXPECT_DOUBLE_EQ(fe->features.at("trace:error_ratio"), 0);
  EXPECT_DOUBLE_EQ(fe->features.at("trace:p50_ms"), 100);  // only the server span is "served"
  EXPECT_EQ(fe->callees.at("backend"), 1u);
  EXPECT_EQ(fe->callees.at("redis"), 1u);
  EXPECT_EQ(fe->callees.size(), 2u);
  EXPECT_DOUBLE_EQ(be->features.at("trace:error_ratio"), 1.0);
  EXPECT_TRUE(be->features.count("op:GET /item/<*>:p95_ms"));
  EXPECT_TRUE(be->callees.empty());
}

TEST(WindowAggregatorTest, MissingModalityIsAbsentNotZero) {
  WindowAggregator agg(Opts());
  agg.OnLog(MakeLog("logsonly", 1, "INFO", "hello"));
  agg.OnSpan(MakeSpan("tracesonly", "x", "", SpanKind::kServer, 1, 10));
  auto ws = agg.Finish();
  const WindowFeatures* l = Find(ws, "logsonly", kT0);
  const WindowFeatures* t = Find(ws, "tracesonly", kT0);
  ASSERT_NE(l, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(l->features.count("log:count"));
  EXPECT_FALSE(l->features.count("trace:spans"));
  EXPECT_FALSE(l->features.count("trace:error_ratio"));
  EXPECT_TRUE(t->features.count("trace:spans"));
  EXPECT_FALSE(t->features.count("log:count"));
  EXPECT_FALSE(t->features.count("log:error"));
}

TEST(WindowAggregatorTest, SkewedTimestampsAreCountedSkips) {
  WindowAggregator agg(Opts());
  for (int i = 0; i < 20; ++i) agg.OnLog(MakeLog("a", i * 5, "INFO", "tick"));
  LogRecord epoch = MakeLog("a", 0, "INFO", "clock not set");
  epoch.time = 5 * kNsPerSec;  // 1970
  agg.OnLog(std::move(epoch));
  LogRecord none = MakeLog("a", 0, "INFO", "no time");
  none.time = 0;
  agg.OnLog(std::move(none));
  agg.OnLog(MakeLog("a", 3.0 * 365 * 86400, "INFO", "three years ahead"));
  auto ws = agg.Finish();
  for (const auto& w : ws) {
    EXPECT_GE(w.start, kT0);
    EXPECT_LT(w.start, kT0 + 86400 * kNsPerSec);
  }
  EXPECT_EQ(ws.size(), 4u);  // 100 s of data in 30 s windows
  EXPECT_EQ(agg.stats().skipped, 3u);
  EXPECT_EQ(agg.stats().records, 20u);
}

TEST(WindowAggregatorTest, OriginShiftsWindows) {
  AlignOptions o = Opts();
  o.origin = kT0 + 10 * kNsPerSec;
  WindowAggregator agg(o);
  agg.OnLog(MakeLog("a", 5, "INFO", "x"));
  agg.OnLog(MakeLog("a", 15, "INFO", "x"));
  auto ws = agg.Finish();
  ASSERT_EQ(ws.size(), 2u);
  EXPECT_EQ(ws[0].start, kT0 - 20 * kNsPerSec);
  EXPECT_EQ(ws[1].start, kT0 + 10 * kNsPerSec);
}

}  // namespace
}  // namespace triad
