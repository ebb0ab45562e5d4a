#include "align/window_graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

namespace triad {
namespace {

// Services a, b, c; 4 steps. a calls b in step 1 (5 calls) and step 3 (1 call);
// c is never called. Templates: a slot 1 = id 7, b slot 1 = id 9, b slot 2 = id 10.
ServiceGraphSeries HandSeries() {
  ServiceGraphSeries s;
  s.start = 0;
  s.step = 60 * kNsPerSec;
  s.steps = 4;
  s.services = {"a", "b", "c"};
  s.columns = {"metric:cpu", "log:count", "log:top1", "log:top2", "log:other", "span:p95_ms"};
  s.slot_templates = {{7, 0}, {9, 10}, {0, 0}};
  s.template_text = {{7, "user <*> logged in"}, {9, "Connection to <*> refused"}, {10, "retry"}};
  const size_t n = 4 * 3 * s.columns.size();
  s.x.assign(n, NAN);
  s.mask.assign(n, 0);
  auto set = [&](int t, int v, int f, float x) {
    s.x[s.Index(t, v, f)] = x;
    s.mask[s.Index(t, v, f)] = 1;
  };
  for (int t = 0; t < 4; ++t) {
    set(t, 0, 0, 10.0f + t);   // a reports cpu
    set(t, 0, 2, t == 2 ? 3.0f : 0.0f);  // a's template 7 in step 2
    set(t, 1, 2, t >= 2 ? 1.0f : 0.0f);  // b's template 9 in steps 2, 3
    set(t, 1, 3, t == 2 ? 2.0f : 0.0f);  // b's template 10 in step 2
    set(t, 1, 5, 100.0f + t);  // b's latency
  }
  s.edges.assign(4, {});
  s.edges[1] = {{0, 1, 5}};
  s.edges[3] = {{0, 1, 1}};
  return s;
}

TEST(WindowGraph, SymmetricNormalizationMatchesHandComputation) {
  // Path 0 - 1 - 2 with weights 1 and 3; Â = D^-1/2 (A + I) D^-1/2.
  std::vector<int32_t> r, c;
  std::vector<float> w;
  SymmetricNormalizedCoo(3, {{0, 1, 1.0f}, {2, 1, 3.0f}}, &r, &c, &w);
  // D = [2, 5, 4].
  const double d[3] = {2, 5, 4};
  std::map<std::pair<int, int>, double> want = {
      {{0, 0}, 1 / d[0]},           {{0, 1}, 1 / std::sqrt(d[0] * d[1])},
      {{1, 0}, 1 / std::sqrt(d[0] * d[1])}, {{1, 1}, 1 / d[1]},
      {{1, 2}, 3 / std::sqrt(d[1] * d[2])}, {{2, 1}, 3 / std::sqrt(d[1] * d[2])},
      {{2, 2}, 1 / d[2]}};
  ASSERT_EQ(r.size(), want.size());
  size_t i = 0;
  for (const auto& [k, v] : want) {  // sorted by (row, col) like the output
    EXPECT_EQ(r[i], k.first);
    EXPECT_EQ(c[i], k.second);
    EXPECT_NEAR(w[i], v, 1e-6);
    ++i;
  }
  // Symmetric, and an isolated node keeps weight 1 on its self-loop.
  SymmetricNormalizedCoo(2, {}, &r, &c, &w);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_FLOAT_EQ(w[0], 1.0f);
}

TEST(WindowGraph, LayoutNodesAndAttributes) {
  ServiceGraphSeries raw = HandSeries();
  WindowGraphLayout l = MakeWindowGraphLayout(raw, 0, 4, 2);
  EXPECT_EQ(l.services, 3);
  EXPECT_EQ(l.service_columns, (std::vector<int>{1, 4, 5}));  // log:count, log:other, span:p95_ms
  EXPECT_EQ(l.log_nodes, (std::vector<std::pair<int, int>>{{0, 2}, {1, 2}, {1, 3}}));
  EXPECT_EQ(l.metric_nodes, (std::vector<std::pair<int, int>>{{0, 0}}));  // only a reports cpu
  EXPECT_EQ(l.nodes(), 7);
  std::vector<std::string> names = l.NodeNames(raw);
  EXPECT_EQ(names[4], "b log:top1 [Connection to <*> refused]");
  EXPECT_EQ(names[6], "a metric:cpu");

  ServiceGraphSeries norm = raw;  // values as they are: attributes are easy to check
  WindowGraph g;
  ASSERT_TRUE(BuildWindowGraph(l, raw, norm, {}, 3, {2, 1, false, true}, &g).ok());
  ASSERT_EQ(g.x_service.size(), 3u * 2 * 3);
  // b, step 2 (i = 0), column span:p95_ms (c = 2); unobserved cells are 0.
  EXPECT_FLOAT_EQ(g.x_service[(1 * 2 + 0) * 3 + 2], 102.0f);
  EXPECT_FLOAT_EQ(g.x_service[(1 * 2 + 0) * 3 + 0], 0.0f);
  EXPECT_EQ(g.x_log, (std::vector<float>{3, 0, 1, 1, 2, 0}));
  EXPECT_EQ(g.x_metric, (std::vector<float>{12, 13}));
}

TEST(WindowGraph, EdgesFollowCallsMembershipAndCooccurrence) {
  ServiceGraphSeries raw = HandSeries();
  WindowGraphLayout l = MakeWindowGraphLayout(raw, 0, 4, 2);
  WindowGraphOptions o;
  o.window = 2;
  auto has = [](const WindowGraph& g, int a, int b) {
    for (size_t i = 0; i < g.row.size(); ++i)
      if (g.row[i] == a && g.col[i] == b) return true;
    return false;
  };
  WindowGraph g;
  // Window {2, 3}: a->b in step 3; templates 7 (a), 9 and 10 (b) all in step 2.
  ASSERT_TRUE(BuildWindowGraph(l, raw, raw, {}, 3, o, &g).ok());
  EXPECT_EQ(g.invocation_edges, 1);
  EXPECT_EQ(g.deployment_edges, 4);
  EXPECT_EQ(g.cooccurrence_edges, 3);  // 7-9 (a, b linked), 7-10, 9-10
  EXPECT_TRUE(has(g, 0, 1) && has(g, 1, 0));
  EXPECT_FALSE(has(g, 0, 2));
  EXPECT_TRUE(has(g, 3, 0));  // log node of a - a
  EXPECT_TRUE(has(g, 3, 4));
  // Window {1, 2}... end 2: a->b in step 1; but co-occurrence needs the link too.
  // Window {2, 3} without the call: end 3 is fixed, so drop the call from step 3.
  ServiceGraphSeries quiet = raw;
  quiet.edges[3].clear();
  ASSERT_TRUE(BuildWindowGraph(l, quiet, quiet, {}, 3, o, &g).ok());
  EXPECT_EQ(g.invocation_edges, 0);
  EXPECT_EQ(g.cooccurrence_edges, 1);  // only 9-10 (same service)
  EXPECT_FALSE(has(g, 3, 4));
  // A knowledge pair restores the link (and c - a from the file).
  ASSERT_TRUE(BuildWindowGraph(l, quiet, quiet, {{0, 1}, {2, 0}}, 3, o, &g).ok());
  EXPECT_EQ(g.invocation_edges, 2);
  EXPECT_TRUE(has(g, 2, 0));
  EXPECT_EQ(g.cooccurrence_edges, 3);
  o.knowledge_edges = false;
  ASSERT_TRUE(BuildWindowGraph(l, quiet, quiet, {{0, 1}}, 3, o, &g).ok());
  EXPECT_EQ(g.invocation_edges, 0);
  // Rows of Â: every node has its self-loop.
  for (int n = 0; n < l.nodes(); ++n) EXPECT_TRUE(has(g, n, n)) << n;
}

TEST(WindowGraph, RejectsBadWindowsAndMismatchedSeries) {
  ServiceGraphSeries raw = HandSeries();
  WindowGraphLayout l = MakeWindowGraphLayout(raw, 0, 4, 2);
  WindowGraph g;
  EXPECT_EQ(BuildWindowGraph(l, raw, raw, {}, 0, {}, &g).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(BuildWindowGraph(l, raw, raw, {}, 4, {}, &g).code(), Status::Code::kInvalidArgument);
  ServiceGraphSeries other = raw;
  other.columns[0] = "metric:mem";
  EXPECT_EQ(BuildWindowGraph(l, raw, other, {}, 3, {}, &g).code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace triad
