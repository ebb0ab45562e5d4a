#include "align/trace_sequences.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ingest/read_stats.h"
#include "ingest/reader.h"
#include "sim/simulator.h"
#include "sim/topology.h"

namespace triad {
namespace {

Span Mk(std::string trace, std::string id, std::string parent, TimeNs start, TimeNs end,
        std::string service = "svc", std::string name = "op") {
  Span s;
  s.trace_id = std::move(trace);
  s.span_id = std::move(id);
  s.parent_span_id = std::move(parent);
  s.start = start;
  s.end = end;
  s.service = std::move(service);
  s.name = std::move(name);
  return s;
}

std::vector<std::string> Ids(const Trace& t) {
  std::vector<std::string> v;
  for (const Span& s : t.spans) v.push_back(s.span_id);
  return v;
}

// ---------------------------------------------------------------- assembly

TEST(TraceAssembly, SortsByStartWithParentBeforeChildOnTies) {
  // Input order scrambled; c and its parent b start at the same time, as do
  // siblings x/y (tie by span id). d's parent is missing (orphan).
  std::vector<Span> in = {
      Mk("t1", "c", "b", 100, 150), Mk("t1", "y", "a", 200, 210), Mk("t1", "b", "a", 100, 190),
      Mk("t1", "x", "a", 200, 220), Mk("t1", "a", "", 0, 300),     Mk("t1", "d", "zz", 250, 260),
  };
  TraceAssemblyStats st;
  auto traces = AssembleTraces(in, &st);
  ASSERT_EQ(traces.size(), 1u);
  const Trace& t = traces[0];
  EXPECT_EQ(Ids(t), (std::vector<std::string>{"a", "b", "c", "x", "y", "d"}));
  EXPECT_EQ(t.parent, (std::vector<int32_t>{-1, 0, 1, 0, 0, -1}));
  EXPECT_EQ(t.orphans, 1u);
  EXPECT_EQ(st.orphans, 1u);
  EXPECT_EQ(t.start(), 0);
  EXPECT_EQ(t.end(), 300);
}

TEST(TraceAssembly, ChildBeforeParentIdWhenDeeperButTiedStart) {
  // Tie on start where the child's id sorts first: depth must win over id.
  std::vector<Span> in = {Mk("t", "0child", "zparent", 5, 6), Mk("t", "zparent", "", 5, 9)};
  auto traces = AssembleTraces(in, nullptr);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(Ids(traces[0]), (std::vector<std::string>{"zparent", "0child"}));
  EXPECT_EQ(traces[0].parent[1], 0);
}

TEST(TraceAssembly, GroupsTracesOrdersByStartAndCountsBadSpans) {
  std::vector<Span> in = {Mk("late", "1", "", 500, 600), Mk("", "x", "", 0, 1),
                          Mk("early", "1", "", 10, 20), Mk("early", "1", "", 11, 12),
                          Mk("late", "2", "1", 510, 520)};
  TraceAssemblyStats st;
  auto traces = AssembleTraces(in, &st);
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0].trace_id, "early");
  EXPECT_EQ(traces[1].trace_id, "late");
  EXPECT_EQ(st.no_trace_id, 1u);
  EXPECT_EQ(st.duplicate_span_ids, 1u);
  EXPECT_EQ(st.spans, 5u);
  EXPECT_EQ(st.traces, 2u);
}

TEST(TraceAssembly, ParentCycleIsBrokenNotInfinite) {
  std::vector<Span> in = {Mk("t", "a", "b", 10, 20), Mk("t", "b", "a", 10, 20),
                          Mk("t", "c", "c", 5, 6)};
  auto traces = AssembleTraces(in, nullptr);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].size(), 3u);
  EXPECT_EQ(traces[0].spans[0].span_id, "c");
  EXPECT_EQ(traces[0].parent[0], -1);  // self-parent ignored
}

TEST(TraceAssembler, CompletesAfterIdleTimeoutOfEventTime) {
  TraceAssemblerOptions o;
  o.idle_timeout = 10;
  std::vector<Trace> done;
  TraceAssembler a(o, [&](Trace&& t) { done.push_back(std::move(t)); });
  a.Add(Mk("A", "1", "", 0, 5));
  a.Add(Mk("B", "1", "", 3, 8));
  a.Add(Mk("A", "2", "1", 6, 12));  // A active until 12
  EXPECT_TRUE(done.empty());
  a.Add(Mk("C", "1", "", 18, 19));  // watermark 19: B idle 11 > 10 -> done; A idle 7
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].trace_id, "B");
  a.AdvanceTo(22);  // exactly 10 after A's 12: not yet
  EXPECT_EQ(done.size(), 1u);
  a.AdvanceTo(23);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[1].trace_id, "A");
  EXPECT_EQ(done[1].size(), 2u);
  EXPECT_FALSE(done[1].evicted);
  a.Add(Mk("A", "3", "1", 21, 22));  // A already completed: late span
  EXPECT_EQ(a.stats().late_spans, 1u);
  EXPECT_EQ(a.open_traces(), 1u);
  a.Flush();
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[2].trace_id, "C");
  EXPECT_EQ(a.stats().traces, 3u);
  EXPECT_EQ(a.open_traces(), 0u);
}

TEST(TraceAssembler, EvictsLeastRecentlyActiveWhenFull) {
  TraceAssemblerOptions o;
  o.idle_timeout = 1000;
  o.max_open_traces = 2;
  std::vector<Trace> done;
  TraceAssembler a(o, [&](Trace&& t) { done.push_back(std::move(t)); });
  a.Add(Mk("A", "1", "", 0, 5));
  a.Add(Mk("B", "1", "", 1, 3));
  a.Add(Mk("A", "2", "1", 6, 7));  // A now more recent than B
  a.Add(Mk("C", "1", "", 8, 9));   // full: evict B
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].trace_id, "B");
  EXPECT_TRUE(done[0].evicted);
  EXPECT_EQ(a.stats().evicted, 1u);
  EXPECT_LE(a.open_traces(), 2u);
  a.Flush();
  EXPECT_EQ(done.size(), 3u);
}

TEST(TraceAssembler, StreamingMatchesBatchOnOrderedInput) {
  // Many small traces, spans arrive in end order; a long timeout.
  std::vector<Span> spans;
  for (int t = 0; t < 50; ++t)
    for (int k = 0; k < 5; ++k)
      spans.push_back(Mk(fmt::format("t{:02d}", t), fmt::format("s{}", k), k ? "s0" : "",
                         t * 100 + k * 3, t * 100 + k * 3 + 2));
  auto batch = AssembleTraces(spans, nullptr);
  TraceAssemblerOptions o;
  o.idle_timeout = 50;
  std::vector<Trace> stream;
  TraceAssembler a(o, [&](Trace&& t) { stream.push_back(std::move(t)); });
  for (Span s : spans) a.Add(std::move(s));
  EXPECT_GE(stream.size(), 45u);  // most complete before the flush
  a.Flush();
  ASSERT_EQ(stream.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(stream[i].trace_id, batch[i].trace_id);
    EXPECT_EQ(Ids(stream[i]), Ids(batch[i]));
    EXPECT_EQ(stream[i].parent, batch[i].parent);
  }
}

// ---------------------------------------------------------------- labels

TEST(UrlPattern, MasksIdsAndDropsQueryAndAuthority) {
  EXPECT_EQ(UrlPattern("https://1.1.1.11/v2/a16d/servers/detail"), "/v2/id/servers/detail");
  EXPECT_EQ(UrlPattern("http://cart:8080/api/cart/12345?q=1&limit=20"), "/api/cart/id");
  EXPECT_EQ(UrlPattern("/api/v1/orderservice/order/5ad7750b-a68b-49c0-a8c0-32776b067703"),
            "/api/v1/orderservice/order/id");
  EXPECT_EQ(UrlPattern("/api/v1/travelservice/trips/G1234"), "/api/v1/travelservice/trips/id");
  EXPECT_EQ(UrlPattern("/users/deadbeefcafe0001/orders#frag"), "/users/id/orders");
  EXPECT_EQ(UrlPattern("/report/2021-08-17/v1.5"), "/report/id/v1.5");
  EXPECT_EQ(UrlPattern("/oauth2/token"), "/oauth2/token");   // 1 digit: a word
  EXPECT_EQ(UrlPattern("/cafe/add"), "/cafe/add");           // hex letters, no digit
  EXPECT_EQ(UrlPattern("http://host:80"), "/");
  EXPECT_EQ(UrlPattern(""), "/");
  EXPECT_EQ(UrlPattern("//a//b/"), "/a/b");
}

TEST(EventLabel, HttpLabelHasCodeMethodPatternHost) {
  Span s = Mk("t", "1", "", 0, 1, "cart", "GET /api/cart/{id}");
  s.http_method = "GET";
  s.http_url = "http://cart:8080/api/cart/991?x=2";
  s.http_status_code = 200;
  s.host = "10.0.0.7";
  EXPECT_TRUE(IsHttpSpan(s));
  EXPECT_EQ(EventLabel(s), "200_GET_/api/cart/id_10.0.0.7");
  LabelOptions o;
  o.http_method = false;
  o.host = LabelHost::kService;
  EXPECT_EQ(EventLabel(s, o), "200_/api/cart/id_cart");
  o.host = LabelHost::kNone;
  EXPECT_EQ(EventLabel(s, o), "200_/api/cart/id");
  // Host attributes win over Span::host.
  s.attributes = {{"net.host.name", "node-3"}};
  EXPECT_EQ(EventLabel(s), "200_GET_/api/cart/id_node-3");
  // server.address names the own host only on server spans.
  s.attributes = {{"server.address", "callee"}};
  s.kind = SpanKind::kClient;
  EXPECT_EQ(EventLabel(s), "200_GET_/api/cart/id_10.0.0.7");
  s.kind = SpanKind::kServer;
  EXPECT_EQ(EventLabel(s), "200_GET_/api/cart/id_callee");
}

TEST(EventLabel, HttpWithoutStatusCodeUsesErrorFlag) {
  // DeepTraLog entry: "{POST}/api/..." -> method + url, no code, no host.
  Span s = Mk("t", "1", "", 0, 1, "ts-food-service", "{POST}/api/v1/foodservice/createOrderBatch");
  s.http_method = "POST";
  s.http_url = "/api/v1/foodservice/createOrderBatch";
  EXPECT_EQ(EventLabel(s), "0_POST_/api/v1/foodservice/createOrderBatch_ts-food-service");
  s.status = SpanStatus::kError;
  EXPECT_EQ(EventLabel(s), "err_POST_/api/v1/foodservice/createOrderBatch_ts-food-service");
}

TEST(EventLabel, NonHttpIsServiceAndOperation) {
  Span s = Mk("t", "1", "", 0, 1, "ts-food-service", "MongoDB/FindOperation");
  EXPECT_FALSE(IsHttpSpan(s));
  EXPECT_EQ(EventLabel(s), "ts-food-service_MongoDB/FindOperation");
  s.status = SpanStatus::kError;
  EXPECT_EQ(EventLabel(s), "ts-food-service_MongoDB/FindOperation_err");
  LabelOptions o;
  o.error_suffix = false;
  EXPECT_EQ(EventLabel(s, o), "ts-food-service_MongoDB/FindOperation");
}

TEST(LabelTrace, LabelsAndDurationsInTraceOrder) {
  auto traces = AssembleTraces({Mk("t", "b", "a", 10, 40, "s", "child"),
                                Mk("t", "a", "", 0, 100, "s", "root")},
                               nullptr);
  LabeledTrace lt = LabelTrace(traces[0]);
  EXPECT_EQ(lt.labels, (std::vector<std::string>{"s_root", "s_child"}));
  EXPECT_EQ(lt.durations, (std::vector<TimeNs>{100, 30}));
}

// ---------------------------------------------------------------- vocabulary

LabeledTrace LT(std::vector<std::string> labels, std::vector<TimeNs> d = {}) {
  LabeledTrace t;
  t.labels = std::move(labels);
  t.durations = d.empty() ? std::vector<TimeNs>(t.labels.size(), 1000) : std::move(d);
  return t;
}

TEST(EventVocabulary, TopMByFrequencyWithReservedEntries) {
  std::vector<LabeledTrace> train = {LT({"a", "b", "b", "c"}), LT({"b", "c", "d", "e"}),
                                     LT({"c", "a", "b"})};
  // counts: b 4, c 3, a 2, d 1, e 1
  EventVocabulary v;
  v.Fit(train, /*top_m=*/3);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v.Label(0), "!0");
  EXPECT_EQ(v.Label(1), "!unk");
  EXPECT_EQ(v.Label(2), "b");
  EXPECT_EQ(v.Label(3), "c");
  EXPECT_EQ(v.Label(4), "a");
  EXPECT_EQ(v.Count(2), 4u);
  EXPECT_EQ(v.Index("c"), 3u);
  EXPECT_EQ(v.Index("d"), EventVocabulary::kUnknown);
  EXPECT_EQ(v.Index("never"), EventVocabulary::kUnknown);
  // min_count and ties by label.
  v.Fit(train, 0, /*min_count=*/1);
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v.Label(5), "d");
  EXPECT_EQ(v.Label(6), "e");
  v.Fit(train, 0, /*min_count=*/3);
  EXPECT_EQ(v.size(), 4u);
}

TEST(EventVocabulary, JsonRoundTripAndCorruption) {
  EventVocabulary v;
  v.Fit({LT({"x_1", "y \"q\"", "x_1"})}, 0);
  EventVocabulary w;
  ASSERT_TRUE(w.FromJson(v.ToJson()).ok());
  ASSERT_EQ(w.size(), v.size());
  for (uint32_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(w.Label(i), v.Label(i));
    EXPECT_EQ(w.Count(i), v.Count(i));
  }
  EXPECT_EQ(w.Index("y \"q\""), v.Index("y \"q\""));
  const std::string path = ::testing::TempDir() + "/vocab_test.json";
  ASSERT_TRUE(v.Save(path).ok());
  EventVocabulary z;
  ASSERT_TRUE(z.Load(path).ok());
  EXPECT_EQ(z.size(), v.size());
  std::remove(path.c_str());
  EXPECT_FALSE(z.FromJson("{").ok());
  EXPECT_FALSE(z.FromJson(R"({"format":"other"})").ok());
  EXPECT_FALSE(z.FromJson(
                    R"({"format":"triad-event-vocabulary","labels":["a","!unk"],"counts":[0,0]})")
                   .ok());
  EXPECT_FALSE(z.FromJson(R"({"format":"triad-event-vocabulary","labels":["!0","!unk","a","a"],)"
                          R"("counts":[0,0,1,1]})")
                   .ok());
  EXPECT_EQ(z.size(), v.size());  // unchanged on error
  EXPECT_FALSE(z.Load("/nonexistent/dir/v.json").ok());
}

// ---------------------------------------------------------------- sequences

TEST(ToEventSequences, LengthFilterCountsSkipsAndUnknowns) {
  std::vector<LabeledTrace> tr = {LT({"a", "b"}), LT({"a", "b", "c", "a"}),
                                  LT({"a", "b", "zz", "a", "b", "c"}),
                                  LT({"a", "a", "a", "a", "a", "a", "a"})};
  EventVocabulary v;
  v.Fit(tr, 0, 2);  // a, b, c (c appears twice)
  LengthFilter f;
  f.min_length = 3;
  f.max_length = 6;
  SequenceStats st;
  auto seqs = ToEventSequences(tr, v, f, &st);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(st.too_short, 1u);
  EXPECT_EQ(st.too_long, 1u);
  EXPECT_EQ(st.kept, 2u);
  EXPECT_EQ(st.unknown, 1u);  // zz
  EXPECT_EQ(st.events, 10u);
  EXPECT_EQ(seqs[1].labels[2], EventVocabulary::kUnknown);
  EXPECT_EQ(st.length_hist.at(7), 1u);
  f.truncate = true;
  SequenceStats st2;
  seqs = ToEventSequences(tr, v, f, &st2);
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(st2.truncated, 1u);
  EXPECT_EQ(seqs[2].size(), 6u);
}

TEST(ToEventSequences, PerLengthCapIsSeededAndCounted) {
  std::vector<LabeledTrace> tr;
  for (int i = 0; i < 30; ++i) {
    tr.push_back(LT({"a", "b", "c", "d"}));
    tr.back().trace_id = fmt::format("four{}", i);
  }
  for (int i = 0; i < 3; ++i) tr.push_back(LT({"a", "b", "c", "d", "e"}));
  EventVocabulary v;
  v.Fit(tr, 0);
  LengthFilter f;
  f.max_per_length = 5;
  SequenceStats st;
  auto a = ToEventSequences(tr, v, f, &st);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_EQ(st.capped, 25u);
  auto b = ToEventSequences(tr, v, f, nullptr);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].trace_id, b[i].trace_id);
  f.seed = 99;
  auto c = ToEventSequences(tr, v, f, nullptr);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= a[i].trace_id != c[i].trace_id;
  EXPECT_TRUE(differs);  // 5 of 30 by another seed: almost surely another subset
}

// ---------------------------------------------------------------- scaling

EventSequence Seq(std::vector<uint32_t> l, std::vector<TimeNs> d) {
  EventSequence s;
  s.labels = std::move(l);
  s.durations = std::move(d);
  return s;
}

TEST(RtScaler, PerLabelMinMaxClampedAndGlobalFallback) {
  std::vector<EventSequence> train = {Seq({2, 3}, {1000, 50000}), Seq({2, 3}, {3000, 10000})};
  RtScaler sc;
  sc.Fit(train);
  EXPECT_FLOAT_EQ(sc.Scale(2, 1000), 0.f);
  EXPECT_FLOAT_EQ(sc.Scale(2, 2000), 0.5f);
  EXPECT_FLOAT_EQ(sc.Scale(2, 3000), 1.f);
  EXPECT_FLOAT_EQ(sc.Scale(2, 9000), 1.f);   // clamped
  EXPECT_FLOAT_EQ(sc.Scale(2, 0), 0.f);      // clamped
  EXPECT_FLOAT_EQ(sc.Scale(3, 30000), 0.5f);
  // Unknown label: global [1000, 50000].
  EXPECT_FLOAT_EQ(sc.Scale(EventVocabulary::kUnknown, 25500), 0.5f);
  EXPECT_FLOAT_EQ(sc.Scale(77, 25500), 0.5f);
  EXPECT_NEAR(sc.Unscale(2, 0.5f), 2000.0, 1e-6);
  RtScaler wide(5.0f);
  wide.Fit(train);
  EXPECT_FLOAT_EQ(wide.Scale(2, 9000), 4.f);  // visible beyond the training max
  // Constant label: min_range keeps it finite.
  RtScaler c;
  c.Fit({Seq({4}, {7000})});
  EXPECT_FLOAT_EQ(c.Scale(4, 7000), 0.f);
  EXPECT_FLOAT_EQ(c.Scale(4, 7500), 0.5f);  // (7500-7000)/1000 us
  // JSON round trip.
  RtScaler r;
  ASSERT_TRUE(r.FromJson(wide.ToJson()).ok());
  EXPECT_FLOAT_EQ(r.Scale(2, 9000), 4.f);
  EXPECT_FLOAT_EQ(r.Scale(3, 30000), 0.5f);
  EXPECT_FLOAT_EQ(r.Scale(9, 25500), 0.5f);
  EXPECT_FALSE(r.FromJson(R"({"format":"triad-rt-scaler","global":[2,1]})").ok());
  EXPECT_FALSE(r.FromJson("[]").ok());
}

TEST(EncodeTraces, PaddingAndNextEventTargets) {
  std::vector<EventSequence> seqs = {Seq({2, 3, 4}, {1000, 2000, 3000}),
                                     Seq({3, 2, 2, 4, 3}, {2000, 1000, 1000, 3000, 2000})};
  RtScaler sc(1.0f, 1);
  sc.Fit({Seq({2, 3, 4}, {0, 0, 0}), Seq({2, 3, 4}, {4000, 4000, 4000})});
  TraceTensors x = EncodeTraces(seqs, sc, 4);
  ASSERT_EQ(x.num_traces, 2u);
  ASSERT_EQ(x.time, 4u);
  ASSERT_EQ(x.input_labels.size(), 8u);
  EXPECT_EQ(x.input_labels, (std::vector<int64_t>{2, 3, 4, 0, 3, 2, 2, 4}));
  EXPECT_EQ(x.target_labels, (std::vector<int64_t>{3, 4, 0, 0, 2, 2, 4, 0}));
  EXPECT_EQ(x.mask, (std::vector<uint8_t>{1, 1, 1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(x.lengths, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(x.truncated, 1u);
  EXPECT_EQ(x.input_rt, (std::vector<float>{0.25f, 0.5f, 0.75f, 0, 0.5f, 0.25f, 0.25f, 0.75f}));
  EXPECT_EQ(x.target_rt, (std::vector<float>{0.5f, 0.75f, 0, 0, 0.25f, 0.25f, 0.75f, 0}));
}

// ---------------------------------------------------------------- relations

TEST(ExecutionRelations, ConcurrentSiblingsAndDependentPairs) {
  // root r [0,100): children a [10,20), b [25,40), c [30,50), d [45,60),
  // e [70,80); a's child a1 [12,18). b, c, d overlap transitively (b-c, c-d).
  std::vector<Span> in = {Mk("t", "r", "", 0, 100),   Mk("t", "a", "r", 10, 20),
                          Mk("t", "a1", "a", 12, 18), Mk("t", "b", "r", 25, 40),
                          Mk("t", "c", "r", 30, 50),  Mk("t", "d", "r", 45, 60),
                          Mk("t", "e", "r", 70, 80)};
  auto tr = AssembleTraces(in, nullptr);
  const Trace& t = tr[0];
  ASSERT_EQ(Ids(t), (std::vector<std::string>{"r", "a", "a1", "b", "c", "d", "e"}));
  ExecutionRelations rel = ExtractExecutionRelations(t);
  ASSERT_EQ(rel.concurrent.size(), 1u);
  EXPECT_EQ(rel.concurrent[0], (std::vector<uint32_t>{3, 4, 5}));
  EXPECT_TRUE(rel.Concurrent(3, 5));
  EXPECT_FALSE(rel.Concurrent(1, 3));
  std::set<std::pair<uint32_t, uint32_t>> dep(rel.dependent.begin(), rel.dependent.end());
  // parent -> child
  for (uint32_t c : {1u, 3u, 4u, 5u, 6u}) EXPECT_TRUE(dep.count({0, c})) << c;
  EXPECT_TRUE(dep.count({1, 2}));
  // a precedes b and c (immediate); not d (b lies between a and d).
  EXPECT_TRUE(dep.count({1, 3}));
  EXPECT_TRUE(dep.count({1, 4}));
  EXPECT_FALSE(dep.count({1, 5}));
  // b -> d? b ends 40 <= d start 45, nothing between: yes. c -> d: overlap, no.
  EXPECT_TRUE(dep.count({3, 5}));
  EXPECT_FALSE(dep.count({4, 5}));
  // d -> e; c -> e (c ends 50, between c and e lies d? d starts 45 < 50: no) yes.
  EXPECT_TRUE(dep.count({5, 6}));
  EXPECT_TRUE(dep.count({4, 6}));
  EXPECT_FALSE(dep.count({1, 6}));
  EXPECT_FALSE(dep.count({3, 6}));  // d lies between b and e
  EXPECT_EQ(dep.size(), rel.dependent.size());  // no duplicates
}

// The simulator runs the calls of one call group concurrently and groups one
// after another (sim/topology.h). Check the extraction against that truth.
TEST(ExecutionRelations, MatchesSimulatorCallGroups) {
  uint64_t sets = 0, mixed = 0, same_group_pairs = 0, same_group_conc = 0, diff_group_pairs = 0,
           diff_group_conc = 0, unmapped = 0;
  size_t ntraces = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
  SimConfig cfg;
  cfg.seed = seed;
  cfg.services = 12;
  cfg.minutes = 1;
  cfg.train_minutes = 1;  // no faults, no deploys
  cfg.faults = 0;
  cfg.rps = 5;
  ASSERT_TRUE(ValidateSimConfig(cfg).ok());
  Simulator sim(cfg);
  CollectingSink sink;
  ASSERT_TRUE(sim.Run(sink).ok());
  const Topology topo = Topology::Generate(cfg.services, cfg.seed);
  auto traces = AssembleTraces(std::move(sink.spans), nullptr);
  ASSERT_GT(traces.size(), 50u);
  ntraces += traces.size();
  // Group of a client span under server span `p`: the call of p's operation
  // that targets (peer, name).
  auto group_of = [&](const Span& p, const Span& c) -> int {
    const int s = topo.Find(p.service);
    if (s < 0) return -1;
    for (const Operation& op : topo.services[s].ops) {
      if (op.name != p.name) continue;
      for (const Call& call : op.calls)
        if (topo.services[call.service].name == c.peer && topo.services[call.service].ops[call.op].name == c.name)
          return call.group;
    }
    return -1;
  };
  for (const Trace& t : traces) {
    ExecutionRelations rel = ExtractExecutionRelations(t);
    sets += rel.concurrent.size();
    for (const auto& set : rel.concurrent) {
      std::set<int> groups;
      for (uint32_t i : set) {
        ASSERT_GE(t.parent[i], 0);
        ASSERT_EQ(t.parent[i], t.parent[set[0]]);  // siblings
        groups.insert(group_of(t.spans[t.parent[i]], t.spans[i]));
      }
      if (groups.size() > 1) ++mixed;
    }
    for (uint32_t i = 0; i < t.size(); ++i)
      for (uint32_t j = i + 1; j < t.size(); ++j) {
        if (t.parent[i] < 0 || t.parent[i] != t.parent[j]) continue;
        const Span& p = t.spans[t.parent[i]];
        if (p.kind != SpanKind::kServer && p.kind != SpanKind::kUnspecified) continue;
        const int gi = group_of(p, t.spans[i]), gj = group_of(p, t.spans[j]);
        if (gi < 0 || gj < 0) {
          ++unmapped;
          continue;
        }
        const bool conc = rel.Concurrent(i, j);
        if (gi == gj) {
          ++same_group_pairs;
          same_group_conc += conc;
        } else {
          ++diff_group_pairs;
          diff_group_conc += conc;
        }
      }
  }
  }
  std::printf("sim: %zu traces, %llu concurrent sets, %llu same-group sibling pairs (%llu "
              "concurrent), %llu different-group pairs (%llu concurrent), %llu unmapped\n",
              ntraces, (unsigned long long)sets, (unsigned long long)same_group_pairs,
              (unsigned long long)same_group_conc, (unsigned long long)diff_group_pairs,
              (unsigned long long)diff_group_conc, (unsigned long long)unmapped);
  ASSERT_GT(sets, 0u);
  ASSERT_GT(same_group_pairs, 0u);
  ASSERT_GT(diff_group_pairs, 0u);
  EXPECT_EQ(diff_group_conc, 0u);  // groups run one after another
  EXPECT_EQ(mixed, 0u);
  // Same-group calls start within 250 us of each other and last longer.
  EXPECT_GE(same_group_conc * 100, same_group_pairs * 95);
}

// ---------------------------------------------------------------- real data

TEST(TraceSequencesRealData, DeepTraLogNormalRun) {
  const std::string dir =
      std::string(TRIAD_SHARED_DATA_DIR) + "/multimodal/deeptralog/tracelog/normal/F02normal01";
  std::string file;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec))
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().filename().string().find("SpanData") != std::string::npos)
        file = e.path().string();
  if (file.empty()) GTEST_SKIP() << "DeepTraLog F02normal01 not present under " << dir;
  ReadOptions ro;
  ro.format = InputFormat::kDeepTraLogCsv;
  ReadStats rs;
  TraceAssemblyStats as;
  std::vector<Trace> traces;
  // The file is grouped by trace, not ordered by time (traces of an 18 minute
  // run in scrambled order): streaming needs an idle timeout above the run's
  // length here; batch assembly needs none.
  TraceAssembler asm_({/*idle_timeout=*/3600 * kNsPerSec, 100000, 100000, 100000},
                      [&](Trace&& t) { traces.push_back(std::move(t)); });
  ASSERT_TRUE(ReadTelemetry(file, ro, asm_, &rs).ok());
  asm_.Flush();
  std::printf("read: %s\nstreaming: %s\n", rs.Summary().c_str(), asm_.stats().Summary().c_str());
  ASSERT_GT(traces.size(), 100u);
  EXPECT_EQ(asm_.stats().late_spans, 0u);

  std::vector<LabeledTrace> labeled;
  std::map<size_t, uint64_t> lens;
  uint64_t conc_sets = 0, dep_pairs = 0, spans = 0;
  for (const Trace& t : traces) {
    labeled.push_back(LabelTrace(t));
    ++lens[t.size()];
    spans += t.size();
    for (size_t i = 1; i < t.size(); ++i) ASSERT_LE(t.spans[i - 1].start, t.spans[i].start);
    ExecutionRelations rel = ExtractExecutionRelations(t);
    conc_sets += rel.concurrent.size();
    dep_pairs += rel.dependent.size();
  }
  EXPECT_EQ(spans + asm_.stats().late_spans + asm_.stats().no_trace_id, rs.records);
  std::string hist;
  for (const auto& [l, c] : lens) hist += fmt::format(" {}:{}", l, c);
  std::printf("%zu traces, %llu spans, %llu orphans; length histogram:%s\n", traces.size(),
              (unsigned long long)spans, (unsigned long long)asm_.stats().orphans, hist.c_str());
  std::printf("execution relations: %llu concurrent sets, %llu dependent pairs\n",
              (unsigned long long)conc_sets, (unsigned long long)dep_pairs);

  // Batch assembly agrees on the trace count.
  CollectingSink sink;
  ASSERT_TRUE(ReadTelemetry(file, ro, sink, nullptr).ok());
  auto batch = AssembleTraces(std::move(sink.spans), &as);
  EXPECT_EQ(batch.size(), traces.size());

  // Train on the first 80% (trace start order), dictionary top-M.
  const size_t ntrain = labeled.size() * 8 / 10;
  std::vector<LabeledTrace> train(labeled.begin(), labeled.begin() + ntrain);
  std::vector<LabeledTrace> test(labeled.begin() + ntrain, labeled.end());
  EventVocabulary vocab;
  vocab.Fit(train, /*top_m=*/200, /*min_count=*/5);
  std::printf("vocabulary: %zu entries; top labels:", vocab.size());
  for (uint32_t i = 2; i < std::min<size_t>(vocab.size(), 7); ++i)
    std::printf(" [%s x%llu]", vocab.Label(i).c_str(), (unsigned long long)vocab.Count(i));
  std::printf("\n");
  ASSERT_GT(vocab.size(), 2u);
  // The paper's 4-20 filter keeps nothing of this run (one batch-order
  // operation, 41-76 events per trace): report it, then encode with 4-100.
  SequenceStats paper_st;
  ToEventSequences(train, vocab, LengthFilter{}, &paper_st);
  std::printf("paper filter 4-20: %s\n", paper_st.Summary().c_str());
  EXPECT_EQ(paper_st.kept + paper_st.too_short + paper_st.too_long, paper_st.traces);
  LengthFilter f;
  f.max_length = 100;
  SequenceStats tr_st, te_st;
  auto tr_seq = ToEventSequences(train, vocab, f, &tr_st);
  auto te_seq = ToEventSequences(test, vocab, f, &te_st);
  std::printf("train: %s\ntest: %s\n", tr_st.Summary().c_str(), te_st.Summary().c_str());
  ASSERT_GT(tr_seq.size(), 0u);
  EXPECT_EQ(tr_st.kept + tr_st.too_short + tr_st.too_long, tr_st.traces);
  RtScaler sc;
  sc.Fit(tr_seq);
  TraceTensors x = EncodeTraces(tr_seq, sc, f.max_length);
  EXPECT_EQ(x.input_labels.size(), tr_seq.size() * f.max_length);
  for (float v : x.input_rt) {
    ASSERT_GE(v, 0.f);
    ASSERT_LE(v, 1.f);
  }
}

}  // namespace
}  // namespace triad
