#include "eval/trace_injection.h"

#include <set>

#include <gtest/gtest.h>

#include "sim/rng.h"

namespace triad {
namespace {

EventSequence Seq(std::vector<uint32_t> l) {
  EventSequence s{std::string("t"), {}, {}};
  for (size_t i = 0; i < l.size(); ++i) s.durations.push_back(1000 * (i + 1));
  s.labels = std::move(l);
  return s;
}

TEST(TraceInjection, ReplaceSwapInsertDeleteRt) {
  InjectedAnomaly a;
  EventSequence s = Seq({2, 3, 4, 5});
  EXPECT_FALSE(InjectReplace(&s, 1, 3, &a));  // same label: no-op refused
  ASSERT_TRUE(InjectReplace(&s, 1, 9, &a));
  EXPECT_EQ(s.labels, (std::vector<uint32_t>{2, 9, 4, 5}));
  EXPECT_EQ(a.kind, InjectionKind::kReplace);
  EXPECT_EQ(a.position, 1u);
  EXPECT_EQ(a.original_label, 3u);
  EXPECT_EQ(a.injected_label, 9u);
  EXPECT_EQ(a.clean_length, 4u);

  s = Seq({2, 3, 4, 3});
  EXPECT_FALSE(InjectSwap(&s, 1, 3, &a));  // equal labels
  ASSERT_TRUE(InjectSwap(&s, 1, 2, &a));
  EXPECT_EQ(s.labels, (std::vector<uint32_t>{2, 4, 3, 3}));
  EXPECT_EQ(s.durations, (std::vector<TimeNs>{1000, 3000, 2000, 4000}));
  EXPECT_EQ(a.position, 1u);
  EXPECT_EQ(a.other_position, 2u);

  s = Seq({2, 3, 4});
  ASSERT_TRUE(InjectInsert(&s, 3, 7, 555, &a));  // at the end
  EXPECT_EQ(s.labels, (std::vector<uint32_t>{2, 3, 4, 7}));
  EXPECT_EQ(s.durations, (std::vector<TimeNs>{1000, 2000, 3000, 555}));
  EXPECT_EQ(a.original_label, 0u);
  EXPECT_EQ(a.clean_length, 3u);
  ASSERT_TRUE(InjectInsert(&s, 1, 8, 1, &a));
  EXPECT_EQ(s.labels, (std::vector<uint32_t>{2, 8, 3, 4, 7}));
  EXPECT_EQ(a.original_label, 3u);

  s = Seq({2, 3, 4});
  ASSERT_TRUE(InjectDelete(&s, 2, &a));  // last event: early end
  EXPECT_EQ(s.labels, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(a.position, 2u);
  EXPECT_EQ(a.injected_label, 0u);
  EXPECT_EQ(a.original_rt, 3000);
  ASSERT_TRUE(InjectDelete(&s, 0, &a));
  EXPECT_FALSE(InjectDelete(&s, 0, &a));  // would leave an empty trace

  s = Seq({2, 3});
  ASSERT_TRUE(InjectResponseTime(&s, 1, 9999, &a));
  EXPECT_EQ(s.durations[1], 9999);
  EXPECT_EQ(a.original_rt, 2000);
  EXPECT_EQ(a.injected_label, 3u);
}

TEST(TraceInjection, ProtocolIsSeededAndTruthMatches) {
  std::vector<EventSequence> clean;
  Rng g(5);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint32_t> l;
    const int n = g.Int(4, 20);
    for (int k = 0; k < n; ++k) l.push_back(2 + static_cast<uint32_t>(g.Below(10)));
    clean.push_back(Seq(l));
  }
  InjectionOptions o;
  o.seed = 42;
  o.vocab_size = 12;
  o.kinds = {InjectionKind::kReplace, InjectionKind::kSwap, InjectionKind::kInsert,
             InjectionKind::kDelete, InjectionKind::kResponseTime};
  std::vector<InjectedAnomaly> truth, truth2;
  InjectionStats st;
  auto bad = InjectAnomalies(clean, o, &truth, &st);
  auto bad2 = InjectAnomalies(clean, o, &truth2, nullptr);
  ASSERT_EQ(bad.size(), clean.size());
  EXPECT_EQ(st.injected + st.skipped, clean.size());
  EXPECT_GE(st.injected, 290u);
  ASSERT_EQ(truth.size(), st.injected);
  ASSERT_EQ(truth2.size(), truth.size());
  for (auto k : o.kinds) EXPECT_GT(st.by_kind[k], 30u) << InjectionKindName(k);
  std::set<uint32_t> positions;
  for (size_t i = 0; i < truth.size(); ++i) {
    const InjectedAnomaly& a = truth[i];
    EXPECT_EQ(a.trace, truth2[i].trace);
    EXPECT_EQ(a.position, truth2[i].position);
    const EventSequence& c = clean[a.trace];
    const EventSequence& b = bad[a.trace];
    EXPECT_EQ(bad2[a.trace].labels, b.labels);
    EXPECT_EQ(a.clean_length, c.size());
    EXPECT_GE(a.position, 1u);  // event 0 is never predicted
    positions.insert(a.position);
    // Everything before `position` is untouched.
    for (uint32_t p = 0; p < a.position && p < b.size(); ++p) ASSERT_EQ(b.labels[p], c.labels[p]);
    switch (a.kind) {
      case InjectionKind::kReplace:
        EXPECT_EQ(b.size(), c.size());
        EXPECT_NE(b.labels[a.position], c.labels[a.position]);
        EXPECT_GE(b.labels[a.position], 2u);
        EXPECT_LT(b.labels[a.position], 12u);
        break;
      case InjectionKind::kSwap:
        EXPECT_EQ(b.labels[a.position], c.labels[a.other_position]);
        EXPECT_EQ(b.labels[a.other_position], c.labels[a.position]);
        break;
      case InjectionKind::kInsert:
        EXPECT_EQ(b.size(), c.size() + 1);
        EXPECT_EQ(b.labels[a.position], a.injected_label);
        break;
      case InjectionKind::kDelete:
        EXPECT_EQ(b.size() + 1, c.size());
        break;
      case InjectionKind::kResponseTime: {
        EXPECT_EQ(b.labels, c.labels);
        const double f = static_cast<double>(b.durations[a.position]) / c.durations[a.position];
        EXPECT_GE(f, 3.0);  // rt + U(2rt, 5rt)
        EXPECT_LT(f, 6.0);
        break;
      }
    }
    // Untouched traces are not in the truth; touched ones differ.
    EXPECT_TRUE(b.labels != c.labels || b.durations != c.durations);
  }
  EXPECT_GT(positions.size(), 15u);
  o.seed = 43;
  std::vector<InjectedAnomaly> truth3;
  InjectAnomalies(clean, o, &truth3, nullptr);
  size_t same = 0;
  for (size_t i = 0; i < std::min(truth.size(), truth3.size()); ++i)
    same += truth[i].position == truth3[i].position && truth[i].kind == truth3[i].kind;
  EXPECT_LT(same, truth.size() / 2);
}

TEST(TraceInjection, AcceptLabelFilterImplementsTopKExclusion) {
  // "Top-k" for every position: labels 2..10. Only 11 is acceptable.
  std::vector<EventSequence> clean(20, Seq({2, 3, 4, 5, 6}));
  InjectionOptions o;
  o.vocab_size = 12;
  o.accept_label = [](size_t, uint32_t, uint32_t l) { return l > 10; };
  std::vector<InjectedAnomaly> truth;
  auto bad = InjectAnomalies(clean, o, &truth, nullptr);
  ASSERT_EQ(truth.size(), 20u);
  for (const auto& a : truth) EXPECT_EQ(a.injected_label, 11u);
  // No acceptable label: skipped and counted.
  o.accept_label = [](size_t, uint32_t, uint32_t) { return false; };
  InjectionStats st;
  auto same = InjectAnomalies(clean, o, &truth, &st);
  EXPECT_EQ(st.skipped, 20u);
  EXPECT_TRUE(truth.empty());
  EXPECT_EQ(same[0].labels, clean[0].labels);
}

TEST(TraceInjection, SwapSkipsUniformTraces) {
  InjectionOptions o;
  o.kinds = {InjectionKind::kSwap};
  InjectionStats st;
  std::vector<InjectedAnomaly> truth;
  InjectAnomalies({Seq({4, 4, 4, 4})}, o, &truth, &st);
  EXPECT_EQ(st.skipped, 1u);
  EXPECT_TRUE(truth.empty());
}

TEST(InjectionAccuracy, AggregatesByKindLengthAndPosition) {
  InjectionAccuracy acc;
  InjectedAnomaly a;
  a.kind = InjectionKind::kReplace;
  a.clean_length = 5;
  a.position = 2;
  acc.Add(a, 1, true);
  acc.Add(a, 1, false);
  a.position = 3;
  acc.Add(a, 1, true);
  a.clean_length = 7;
  acc.Add(a, 3, true);
  EXPECT_EQ(acc.Overall(InjectionKind::kReplace, 1).injected, 3u);
  EXPECT_NEAR(acc.Overall(InjectionKind::kReplace, 1).accuracy(), 2.0 / 3, 1e-12);
  EXPECT_EQ(acc.Overall(InjectionKind::kReplace, 3).detected, 1u);
  EXPECT_EQ(acc.Overall(InjectionKind::kSwap, 1).injected, 0u);
  auto pos = acc.ByPosition(InjectionKind::kReplace, 1);
  EXPECT_NEAR(pos[2].accuracy(), 0.5, 1e-12);
  EXPECT_NEAR(pos[3].accuracy(), 1.0, 1e-12);
  auto len = acc.ByLength(InjectionKind::kReplace, 3);
  ASSERT_EQ(len.size(), 1u);
  EXPECT_EQ(len.begin()->first, 7u);
  const std::string csv = acc.ToCsv();
  EXPECT_NE(csv.find("replace,1,all,0,3,2,0.666667"), std::string::npos) << csv;
  EXPECT_NE(csv.find("replace,1,position,2,2,1,0.500000"), std::string::npos) << csv;
  InjectionKind k;
  EXPECT_TRUE(ParseInjectionKind("rt", &k));
  EXPECT_EQ(k, InjectionKind::kResponseTime);
  EXPECT_FALSE(ParseInjectionKind("bogus", &k));
}

}  // namespace
}  // namespace triad
