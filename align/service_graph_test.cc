#include "align/service_graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/nezha_dataset.h"
#include "sim/simulator.h"

namespace triad {
namespace {

constexpr TimeNs kT0 = 1700000000LL * kNsPerSec;  // on the 60 s grid with origin 0
constexpr TimeNs kMin = 60 * kNsPerSec;

Span MakeSpan(std::string trace, std::string id, std::string parent, std::string svc, TimeNs start,
              double ms, SpanKind kind = SpanKind::kServer, bool error = false) {
  Span s;
  s.trace_id = std::move(trace);
  s.span_id = std::move(id);
  s.parent_span_id = std::move(parent);
  s.service = std::move(svc);
  s.kind = kind;
  s.start = start;
  s.end = start + static_cast<TimeNs>(ms * kNsPerMs);
  if (error) s.status = SpanStatus::kError;
  return s;
}

LogRecord MakeLog(std::string svc, TimeNs t, std::string body, int severity = 9) {
  LogRecord l;
  l.service = std::move(svc);
  l.time = t;
  l.body = std::move(body);
  l.severity_number = severity;
  return l;
}

MetricSample MakeMetric(std::string svc, std::string inst, std::string name, TimeNs t, double v) {
  MetricSample m;
  m.service = std::move(svc);
  m.instance = std::move(inst);
  m.name = std::move(name);
  m.time = t;
  m.value = v;
  return m;
}

ServiceGraphSeries BuildOrDie(ServiceGraphBuilder& b) {
  ServiceGraphSeries s;
  Status st = b.Build(&s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

// Edges of step t as (caller name, callee name) -> calls.
std::map<std::pair<std::string, std::string>, double> EdgesByName(const ServiceGraphSeries& s, int t) {
  std::map<std::pair<std::string, std::string>, double> m;
  for (const CallEdge& e : s.edges[t]) m[{s.services[e.caller], s.services[e.callee]}] += e.calls;
  return m;
}

TEST(ServiceGraph, EdgesFromOutOfOrderParentsWithinTrace) {
  ServiceGraphBuilder b;
  // Children arrive before their parents; trace t2 reuses span id "a1" for
  // another service: parents must be looked up within the trace.
  b.OnSpan(MakeSpan("t1", "b1", "a1", "b", kT0 + 2 * kNsPerSec, 5));
  b.OnSpan(MakeSpan("t1", "c1", "b1", "c", kT0 + 3 * kNsPerSec, 2));
  b.OnSpan(MakeSpan("t1", "c2", "b1", "c", kT0 + 4 * kNsPerSec, 2));
  b.OnSpan(MakeSpan("t1", "a1", "", "a", kT0 + 1 * kNsPerSec, 10));
  b.OnSpan(MakeSpan("t2", "x1", "a1", "c", kT0 + kMin + 1, 1));  // parent "a1" of t2
  b.OnSpan(MakeSpan("t2", "a1", "", "b", kT0 + kMin, 3));
  b.OnSpan(MakeSpan("t3", "y1", "zz", "c", kT0 + kMin + 2, 1));  // missing parent
  ServiceGraphSeries s = BuildOrDie(b);
  ASSERT_EQ(s.steps, 2);
  ASSERT_EQ(s.services, (std::vector<std::string>{"a", "b", "c"}));
  using M = std::map<std::pair<std::string, std::string>, double>;
  EXPECT_EQ(EdgesByName(s, 0), (M{{{"a", "b"}, 1}, {{"b", "c"}, 2}}));
  EXPECT_EQ(EdgesByName(s, 1), (M{{{"b", "c"}, 1}}));  // t2's a1 is a span of b, not a
  EXPECT_EQ(b.stats().missing_parent, 1u);
  EXPECT_EQ(b.stats().spans, 7u);
}

TEST(ServiceGraph, SelfCallsDroppedOrKeptAndPeerEdges) {
  auto feed = [](ServiceGraphBuilder& b) {
    b.OnSpan(MakeSpan("t", "s1", "", "a", kT0, 10));
    b.OnSpan(MakeSpan("t", "c1", "s1", "a", kT0 + 1, 8, SpanKind::kClient));  // a -> a (self)
    b.OnSpan(MakeSpan("t", "s2", "c1", "b", kT0 + 2, 5));                     // a -> b
    Span refused = MakeSpan("t", "c2", "s1", "a", kT0 + 3, 1, SpanKind::kClient);
    refused.peer = "b";  // no child span: the callee never answered
    b.OnSpan(std::move(refused));
  };
  using M = std::map<std::pair<std::string, std::string>, double>;
  {
    ServiceGraphBuilder b;
    feed(b);
    ServiceGraphSeries s = BuildOrDie(b);
    EXPECT_EQ(EdgesByName(s, 0), (M{{{"a", "b"}, 2}}));
    EXPECT_EQ(b.stats().self_calls, 2u);
    EXPECT_EQ(b.stats().peer_calls, 1u);
  }
  {
    ServiceGraphOptions o;
    o.keep_self_calls = true;
    o.peer_edges = false;
    ServiceGraphBuilder b(o);
    feed(b);
    ServiceGraphSeries s = BuildOrDie(b);
    EXPECT_EQ(EdgesByName(s, 0), (M{{{"a", "a"}, 2}, {{"a", "b"}, 1}}));
    EXPECT_EQ(b.stats().peer_calls, 0u);
  }
}

TEST(ServiceGraph, SpanWithoutTimeIsCountedSkip) {
  ServiceGraphBuilder b;
  b.OnSpan(MakeSpan("t", "s", "", "a", 0, 1));
  ServiceGraphSeries s;
  EXPECT_FALSE(b.Build(&s).ok());
  EXPECT_EQ(b.read_stats().skipped, 1u);
}

// A 3-node path a - b - c with calls a->b = 2, b->c = 1; x = one column.
ServiceGraphSeries ThreeNodes() {
  ServiceGraphSeries s;
  s.steps = 1;
  s.step = kMin;
  s.services = {"a", "b", "c"};
  s.columns = {"f"};
  s.x = {1, 10, 100};
  s.mask = {1, 1, 1};
  s.edges = {{{0, 1, 2}, {1, 2, 1}}};
  return s;
}

TEST(ServiceGraph, RowNormalizedAggregationByHand) {
  ServiceGraphSeries s = ThreeNodes();
  AggregationOptions o;
  o.norm = AggregationOptions::Norm::kRow;
  o.direction = AggregationOptions::Direction::kUndirected;
  // W = [[0,2,0],[2,0,1],[0,1,0]] -> rows [0,1,0], [2/3,0,1/3], [0,1,0].
  std::vector<float> a = NormalizedAdjacency(s.edges[0], 3, o);
  std::vector<float> want = {0, 1, 0, 2.f / 3, 0, 1.f / 3, 0, 1, 0};
  for (size_t i = 0; i < 9; ++i) EXPECT_NEAR(a[i], want[i], 1e-6) << i;
  TokenSeries z = BuildTokens(s, o);
  ASSERT_EQ(z.dims, 2);
  EXPECT_FLOAT_EQ(z.z[0], 1);    // x_a
  EXPECT_NEAR(z.z[1], 10, 1e-5);  // x~_a = x_b
  EXPECT_NEAR(z.z[3], 2.0 / 3 * 1 + 1.0 / 3 * 100, 1e-4);
  EXPECT_NEAR(z.z[5], 10, 1e-5);

  // By call direction: a has no callers, so its x~ is 0 and unobserved.
  o.direction = AggregationOptions::Direction::kCallers;
  z = BuildTokens(s, o);
  EXPECT_EQ(z.z[1], 0);
  EXPECT_EQ(z.mask[1], 0);
  EXPECT_NEAR(z.z[3], 1, 1e-6);   // b's caller a
  EXPECT_NEAR(z.z[5], 10, 1e-6);  // c's caller b
  o.direction = AggregationOptions::Direction::kCallees;
  z = BuildTokens(s, o);
  EXPECT_NEAR(z.z[1], 10, 1e-6);
  EXPECT_NEAR(z.z[3], 100, 1e-6);
  EXPECT_EQ(z.mask[5], 0);
}

TEST(ServiceGraph, SymmetricAggregationByHand) {
  ServiceGraphSeries s = ThreeNodes();
  AggregationOptions o;  // symmetric, undirected, weighted
  // W + I = [[1,2,0],[2,1,1],[0,1,1]], D = [3,4,2].
  std::vector<float> a = NormalizedAdjacency(s.edges[0], 3, o);
  const double r3 = std::sqrt(3.0), r2 = std::sqrt(2.0);
  std::vector<double> want = {1.0 / 3, 2 / (r3 * 2), 0, 2 / (2 * r3), 0.25, 1 / (2 * r2),
                              0,       1 / (r2 * 2), 0.5};
  for (size_t i = 0; i < 9; ++i) EXPECT_NEAR(a[i], want[i], 1e-6) << i;
  TokenSeries z = BuildTokens(s, o);
  EXPECT_NEAR(z.z[1], 1.0 / 3 + 10 / r3, 1e-4);
  EXPECT_NEAR(z.z[3], 1 / r3 + 2.5 + 100 / (2 * r2), 1e-4);
  EXPECT_NEAR(z.z[5], 10 / (2 * r2) + 50, 1e-4);
  // Unweighted: W + I = [[1,1,0],[1,1,1],[0,1,1]], D = [2,3,2].
  o.weighted = false;
  a = NormalizedAdjacency(s.edges[0], 3, o);
  EXPECT_NEAR(a[1], 1 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(a[4], 1.0 / 3, 1e-6);
  // An unobserved neighbour does not contribute.
  s.mask[1] = 0;
  s.x[1] = NAN;
  z = BuildTokens(s, o);
  EXPECT_NEAR(z.z[1], 0.5, 1e-6);  // only a's own 1/2 * 1
  EXPECT_EQ(z.mask[2], 0);         // b's own cell
  EXPECT_EQ(z.z[2], 0);
}

TEST(ServiceGraph, FeaturesOnTinyInput) {
  ServiceGraphOptions o;
  o.top_templates = 1;
  ServiceGraphBuilder b(o);
  // Service a, step 0: 3 x template A, 1 x template B (error).
  for (int i = 0; i < 3; ++i)
    b.OnLog(MakeLog("a", kT0 + i * kNsPerSec, "user " + std::to_string(i) + " logged in"));
  b.OnLog(MakeLog("a", kT0 + 5 * kNsPerSec, "disk full on volume", 17));
  // Step 1: a has no logs. Service b never logs.
  // Spans of a: step 0 latencies 10, 20, 30, 40 ms (one error), step 1 none.
  for (int i = 0; i < 4; ++i)
    b.OnSpan(MakeSpan("t" + std::to_string(i), "s", "", "a", kT0 + i, 10.0 * (i + 1),
                      SpanKind::kServer, i == 3));
  b.OnSpan(MakeSpan("t0", "c", "s", "a", kT0 + 1, 99, SpanKind::kClient));  // not served
  // Metrics: two instances of b, step 0 only, and one of a in step 1.
  b.OnMetric(MakeMetric("b", "b-1", "cpu", kT0 + kNsPerSec, 0.2));
  b.OnMetric(MakeMetric("b", "b-2", "cpu", kT0 + 2 * kNsPerSec, 0.4));
  b.OnMetric(MakeMetric("a", "a-1", "cpu", kT0 + kMin + 1, 0.9));
  ServiceGraphSeries s = BuildOrDie(b);
  ASSERT_EQ(s.steps, 2);
  ASSERT_EQ(s.columns, (std::vector<std::string>{"metric:cpu", "log:count", "log:error_rate",
                                                 "log:top1", "log:other", "span:count",
                                                 "span:error_rate", "span:p50_ms", "span:p95_ms",
                                                 "span:mean_ms"}));
  const int a = s.ServiceIndex("a"), bb = s.ServiceIndex("b");
  auto col = [&](const char* c) { return s.ColumnIndex(c); };
  EXPECT_EQ(s.value(0, a, col("log:count")), 4);
  EXPECT_EQ(s.value(0, a, col("log:error_rate")), 0.25f);
  EXPECT_EQ(s.value(0, a, col("log:top1")), 3);
  EXPECT_EQ(s.value(0, a, col("log:other")), 1);
  EXPECT_EQ(s.ColumnName(a, col("log:top1")), "log:top1 [user <*> logged in]");
  EXPECT_EQ(s.value(0, a, col("span:count")), 4);
  EXPECT_EQ(s.value(0, a, col("span:error_rate")), 0.25f);
  EXPECT_NEAR(s.value(0, a, col("span:p50_ms")), 25, 1e-4);
  EXPECT_NEAR(s.value(0, a, col("span:p95_ms")), 38.5, 1e-4);
  EXPECT_NEAR(s.value(0, a, col("span:mean_ms")), 25, 1e-4);
  EXPECT_NEAR(s.value(0, bb, col("metric:cpu")), 0.3, 1e-6);  // mean over b's instances
  EXPECT_NEAR(s.value(1, a, col("metric:cpu")), 0.9, 1e-6);

  // Mask semantics: zero versus no data.
  EXPECT_TRUE(s.observed(1, a, col("log:count")));  // a logs: an empty step is a real 0
  EXPECT_EQ(s.value(1, a, col("log:count")), 0);
  EXPECT_TRUE(s.observed(1, a, col("log:top1")));
  EXPECT_FALSE(s.observed(1, a, col("log:error_rate")));  // no log, no rate
  EXPECT_TRUE(std::isnan(s.value(1, a, col("log:error_rate"))));
  EXPECT_FALSE(s.observed(0, bb, col("log:count")));  // b never logs
  EXPECT_TRUE(s.observed(1, a, col("span:count")));
  EXPECT_EQ(s.value(1, a, col("span:count")), 0);
  EXPECT_FALSE(s.observed(1, a, col("span:p50_ms")));
  EXPECT_FALSE(s.observed(0, bb, col("span:count")));  // b has no served spans
  EXPECT_FALSE(s.observed(1, bb, col("metric:cpu")));
  EXPECT_FALSE(s.observed(0, a, col("metric:cpu")));
}

TEST(ServiceGraph, TokenWindowLayout) {
  ServiceGraphSeries s;
  s.steps = 3;
  s.services = {"a", "b"};
  s.columns = {"f"};
  s.x = {1, 2, 3, 4, 5, 6};  // [t][v]
  s.mask.assign(6, 1);
  s.edges.assign(3, {});
  AggregationOptions o;
  o.norm = AggregationOptions::Norm::kRow;
  TokenSeries z = BuildTokens(s, o);
  std::vector<float> w;
  std::vector<uint8_t> m;
  ASSERT_TRUE(TokenWindow(z, 2, 2, &w, &m).ok());
  // [services=2, w=2, 2d=2]: b's second step is t=2 -> x = 6, x~ = 0.
  EXPECT_EQ(w, (std::vector<float>{3, 0, 5, 0, 4, 0, 6, 0}));
  EXPECT_EQ(m, (std::vector<uint8_t>{1, 0, 1, 0, 1, 0, 1, 0}));
  EXPECT_FALSE(TokenWindow(z, 0, 2, &w, &m).ok());
  EXPECT_FALSE(TokenWindow(z, 3, 1, &w, &m).ok());
}

TEST(ServiceGraph, NormalizerFitApplyAndJsonRoundTrip) {
  ServiceGraphSeries s;
  s.steps = 4;
  s.services = {"a", "b"};
  s.columns = {"f", "g"};
  // t-major [t][v][f]; a.f = 1,2,3,100 ; b.g constant 5; b.f unobserved.
  s.x = {1, 7, NAN, 5, 2, 7, NAN, 5, 3, 7, NAN, 5, 100, 7, NAN, 5};
  s.mask = {1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1};
  FeatureNormalizer fn = FeatureNormalizer::Fit(s, 0, 3);  // training: first 3 steps
  EXPECT_NEAR(fn.Get("a", 0).mean, 2, 1e-9);
  EXPECT_NEAR(fn.Get("a", 0).sd, std::sqrt(2.0 / 3), 1e-9);
  EXPECT_EQ(fn.Get("b", 1).sd, 1);  // constant
  EXPECT_EQ(fn.Get("b", 0).count, 0u);
  EXPECT_NEAR(fn.Get("zzz", 0).mean, 2, 1e-9);  // pooled for an unseen service

  const std::string path = ::testing::TempDir() + "/service_graph_norm.json";
  ASSERT_TRUE(fn.Save(path).ok());
  FeatureNormalizer back;
  ASSERT_TRUE(FeatureNormalizer::Load(path, &back).ok());
  std::remove(path.c_str());
  EXPECT_EQ(back.ToJson(), fn.ToJson());
  EXPECT_EQ(back.columns(), s.columns);

  ServiceGraphSeries s2 = s;
  ASSERT_TRUE(back.Apply(&s2).ok());
  EXPECT_NEAR(s2.value(3, 0, 0), (100 - 2) / std::sqrt(2.0 / 3), 1e-3);
  EXPECT_EQ(s2.value(0, 1, 0), 0);  // unobserved -> 0
  EXPECT_EQ(s2.value(2, 1, 1), 0);  // constant 5 - 5

  ServiceGraphSeries other = s;
  other.columns = {"f", "h"};
  EXPECT_EQ(back.Apply(&other).code(), Status::Code::kInvalidArgument);

  FeatureNormalizer bad;
  EXPECT_EQ(FeatureNormalizer::FromJson("{", &bad).code(), Status::Code::kCorruption);
  std::string v2 = fn.ToJson();
  v2.replace(v2.find("\"version\":1"), 11, "\"version\":2");
  EXPECT_EQ(FeatureNormalizer::FromJson(v2, &bad).code(), Status::Code::kUnsupported);
  std::string neg = fn.ToJson();
  neg.replace(neg.find("\"pooled\":[["), 11, "\"pooled\":[[-1,-1,1],[");
  EXPECT_EQ(FeatureNormalizer::FromJson(neg, &bad).code(), Status::Code::kCorruption);
}

TEST(ServiceGraph, SimulatorGraphMatchesTopology) {
  SimConfig cfg;
  cfg.services = 10;
  cfg.minutes = 6;
  cfg.train_minutes = 6;
  cfg.faults = 0;
  Simulator sim(cfg);
  ServiceGraphBuilder b;
  ASSERT_TRUE(sim.Run(b).ok());
  ServiceGraphSeries s = BuildOrDie(b);
  EXPECT_GE(s.steps, 6);
  std::set<std::pair<std::string, std::string>> seen;
  for (int t = 0; t < s.steps; ++t)
    for (const CallEdge& e : s.edges[t]) seen.insert({s.services[e.caller], s.services[e.callee]});
  std::set<std::pair<std::string, std::string>> want(sim.truth().edges.begin(),
                                                     sim.truth().edges.end());
  // Every observed edge is a topology edge; conditional calls may be rare,
  // but at 20 rps over 6 minutes every edge should appear.
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(seen, want);
  EXPECT_EQ(b.stats().missing_parent, 0u);
  // Every service has span and log features in a middle step.
  const int t = s.steps / 2;
  for (int v = 0; v < s.num_services(); ++v) {
    EXPECT_TRUE(s.observed(t, v, s.ColumnIndex("span:count"))) << s.services[v];
    EXPECT_GT(s.value(t, v, s.ColumnIndex("span:count")), 0) << s.services[v];
  }
  // The tokens of a full window are finite after normalisation.
  FeatureNormalizer fn = FeatureNormalizer::Fit(s, 0, s.steps);
  ASSERT_TRUE(fn.Apply(&s).ok());
  TokenSeries z = BuildTokens(s, AggregationOptions{});
  std::vector<float> w;
  std::vector<uint8_t> m;
  ASSERT_TRUE(TokenWindow(z, s.steps - 1, 4, &w, &m).ok());
  EXPECT_EQ(w.size(), static_cast<size_t>(s.num_services()) * 4 * 2 * s.dims());
  for (float f : w) ASSERT_TRUE(std::isfinite(f));
}

// ReplayNezhaDay feeds the builder: pods map to services, the fixture's
// trace t1 (b calls a and c) gives the edges, metrics their columns.
TEST(ServiceGraph, NezhaFixtureReplay) {
  NezhaLoadOptions lo;
  lo.traces = true;
  NezhaDay day;
  ASSERT_TRUE(
      LoadNezhaDay(std::string(TRIAD_SOURCE_DIR) + "/tests/fixtures/nezha/tt/2023-01-29", lo, &day)
          .ok());
  ServiceGraphBuilder b;
  ReplayNezhaDay(day, b);
  ServiceGraphSeries s = BuildOrDie(b);
  std::set<std::pair<std::string, std::string>> seen;
  for (int t = 0; t < s.steps; ++t)
    for (const CallEdge& e : s.edges[t]) seen.insert({s.services[e.caller], s.services[e.callee]});
  EXPECT_TRUE(seen.count({"ts-b-service", "ts-a-service"}));
  EXPECT_TRUE(seen.count({"ts-b-service", "ts-c-service"}));
  EXPECT_GE(s.ServiceIndex("ts-a-service"), 0);
  bool metric_col = false;
  for (const auto& c : s.columns) metric_col |= c.rfind("metric:", 0) == 0;
  EXPECT_TRUE(metric_col);
  EXPECT_EQ(s.x.size(), static_cast<size_t>(s.steps) * s.num_services() * s.dims());
}

}  // namespace
}  // namespace triad
