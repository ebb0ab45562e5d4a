#include "sim/topology.h"

#include <gtest/gtest.h>

#include <set>

namespace triad {
namespace {

TEST(SimTopology, WellFormedForManySizesAndSeeds) {
  for (int n : {4, 5, 6, 7, 10, 13, 20, 40}) {
    for (uint64_t seed : {1u, 2u, 3u, 99u}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " seed=" + std::to_string(seed));
      const Topology t = Topology::Generate(n, seed);
      ASSERT_EQ(static_cast<int>(t.services.size()), n);
      EXPECT_EQ(t.services[0].name, "gateway");
      EXPECT_EQ(t.services[0].kind, ServiceKind::kGateway);
      std::set<std::string> names;
      std::vector<int> callers(n, 0);
      int stores = 0, mids = 0;
      for (int i = 0; i < n; ++i) {
        const Service& s = t.services[i];
        EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
        ASSERT_FALSE(s.ops.empty()) << s.name;
        if (s.kind != ServiceKind::kGateway) {
          EXPECT_LE(s.ops.size(), 4u) << s.name;
        }
        EXPECT_GE(s.instances.size(), 1u);
        EXPECT_LE(s.instances.size(), 3u);
        const bool store = s.kind == ServiceKind::kDatabase || s.kind == ServiceKind::kCache;
        stores += store;
        mids += s.kind == ServiceKind::kService;
        for (const auto& op : s.ops) {
          if (store) {
            EXPECT_TRUE(op.calls.empty()) << s.name << " is a data store but calls out";
            EXPECT_FALSE(op.statement.empty());
          } else {
            EXPECT_FALSE(op.method.empty());
            EXPECT_EQ(op.route.rfind("/api/", 0), 0u) << op.route;
          }
          EXPECT_GT(op.expected_ms, 0);
          int last_group = -1;
          for (const auto& c : op.calls) {
            ASSERT_GT(c.service, i) << "call graph must be a DAG in index order";
            ASSERT_LT(c.service, n);
            ASSERT_LT(c.op, static_cast<int>(t.services[c.service].ops.size()));
            EXPECT_GE(c.group, last_group);
            last_group = c.group;
            EXPECT_GT(c.prob, 0);
            EXPECT_LE(c.prob, 1);
            ++callers[c.service];
          }
        }
      }
      EXPECT_GE(stores, 1);
      EXPECT_GE(mids, 2);
      EXPECT_LE(mids, n - 2);
      for (int i = 1; i < n; ++i) EXPECT_GT(callers[i], 0) << t.services[i].name << " is never called";
      const auto rates = t.ExpectedRates(10);
      for (int i = 0; i < n; ++i) EXPECT_GT(rates[i], 0) << t.services[i].name;
      EXPECT_NEAR(rates[0], 10, 1e-9);
      EXPECT_GE(t.Edges().size(), static_cast<size_t>(n - 1));
    }
  }
}

TEST(SimTopology, DeterministicPerSeed) {
  const Topology a = Topology::Generate(12, 5), b = Topology::Generate(12, 5), c = Topology::Generate(12, 6);
  ASSERT_EQ(a.services.size(), b.services.size());
  for (size_t i = 0; i < a.services.size(); ++i) {
    EXPECT_EQ(a.services[i].name, b.services[i].name);
    ASSERT_EQ(a.services[i].instances.size(), b.services[i].instances.size());
    for (size_t k = 0; k < a.services[i].instances.size(); ++k)
      EXPECT_EQ(a.services[i].instances[k].name, b.services[i].instances[k].name);
  }
  EXPECT_EQ(a.Edges(), b.Edges());
  bool differs = a.Edges() != c.Edges();
  for (size_t i = 0; i < a.services.size() && !differs; ++i)
    differs = a.services[i].instances[0].name != c.services[i].instances[0].name;
  EXPECT_TRUE(differs);
}

TEST(SimTopology, PodNamesLookLikeKubernetes) {
  const Topology t = Topology::Generate(10, 1);
  for (const auto& s : t.services)
    for (const auto& in : s.instances) {
      EXPECT_EQ(in.name.rfind(s.name + "-", 0), 0u) << in.name;
      EXPECT_EQ(in.ip.rfind("10.244.", 0), 0u);
    }
}

}  // namespace
}  // namespace triad
