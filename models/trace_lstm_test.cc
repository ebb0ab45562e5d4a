#include "models/trace_lstm.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "align/trace_sequences.h"
#include "eval/metrics.h"
#include "ingest/line_reader.h"
#include "ingest/reader.h"
#include "models/runtime.h"

namespace triad {
namespace {

// ---- Synthetic workflows ---------------------------------------------------
// Labels are letters; response times per label: (1 + index) ms, +-10 % jitter.
//   W1: a b c d e          W2: a b f g h i
//   W3: j k l m            W4: j k n o p q r
//   W5: s t {u v} w        (u and v concurrent: either order)
// Branching is at most 2 everywhere, so top-2 passes every normal trace.
const std::vector<std::vector<std::string>> kWorkflows = {
    {"a", "b", "c", "d", "e"},      {"a", "b", "f", "g", "h", "i"}, {"j", "k", "l", "m"},
    {"j", "k", "n", "o", "p", "q", "r"}, {"s", "t", "u", "v", "w"}};

TimeNs MeanRt(const std::string& l) { return (1 + (l[0] - 'a')) * kNsPerMs; }

LabeledTrace MakeTrace(std::mt19937& rng, int id) {
  std::uniform_int_distribution<int> which(0, static_cast<int>(kWorkflows.size()) - 1);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  LabeledTrace t;
  t.trace_id = "t" + std::to_string(id);
  t.labels = kWorkflows[which(rng)];
  if (t.labels[0] == "s" && rng() % 2) std::swap(t.labels[2], t.labels[3]);
  for (const auto& l : t.labels) t.durations.push_back(static_cast<TimeNs>(MeanRt(l) * jitter(rng)));
  return t;
}

std::vector<LabeledTrace> MakeTraces(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<LabeledTrace> v;
  for (int i = 0; i < n; ++i) v.push_back(MakeTrace(rng, i));
  return v;
}

TraceModelConfig SmallConfig(TraceModelKind kind) {
  TraceModelConfig c;
  c.kind = kind;
  c.hidden = 32;
  c.joint_hidden = 32;
  c.epochs = 60;
  c.batch = 32;
  c.lr = 1e-2;
  c.top_k = 2;
  c.threads = 1;  // training team; deterministic and robust on a loaded machine
  c.length_filter.min_length = 1;
  c.length_filter.max_length = 20;
  return c;
}

// Models trained once for the suite.
class TraceLstmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ConfigureTorchRuntime(2);
    spdlog::set_level(spdlog::level::warn);
    train_ = new std::vector<LabeledTrace>(MakeTraces(600, 1));
    val_ = new std::vector<LabeledTrace>(MakeTraces(200, 2));
    for (auto kind : {TraceModelKind::kSad, TraceModelKind::kRtad, TraceModelKind::kMultimodal}) {
      auto* m = new TraceModel(SmallConfig(kind));
      Status st = m->Fit(*train_, *val_);
      ASSERT_TRUE(st.ok()) << st.ToString();
      models_[kind] = m;
    }
    spdlog::set_level(spdlog::level::info);
  }
  static void TearDownTestSuite() {
    for (auto& [k, m] : models_) delete m;
    models_.clear();
    delete train_;
    delete val_;
  }
  static const TraceModel& Model(TraceModelKind k) { return *models_.at(k); }

  static std::vector<LabeledTrace>* train_;
  static std::vector<LabeledTrace>* val_;
  static std::map<TraceModelKind, TraceModel*> models_;
};
std::vector<LabeledTrace>* TraceLstmTest::train_ = nullptr;
std::vector<LabeledTrace>* TraceLstmTest::val_ = nullptr;
std::map<TraceModelKind, TraceModel*> TraceLstmTest::models_;

LabeledTrace Lt(std::vector<std::string> labels, double factor_at = -1, double factor = 1) {
  LabeledTrace t;
  t.trace_id = "x";
  t.labels = std::move(labels);
  for (size_t i = 0; i < t.labels.size(); ++i)
    t.durations.push_back(static_cast<TimeNs>(MeanRt(t.labels[i]) *
                                              (static_cast<double>(i) == factor_at ? factor : 1.0)));
  return t;
}

TEST_F(TraceLstmTest, SadAcceptsNormalWorkflows) {
  const TraceModel& m = Model(TraceModelKind::kSad);
  std::vector<LabeledTrace> test = MakeTraces(300, 3);
  std::vector<TraceVerdict> v;
  m.ScoreBatch(test, &v);
  size_t flagged = 0;
  for (const auto& x : v) flagged += x.anomaly;
  EXPECT_EQ(flagged, 0u);
  // Both orders of the concurrent pair are normal.
  EXPECT_FALSE(m.Score(Lt({"s", "t", "u", "v", "w"})).anomaly);
  EXPECT_FALSE(m.Score(Lt({"s", "t", "v", "u", "w"})).anomaly);
}

TEST_F(TraceLstmTest, SadFlagsSwappedInsertedAndTruncated) {
  const TraceModel& m = Model(TraceModelKind::kSad);
  // Swap c and d in W1: c expected at 2.
  TraceVerdict sw = m.Score(Lt({"a", "b", "d", "c", "e"}));
  ASSERT_TRUE(sw.anomaly);
  EXPECT_EQ(sw.type, TraceAnomalyType::kStructural);
  ASSERT_FALSE(sw.findings.empty());
  EXPECT_EQ(sw.findings[0].position, 2u);
  EXPECT_TRUE(sw.findings[0].structural);
  EXPECT_GT(sw.findings[0].rank, 2);
  // The expected labels at position 2 are c and f.
  std::set<std::string> expected;
  for (auto [l, p] : sw.findings[0].expected) expected.insert(m.vocabulary().Label(l));
  EXPECT_EQ(expected, (std::set<std::string>{"c", "f"}));
  EXPECT_GT(sw.structural_score, 2.0);
  // Inserted known label.
  TraceVerdict ins = m.Score(Lt({"j", "k", "l", "a", "m"}));
  ASSERT_TRUE(ins.anomaly);
  EXPECT_EQ(ins.findings[0].position, 3u);
  // Unknown label.
  TraceVerdict unk = m.Score(Lt({"j", "k", "zz", "m"}));
  ASSERT_TRUE(unk.anomaly);
  EXPECT_EQ(unk.findings[0].observed_label, EventVocabulary::kUnknown);
  // Truncated: trace ends early (expected p, observed '!0'). With a peaked
  // distribution rank 2 is an arbitrary near-zero label and '!0' (frequent)
  // often takes it, so at k = 2 this is only visible in the score: rank >= 2.
  TraceVerdict tr = m.Score(Lt({"j", "k", "n", "o"}));
  EXPECT_GT(tr.structural_score, 1.0);
  if (tr.anomaly) {
    EXPECT_EQ(tr.findings.back().position, 4u);
    EXPECT_EQ(tr.findings.back().observed_label, EventVocabulary::kPad);
  }
  // Unseen first label.
  TraceVerdict first = m.Score(Lt({"c", "d", "e"}));
  ASSERT_TRUE(first.anomaly);
  EXPECT_EQ(first.findings[0].position, 0u);
  // Normal scores stay below every anomaly's.
  double normal_max = 0;
  for (const auto& t : MakeTraces(100, 4)) normal_max = std::max(normal_max, m.Score(t).score);
  EXPECT_LT(normal_max, 1.0);
  for (const auto* v : {&sw, &ins, &unk, &tr, &first}) EXPECT_GT(v->score, normal_max);
}

TEST_F(TraceLstmTest, ScoreBatchAgreesWithScore) {
  const TraceModel& m = Model(TraceModelKind::kMultimodal);
  std::vector<LabeledTrace> test = MakeTraces(50, 5);
  test.push_back(Lt({"a", "b", "d", "c", "e"}, 3, 10));
  std::vector<TraceVerdict> v;
  m.ScoreBatch(test, &v);
  ASSERT_EQ(v.size(), test.size());
  for (size_t i = 0; i < test.size(); ++i) {
    TraceVerdict one = m.Score(test[i]);
    EXPECT_EQ(one.anomaly, v[i].anomaly) << i;
    EXPECT_NEAR(one.score, v[i].score, 1e-4 * std::max(1.0, one.score)) << i;
  }
}

TEST_F(TraceLstmTest, RtadFlagsTenfoldNotJitter) {
  const TraceModel& m = Model(TraceModelKind::kRtad);
  EXPECT_FALSE(m.structural());
  // Jitter within the training range (+-5 %) at every event of every workflow.
  size_t jitter_flagged = 0, slow_flagged = 0, total = 0;
  for (const auto& w : kWorkflows)
    for (size_t pos = 1; pos < w.size(); ++pos) {
      ++total;
      jitter_flagged += m.Score(Lt(w, static_cast<double>(pos), 1.05)).anomaly;
      TraceVerdict v = m.Score(Lt(w, static_cast<double>(pos), 10.0));
      slow_flagged += v.anomaly;
      if (v.anomaly) {
        EXPECT_EQ(v.type, TraceAnomalyType::kResponseTime);
        bool found = false;
        for (const auto& f : v.findings)
          if (f.position == pos && f.response_time) {
            found = true;
            EXPECT_GT(f.rt_ratio, 1.0);
            EXPECT_LT(f.expected_rt_hi, static_cast<double>(f.observed_rt));
            EXPECT_LE(f.expected_rt_lo, f.expected_rt_hi);
          }
        EXPECT_TRUE(found) << "position " << pos;
      }
    }
  EXPECT_EQ(slow_flagged, total);
  EXPECT_LE(jitter_flagged * 5, total) << jitter_flagged << " of " << total;
}

TEST_F(TraceLstmTest, MultimodalFlagsBothKinds) {
  const TraceModel& m = Model(TraceModelKind::kMultimodal);
  EXPECT_TRUE(m.structural());
  EXPECT_TRUE(m.response_time());
  std::vector<LabeledTrace> test = MakeTraces(300, 6);
  std::vector<TraceVerdict> v;
  m.ScoreBatch(test, &v);
  size_t flagged = 0;
  for (const auto& x : v) flagged += x.anomaly;
  // The 95 % bound flags some normal events by construction; most traces pass.
  EXPECT_LT(flagged, test.size() / 4) << flagged;
  EXPECT_LE(m.stats().validation_flag_rate, 0.25);

  TraceVerdict s = m.Score(Lt({"a", "b", "f", "h", "g", "i"}));
  EXPECT_TRUE(s.findings.size() >= 1 && s.findings[0].structural && s.findings[0].position == 3);
  EXPECT_TRUE(s.type == TraceAnomalyType::kStructural || s.type == TraceAnomalyType::kBoth);
  TraceVerdict r = m.Score(Lt({"a", "b", "f", "g", "h", "i"}, 4, 10));
  EXPECT_EQ(r.type, TraceAnomalyType::kResponseTime);
  TraceVerdict b = m.Score(Lt({"j", "k", "n", "o", "p", "r", "q"}, 2, 10));
  EXPECT_EQ(b.type, TraceAnomalyType::kBoth);
}

TEST_F(TraceLstmTest, SaveLoadBitIdenticalAndRefusesForeignFiles) {
  const TraceModel& m = Model(TraceModelKind::kMultimodal);
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/trace_lstm_" + std::to_string(getpid()) + ".model";
  ASSERT_TRUE(m.Save(path).ok());
  TraceModel loaded;
  Status st = loaded.Load(path);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded.config().kind, TraceModelKind::kMultimodal);
  EXPECT_EQ(loaded.vocabulary().size(), m.vocabulary().size());
  std::vector<LabeledTrace> test = MakeTraces(100, 7);
  test.push_back(Lt({"a", "b", "d", "c", "e"}, 3, 10));
  std::vector<TraceVerdict> a, b;
  m.ScoreBatch(test, &a);
  loaded.ScoreBatch(test, &b);
  for (size_t i = 0; i < test.size(); ++i) {
    EXPECT_EQ(a[i].score, b[i].score) << i;  // bit-identical
    EXPECT_EQ(a[i].structural_score, b[i].structural_score) << i;
    EXPECT_EQ(a[i].rt_score, b[i].rt_score) << i;
    EXPECT_EQ(a[i].findings.size(), b[i].findings.size()) << i;
  }
  // Foreign and damaged files.
  const std::string foreign = dir + "/trace_lstm_foreign_" + std::to_string(getpid());
  {
    std::ofstream f(foreign);
    f << "hello world\n";
  }
  TraceModel x;
  EXPECT_EQ(x.Load(foreign).code(), Status::Code::kUnsupported);
  {
    std::ofstream f(foreign);
    f << R"({"format":"triad-deeplog","version":1,"weights_bytes":0})" << "\n";
  }
  EXPECT_EQ(x.Load(foreign).code(), Status::Code::kUnsupported);
  {
    std::ofstream f(foreign);
    f << R"({"format":"triad-trace-lstm","version":99,"weights_bytes":0})" << "\n";
  }
  EXPECT_EQ(x.Load(foreign).code(), Status::Code::kUnsupported);
  // Truncated weights.
  {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream f(foreign, std::ios::binary);
    f.write(all.data(), static_cast<std::streamsize>(all.size() - 100));
  }
  EXPECT_EQ(x.Load(foreign).code(), Status::Code::kCorruption);
  EXPECT_FALSE(x.trained());
  EXPECT_EQ(x.Load(dir + "/does-not-exist").code(), Status::Code::kNotFound);
  std::remove(path.c_str());
  std::remove(foreign.c_str());
}

TEST_F(TraceLstmTest, DeterministicWithSeed) {
  TraceModelConfig c = SmallConfig(TraceModelKind::kSad);
  c.epochs = 3;
  std::vector<LabeledTrace> tr = MakeTraces(100, 8);
  TraceModel a(c), b(c);
  spdlog::set_level(spdlog::level::warn);
  ASSERT_TRUE(a.Fit(tr, {}).ok());
  ASSERT_TRUE(b.Fit(tr, {}).ok());
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(a.stats().final_loss, b.stats().final_loss);
  std::vector<LabeledTrace> test = MakeTraces(20, 9);
  for (const auto& t : test) EXPECT_EQ(a.Score(t).score, b.Score(t).score);
}

TEST(TraceLstm, DenseBaselinesTrainAndFlag) {
  ConfigureTorchRuntime(2);
  std::vector<LabeledTrace> tr = MakeTraces(300, 10);
  for (auto kind : {TraceModelKind::kDenseSad, TraceModelKind::kDenseRtad,
                    TraceModelKind::kDenseMultimodal}) {
    TraceModelConfig c = SmallConfig(kind);
    c.epochs = 20;
    TraceModel m(c);
    spdlog::set_level(spdlog::level::warn);
    Status st = m.Fit(tr, {});
    spdlog::set_level(spdlog::level::info);
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (m.structural()) {
      // No temporal context: after "k" (W3/W4) the dense model still knows l/n.
      EXPECT_TRUE(m.Score(Lt({"j", "k", "zz", "m"})).anomaly) << TraceModelKindName(kind);
    }
    if (m.response_time()) {
      TraceVerdict v = m.Score(Lt({"a", "b", "f", "g", "h", "i"}, 4, 10));
      EXPECT_TRUE(v.anomaly) << TraceModelKindName(kind);
    }
  }
}

TEST(TraceLstm, BadConfigAndEmptyInput) {
  TraceModelConfig c = SmallConfig(TraceModelKind::kSad);
  c.top_k = 0;
  TraceModel m(c);
  EXPECT_EQ(m.Fit(MakeTraces(10, 1), {}).code(), Status::Code::kInvalidArgument);
  TraceModel e(SmallConfig(TraceModelKind::kSad));
  EXPECT_EQ(e.Fit({}, {}).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(ParseTraceModelKind("dense-multimodal", &c.kind));
  EXPECT_EQ(c.kind, TraceModelKind::kDenseMultimodal);
  EXPECT_FALSE(ParseTraceModelKind("lstm", &c.kind));
}

// ---- Dependent / concurrent events on traces with known structure -------------

Span MkSpan(const std::string& trace, const std::string& id, const std::string& parent,
            const std::string& name, TimeNs start, TimeNs end) {
  Span s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = "svc";
  s.name = name;
  s.start = start * kNsPerMs;
  s.end = end * kNsPerMs;
  return s;
}

// T1: R calls A, then B and C concurrently (random start order), then D.
// T2: X calls Y, which calls Z (a chain of dependent calls).
std::vector<Trace> StructuredTraces(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Trace> out;
  for (int i = 0; i < n; ++i) {
    Trace t;
    t.trace_id = "p" + std::to_string(i);
    const std::string id = t.trace_id;
    if (i % 2 == 0) {
      const bool b_first = rng() % 2;
      t.spans = {MkSpan(id, "r", "", "R", 0, 100), MkSpan(id, "a", "r", "A", 1, 10),
                 MkSpan(id, "b", "r", "B", b_first ? 11 : 12, 30),
                 MkSpan(id, "c", "r", "C", b_first ? 12 : 11, 28), MkSpan(id, "d", "r", "D", 31, 40)};
    } else {
      t.spans = {MkSpan(id, "x", "", "X", 0, 50), MkSpan(id, "y", "x", "Y", 1, 40),
                 MkSpan(id, "z", "y", "Z", 2, 30)};
    }
    FinalizeTrace(&t);
    out.push_back(std::move(t));
  }
  return out;
}

TEST(TraceLstm, FindsConcurrentAndDependentEvents) {
  ConfigureTorchRuntime(2);
  std::vector<Trace> traces = StructuredTraces(300, 11);
  std::vector<LabeledTrace> labeled;
  // Ground truth as label pairs.
  std::set<std::pair<std::string, std::string>> true_conc, true_dep;
  for (const auto& t : traces) {
    LabeledTrace lt = LabelTrace(t);
    ExecutionRelations rel = ExtractExecutionRelations(t);
    for (const auto& set : rel.concurrent)
      for (size_t i = 0; i < set.size(); ++i)
        for (size_t j = i + 1; j < set.size(); ++j)
          true_conc.insert(std::minmax(lt.labels[set[i]], lt.labels[set[j]]));
    for (auto [a, b] : rel.dependent) true_dep.insert({lt.labels[a], lt.labels[b]});
    labeled.push_back(std::move(lt));
  }
  ASSERT_EQ(true_conc.size(), 1u);  // {svc_B, svc_C}

  TraceModelConfig c = SmallConfig(TraceModelKind::kSad);
  c.epochs = 80;
  TraceModel m(c);
  spdlog::set_level(spdlog::level::warn);
  ASSERT_TRUE(m.Fit(labeled, {}).ok());
  spdlog::set_level(spdlog::level::info);
  std::vector<EventSequence> seqs;
  for (const auto& lt : labeled) seqs.push_back(m.ToSequence(lt));
  PathReport rep = FindExecutionPaths(m, seqs);
  EXPECT_GT(rep.prefixes, 5u);
  const EventVocabulary& v = m.vocabulary();
  std::set<std::pair<std::string, std::string>> got_conc, got_dep;
  for (const auto& p : rep.concurrent) {
    got_conc.insert(std::minmax(v.Label(p.a), v.Label(p.b)));
    EXPECT_GT(p.pa, 0.2);
    EXPECT_GT(p.pb, 0.2);
    EXPECT_EQ(p.evidence, "interleaved");
    EXPECT_EQ(v.Label(p.next), "svc_D");
  }
  for (const auto& d : rep.dependent) {
    got_dep.insert({v.Label(d.from), v.Label(d.to)});
    EXPECT_GT(d.p, 0.2);
  }
  EXPECT_EQ(got_conc, true_conc);
  // Every dependent pair found is true ...
  for (const auto& d : got_dep) EXPECT_TRUE(true_dep.count(d)) << d.first << " -> " << d.second;
  // ... and the sequential ones are all found (parent -> later children are
  // not visible in a flat sequence and are not required).
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"svc_R", "svc_A"}, {"svc_A", "svc_B"}, {"svc_A", "svc_C"}, {"svc_B", "svc_D"},
           {"svc_C", "svc_D"}, {"svc_X", "svc_Y"}, {"svc_Y", "svc_Z"}})
    EXPECT_TRUE(got_dep.count({a, b})) << a << " -> " << b;
}

// ---- The hand-written inference path against libtorch -----------------------

// Random traces over the whole dictionary (unknown labels included), lengths
// 1-25 (longer than any training trace), response times 0.1-30 ms.
std::vector<EventSequence> RandomSequences(size_t labels, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<EventSequence> out;
  for (int i = 0; i < n; ++i) {
    EventSequence s;
    s.trace_id = "r" + std::to_string(i);
    const size_t len = 1 + rng() % 25;
    for (size_t j = 0; j < len; ++j) {
      s.labels.push_back(1 + static_cast<uint32_t>(rng() % (labels - 1)));
      s.durations.push_back(static_cast<TimeNs>(100 + rng() % 30000) * 1000);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Compares the two inference paths of `m` (restores its setting).
void ExpectSameAsTorch(TraceModel* m, const std::vector<EventSequence>& in) {
  const std::string kind = TraceModelKindName(m->config().kind);
  std::vector<TracePrediction> pf, pt;
  std::vector<TraceVerdict> vf, vt;
  m->mutable_config()->torch_inference = false;
  m->Predict(in, &pf);
  m->ScoreBatch(in, &vf);
  m->mutable_config()->torch_inference = true;
  m->Predict(in, &pt);
  m->ScoreBatch(in, &vt);
  m->mutable_config()->torch_inference = false;
  ASSERT_EQ(pf.size(), in.size());
  ASSERT_EQ(pt.size(), in.size());
  double max_dp = 0, max_dr = 0;
  size_t score_diff = 0, verdict_diff = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(pf[i].probs.size(), pt[i].probs.size()) << kind;
    ASSERT_EQ(pf[i].rt.size(), pt[i].rt.size()) << kind;
    for (size_t j = 0; j < pf[i].probs.size(); ++j)
      max_dp = std::max(max_dp, static_cast<double>(std::fabs(pf[i].probs[j] - pt[i].probs[j])));
    for (size_t j = 0; j < pf[i].rt.size(); ++j)
      max_dr = std::max(max_dr, static_cast<double>(std::fabs(pf[i].rt[j] - pt[i].rt[j])));
    score_diff += std::fabs(vf[i].score - vt[i].score) > 1e-4 * std::max(1.0, vt[i].score);
    verdict_diff += vf[i].anomaly != vt[i].anomaly || vf[i].type != vt[i].type ||
                    vf[i].findings.size() != vt[i].findings.size();
    // Streaming (one trace) takes the same path.
    if (i % 10 == 0) {
      TraceVerdict one = m->Score(in[i]);
      EXPECT_NEAR(one.score, vf[i].score, 1e-5 * std::max(1.0, one.score)) << kind << " " << i;
    }
  }
  std::printf("[trace-lstm fast path] %s: %zu traces, max |dp| %.2e, max |drt| %.2e, "
              "scores differing %zu, verdicts differing %zu\n",
              kind.c_str(), in.size(), max_dp, max_dr, score_diff, verdict_diff);
  EXPECT_LT(max_dp, 1e-4) << kind;
  EXPECT_LT(max_dr, 1e-4) << kind;
  // A score can only move by more than float noise where two predicted
  // probabilities tie to ~1e-6 around the observed label's rank.
  EXPECT_LE(score_diff, in.size() / 200) << kind;
  EXPECT_LE(verdict_diff, in.size() / 200) << kind;
}

TEST_F(TraceLstmTest, FastInferenceMatchesTorchLstm) {
  for (auto& [kind, m] : models_) {
    std::vector<EventSequence> in = RandomSequences(m->vocabulary().size(), 600, 21);
    for (const auto& t : MakeTraces(400, 22)) in.push_back(m->ToSequence(t));
    ExpectSameAsTorch(m, in);
    // Label-only prefixes (FindExecutionPaths) take the same path too.
    if (m->structural()) {
      std::vector<std::vector<uint32_t>> pre;
      for (size_t i = 0; i < 100; ++i) pre.push_back(in[i].labels);
      std::vector<std::vector<float>> df, dt;
      m->NextLabelDistribution(pre, &df);
      m->mutable_config()->torch_inference = true;
      m->NextLabelDistribution(pre, &dt);
      m->mutable_config()->torch_inference = false;
      for (size_t i = 0; i < pre.size(); ++i)
        for (size_t j = 0; j < df[i].size(); ++j) ASSERT_NEAR(df[i][j], dt[i][j], 1e-4);
    }
  }
}

TEST(TraceLstm, FastInferenceMatchesTorchDenseAndLoaded) {
  ConfigureTorchRuntime(2);
  spdlog::set_level(spdlog::level::warn);
  std::vector<LabeledTrace> tr = MakeTraces(300, 31);
  for (auto kind : {TraceModelKind::kDenseSad, TraceModelKind::kDenseRtad,
                    TraceModelKind::kDenseMultimodal, TraceModelKind::kMultimodal}) {
    TraceModelConfig c = SmallConfig(kind);
    c.epochs = 3;
    c.hidden = 24;        // h != h2: catches a layout mix-up
    c.joint_hidden = 40;
    c.dense1 = 30;
    c.dense2 = 11;
    TraceModel m(c);
    ASSERT_TRUE(m.Fit(tr, {}).ok());
    std::vector<EventSequence> in = RandomSequences(m.vocabulary().size(), 500, 32);
    for (const auto& t : MakeTraces(200, 33)) in.push_back(m.ToSequence(t));
    ExpectSameAsTorch(&m, in);
    // A loaded model rebuilds the fast copy from the file's weights.
    const std::string path = ::testing::TempDir() + "fast_" + std::to_string(getpid()) + ".model";
    ASSERT_TRUE(m.Save(path).ok());
    TraceModel back;
    ASSERT_TRUE(back.Load(path).ok());
    std::remove(path.c_str());
    std::vector<TraceVerdict> a, b;
    m.ScoreBatch(in, &a);
    back.ScoreBatch(in, &b);
    for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(a[i].score, b[i].score) << i;
    ExpectSameAsTorch(&back, in);
  }
  spdlog::set_level(spdlog::level::info);
}

// ---- Speed (printed, not asserted: no absolute timings in tests) -------------

TEST(TraceLstm, PrintsInferenceSpeed) {
  const char* env = std::getenv("TRIAD_SPEED_THREADS");  // torch threads (default 2)
  const int threads = env ? std::max(1, std::atoi(env)) : 2;
  ConfigureTorchRuntime(threads);
  TraceModelConfig c;  // default sizes (h = 64)
  c.kind = TraceModelKind::kMultimodal;
  c.epochs = 1;
  c.threads = threads;
  c.length_filter.min_length = 1;
  std::vector<LabeledTrace> tr = MakeTraces(2000, 12);
  TraceModel m(c);
  spdlog::set_level(spdlog::level::warn);
  ASSERT_TRUE(m.Fit(tr, {}).ok());
  spdlog::set_level(spdlog::level::info);
  // Traces of length 4..20 built from the workflows, repeated.
  std::vector<EventSequence> test;
  std::mt19937 rng(13);
  for (int i = 0; i < 20000; ++i) {
    LabeledTrace a = MakeTrace(rng, i), b = MakeTrace(rng, i);
    LabeledTrace t = a;
    const size_t want = 4 + rng() % 17;
    for (size_t k = 0; t.labels.size() < want; ++k) {
      t.labels.push_back(b.labels[k % b.labels.size()]);
      t.durations.push_back(b.durations[k % b.durations.size()]);
    }
    t.labels.resize(want);
    t.durations.resize(want);
    test.push_back(m.ToSequence(t));
  }
  using Clock = std::chrono::steady_clock;
  // Both inference paths in the same run: libtorch (the reference) and the
  // hand-written one; the ratio is what to compare across machines.
  // Batch throughput also per CPU-second of the process (all workers): on a
  // shared box the wall-clock figure depends on the load, this one much less.
  auto cpu_s = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  };
  struct Speed {
    double batch_tps = 0, batch_cpu_tps = 0, p50 = 0, p99 = 0, cpu_p50 = 0, cpu_p99 = 0;
  };
  auto thread_cpu_us = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
  };
  std::vector<TraceVerdict> ref;
  auto measure = [&](bool torch_path) {
    m.mutable_config()->torch_inference = torch_path;
    std::vector<TraceVerdict> out;
    m.ScoreBatch(test, &out);  // warm-up
    auto t0 = Clock::now();
    const double c0 = cpu_s();
    m.ScoreBatch(test, &out);
    Speed sp;
    sp.batch_tps = test.size() / std::chrono::duration<double>(Clock::now() - t0).count();
    sp.batch_cpu_tps = test.size() / std::max(1e-9, cpu_s() - c0);
    std::vector<double> lat, cpu;
    for (size_t i = 0; i < 2000; ++i) {
      auto t1 = Clock::now();
      const double u1 = thread_cpu_us();
      TraceVerdict v = m.Score(test[i]);
      cpu.push_back(thread_cpu_us() - u1);
      lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t1).count());
      EXPECT_EQ(v.anomaly, out[i].anomaly) << i;
    }
    std::sort(lat.begin(), lat.end());
    std::sort(cpu.begin(), cpu.end());
    sp.p50 = lat[lat.size() / 2];
    sp.p99 = lat[lat.size() * 99 / 100];
    sp.cpu_p50 = cpu[cpu.size() / 2];
    sp.cpu_p99 = cpu[cpu.size() * 99 / 100];
    if (ref.empty()) {
      ref = out;
    } else {
      size_t same = 0;
      for (size_t i = 0; i < out.size(); ++i) same += out[i].anomaly == ref[i].anomaly;
      EXPECT_GE(same, out.size() * 995 / 1000);
    }
    return sp;
  };
  const Speed torch_sp = measure(true);
  const Speed fast_sp = measure(false);
  std::printf("[trace-lstm speed] multimodal h=64, lengths 4-20, %s\n", DescribeTorchRuntime().c_str());
  for (const auto& [name, sp] : {std::make_pair("libtorch", torch_sp), std::make_pair("hand-written", fast_sp)})
    std::printf("[trace-lstm speed] %-12s batch: %.0f traces/s (%.0f per CPU-second); streaming "
                "Score(): p50 %.0f us, p99 %.0f us (CPU time: p50 %.0f us, p99 %.0f us)\n",
                name, sp.batch_tps, sp.batch_cpu_tps, sp.p50, sp.p99, sp.cpu_p50, sp.cpu_p99);
  std::printf("[trace-lstm speed] hand-written / libtorch: batch x%.2f, streaming p50 x%.1f, p99 x%.1f\n",
              fast_sp.batch_tps / torch_sp.batch_tps, torch_sp.p50 / fast_sp.p50,
              torch_sp.p99 / fast_sp.p99);
}

}  // namespace
}  // namespace triad

namespace triad {
namespace {

// ---- Real faults: DeepTraLog (F02normal01 normal; F05, F06 fault runs) ----------
// Trace labels from trace_labels.csv (rows with -1 left out). Normal traces are
// split by position: 60 % training, 20 % validation (threshold), 20 % test.
// Skips cleanly when the data is absent.
TEST(TraceLstmRealData, DeepTraLogFaults) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(TRIAD_SHARED_DATA_DIR) / "multimodal" / "deeptralog";
  if (!fs::exists(root / "trace_labels.csv.gz")) GTEST_SKIP() << "no data under " << root;
  ConfigureTorchRuntime(2);
  // Labels: trace_id -> label.
  std::map<std::string, int> label;
  {
    std::unique_ptr<LineReader> r;
    ASSERT_TRUE(LineReader::Open((root / "trace_labels.csv.gz").string(), &r).ok());
    std::string_view line;
    bool header = true;
    while (r->Next(&line)) {
      if (header) {
        header = false;
        continue;
      }
      std::vector<std::string> f;
      size_t s = 0;
      for (size_t e; (e = line.find(',', s)) != std::string_view::npos; s = e + 1)
        f.emplace_back(line.substr(s, e - s));
      f.emplace_back(line.substr(s));
      if (f.size() >= 3 && (f[2] == "0" || f[2] == "1")) label[f[0]] = f[2] == "1";
    }
  }
  auto read_dir = [&](const fs::path& dir) {
    CollectingSink sink;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find("SpanData") != std::string::npos) {
        ReadStats st;
        Status s = ReadTelemetry(e.path().string(), ReadOptions(), sink, &st);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    return AssembleTraces(std::move(sink.spans), nullptr);
  };
  LabelOptions lo;
  lo.host = LabelHost::kService;
  std::vector<LabeledTrace> normal;
  for (const auto& t : read_dir(root / "tracelog" / "normal" / "F02normal01"))
    if (label.count(t.trace_id) && label[t.trace_id] == 0) normal.push_back(LabelTrace(t, lo));
  std::vector<LabeledTrace> faults;
  std::map<std::string, size_t> by_dir;
  for (const auto& e : fs::directory_iterator(root / "tracelog" / "abnormal")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("F05", 0) != 0 && name.rfind("F23", 0) != 0) continue;  // F23-* = F06 runs
    for (const auto& t : read_dir(e.path()))
      if (label.count(t.trace_id) && label[t.trace_id] == 1) {
        faults.push_back(LabelTrace(t, lo));
        ++by_dir[name.substr(0, 3)];
      }
  }
  ASSERT_GT(normal.size(), 100u);
  ASSERT_GT(faults.size(), 100u);
  const size_t n_tr = normal.size() * 6 / 10, n_va = normal.size() * 2 / 10;
  std::vector<LabeledTrace> tr(normal.begin(), normal.begin() + n_tr);
  std::vector<LabeledTrace> va(normal.begin() + n_tr, normal.begin() + n_tr + n_va);
  std::vector<LabeledTrace> test(normal.begin() + n_tr + n_va, normal.end());
  std::vector<int> y(test.size(), 0);
  test.insert(test.end(), faults.begin(), faults.end());
  y.resize(test.size(), 1);
  std::printf("[deeptralog] %zu normal (%zu train, %zu validation, %zu test), %zu faults "
              "(F05 %zu, F06 %zu)\n", normal.size(), tr.size(), va.size(),
              test.size() - faults.size(), faults.size(), by_dir["F05"], by_dir["F23"]);
  std::printf("[deeptralog] model       | paper verdict P / R / F1 | score > max(validation) "
              "P / R / F1 | train s\n");
  for (auto kind : {TraceModelKind::kSad, TraceModelKind::kMultimodal}) {
    TraceModelConfig c;
    c.kind = kind;
    c.label_options = lo;
    c.length_filter.min_length = 1;
    c.length_filter.max_length = 200;
    c.epochs = 15;
    c.batch = 64;
    c.lr = 3e-3;
    c.threads = 1;
    TraceModel m(c);
    spdlog::set_level(spdlog::level::warn);
    ASSERT_TRUE(m.Fit(tr, va).ok());
    spdlog::set_level(spdlog::level::info);
    std::vector<TraceVerdict> vv, tv;
    m.ScoreBatch(va, &vv);
    m.ScoreBatch(test, &tv);
    double thr = 0;
    for (const auto& v : vv) thr = std::max(thr, v.score);
    std::vector<int> paper, ours;
    for (const auto& v : tv) {
      paper.push_back(v.anomaly);
      ours.push_back(v.score > thr);
    }
    Confusion a = Evaluate(y, paper), b = Evaluate(y, ours);
    std::printf("[deeptralog] %-11s | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f (thr %.3g) | %.1f\n",
                TraceModelKindName(kind), a.precision(), a.recall(), a.f1(), b.precision(),
                b.recall(), b.f1(), thr, m.stats().train_seconds);
    EXPECT_GT(b.f1(), 0.5) << TraceModelKindName(kind);  // published: .604
  }
}

}  // namespace
}  // namespace triad
