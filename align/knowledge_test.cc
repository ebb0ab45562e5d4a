#include "align/knowledge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sim/simulator.h"

namespace triad {
namespace {

const char* kExample = R"({
  "format": "triad-knowledge", "version": 1,
  "topology": [{"caller": "a", "callee": "b"}, {"caller": "a", "callee": "nobody"}],
  "deployment": [{"service": "b", "host": "n1"}, {"service": "c", "host": "n1"}],
  "faults": [{"name": "b refuses", "service": "b",
              "signals": [{"feature": "span:p95_ms", "change": 4},
                          {"feature": "log:template", "template": "Connection refused"}]}],
  "rules": [{"name": "slow", "service": "*", "feature": "span:p95_ms", "op": ">", "value": 101}],
  "future_key": {"ignored": true}
})";

ServiceGraphSeries Series() {
  ServiceGraphSeries s;
  s.steps = 3;
  s.services = {"a", "b", "c"};
  s.columns = {"log:top1", "span:p95_ms"};
  s.slot_templates = {{0}, {9}, {0}};
  s.template_text = {{9, "Connection to <*> refused"}};
  s.x.assign(3 * 3 * 2, 0.0f);
  s.mask.assign(3 * 3 * 2, 1);
  for (int t = 0; t < 3; ++t) s.x[s.Index(t, 1, 1)] = 100.0f + t;
  s.mask[s.Index(0, 2, 1)] = 0;
  s.x[s.Index(0, 2, 1)] = NAN;
  s.edges.assign(3, {});
  return s;
}

TEST(Knowledge, ParsesTheDocumentedExampleAndRoundTrips) {
  Knowledge k;
  ASSERT_TRUE(ParseKnowledge(kExample, &k).ok());
  ASSERT_EQ(k.topology.size(), 2u);
  ASSERT_EQ(k.faults.size(), 1u);
  EXPECT_EQ(k.faults[0].signals[0].change, 4);
  EXPECT_EQ(k.faults[0].signals[1].change, 3);  // default
  EXPECT_EQ(k.faults[0].signals[1].template_text, "Connection refused");
  ASSERT_EQ(k.rules.size(), 1u);
  Knowledge again;
  ASSERT_TRUE(ParseKnowledge(KnowledgeToJson(k), &again).ok());
  EXPECT_EQ(KnowledgeToJson(again), KnowledgeToJson(k));
}

TEST(Knowledge, RejectsBadFilesWithMessagesNamingTheEntry) {
  Knowledge k;
  EXPECT_EQ(ParseKnowledge("{not json", &k).code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseKnowledge(R"({"format":"x","version":1})", &k).code(),
            Status::Code::kUnsupported);
  EXPECT_EQ(ParseKnowledge(R"({"format":"triad-knowledge","version":2})", &k).code(),
            Status::Code::kUnsupported);
  Status s = ParseKnowledge(
      R"({"format":"triad-knowledge","version":1,"rules":[{"name":"r","service":"*","feature":"f","op":"!=","value":1}]})",
      &k);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("rules[0]"), std::string::npos) << s.ToString();
  s = ParseKnowledge(
      R"({"format":"triad-knowledge","version":1,"faults":[{"name":"f","service":"b","signals":[{"feature":"log:template"}]}]})",
      &k);
  EXPECT_NE(s.message().find("faults[0].signals[0]"), std::string::npos) << s.ToString();
  s = ParseKnowledge(
      R"({"format":"triad-knowledge","version":1,"faults":[{"name":"f","service":"b","signals":[{"feature":"x","change":"big"}]}]})",
      &k);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(LoadKnowledge("/nonexistent/knowledge.json", &k).code(), Status::Code::kNotFound);
}

TEST(Knowledge, ResolvesAndAppliesASignature) {
  Knowledge k;
  ASSERT_TRUE(ParseKnowledge(kExample, &k).ok());
  ServiceGraphSeries s = Series();
  std::vector<ResolvedSignal> r;
  ASSERT_TRUE(ResolveSignature(k.faults[0], s, &r).ok());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].service, 1);
  EXPECT_EQ(r[0].column, 1);
  EXPECT_EQ(r[1].column, 0);  // the template slot whose text contains the tokens in order
  ApplySignature(r, 1, 3, &s);
  EXPECT_FLOAT_EQ(s.value(0, 1, 1), 100.0f);  // outside the steps: unchanged
  EXPECT_FLOAT_EQ(s.value(1, 1, 1), 105.0f);
  EXPECT_FLOAT_EQ(s.value(2, 1, 0), 3.0f);
  FaultSignature typo = k.faults[0];
  typo.signals[0].feature = "span:p99_ms";
  Status st = ResolveSignature(typo, s, &r);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("span:p99_ms"), std::string::npos);
  typo = k.faults[0];
  typo.service = "zzz";
  EXPECT_EQ(ResolveSignature(typo, s, &r).code(), Status::Code::kNotFound);
}

TEST(Knowledge, RulesAndServicePairs) {
  Knowledge k;
  ASSERT_TRUE(ParseKnowledge(kExample, &k).ok());
  ServiceGraphSeries s = Series();
  EXPECT_FALSE(RuleFires(k.rules[0], s, 1, 1));  // 101 > 101 is false
  EXPECT_TRUE(RuleFires(k.rules[0], s, 2, 1));
  EXPECT_FALSE(RuleFires(k.rules[0], s, 0, 2));  // unobserved
  AlertRule only_a = k.rules[0];
  only_a.service = "a";
  EXPECT_FALSE(RuleFires(only_a, s, 2, 1));
  // a-b from the topology ("nobody" unknown: skipped), b-c share host n1.
  EXPECT_EQ(KnowledgeServicePairs(k, s), (std::vector<std::pair<int, int>>{{0, 1}, {1, 2}}));
}

// The documented example (docs/examples/sim_knowledge.json) fits the
// simulator's system: every fault resolves, every topology pair is known.
TEST(Knowledge, DocumentedSimulatorExampleResolves) {
  Knowledge k;
  ASSERT_TRUE(LoadKnowledge(std::string(TRIAD_SOURCE_DIR) + "/docs/examples/sim_knowledge.json",
                            &k)
                  .ok());
  SimConfig cfg;
  cfg.services = 10;
  cfg.minutes = 3;
  cfg.train_minutes = 3;
  cfg.faults = 0;
  cfg.rps = 5;
  Simulator sim(cfg);
  ServiceGraphBuilder b;
  ASSERT_TRUE(sim.Run(b).ok());
  ServiceGraphSeries s;
  ASSERT_TRUE(b.Build(&s).ok());
  for (const FaultSignature& f : k.faults) {
    std::vector<ResolvedSignal> r;
    Status st = ResolveSignature(f, s, &r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(r.size(), f.signals.size());
  }
  // Both shared-host pairs are also call pairs here: deduplicated.
  EXPECT_EQ(KnowledgeServicePairs(k, s).size(), k.topology.size());
  std::set<std::pair<std::string, std::string>> truth(sim.truth().edges.begin(),
                                                      sim.truth().edges.end());
  for (const auto& e : k.topology) EXPECT_TRUE(truth.count(e)) << e.first << "->" << e.second;
}

}  // namespace
}  // namespace triad
