#include "models/deeplog.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "eval/metrics.h"
#include "ingest/line_reader.h"

namespace triad {
namespace {

// ---- Synthetic workflows -------------------------------------------------
// A: 1 2 (3 4)^k 5 6          open, read loop, close
// B: 1 7 8 9^k 10 11 6        open, write loop, flush, close
// C: 12 13 2 3 4 14           admin task
// k in 1..4. The branching factor is 2 everywhere (first key, key after 1,
// loop or exit), so g = 2 passes every normal session.
std::vector<uint32_t> Workflow(std::mt19937& rng) {
  std::uniform_int_distribution<int> which(0, 9), loops(1, 4);
  int w = which(rng);
  int k = loops(rng);
  std::vector<uint32_t> s;
  if (w < 5) {
    s = {1, 2};
    for (int i = 0; i < k; ++i) s.insert(s.end(), {3, 4});
    s.insert(s.end(), {5, 6});
  } else if (w < 9) {
    s = {1, 7, 8};
    for (int i = 0; i < k; ++i) s.push_back(9);
    s.insert(s.end(), {10, 11, 6});
  } else {
    s = {12, 13, 2, 3, 4, 14};
  }
  return s;
}

std::set<std::vector<uint32_t>> AllNormal() {
  std::set<std::vector<uint32_t>> all;
  std::mt19937 rng(1);
  for (int i = 0; i < 5000; ++i) all.insert(Workflow(rng));
  return all;
}

Session MakeSession(std::vector<uint32_t> keys, int label, int id) {
  Session s;
  s.id = "s" + std::to_string(id);
  s.keys = std::move(keys);
  s.label = label;
  return s;
}

// A normal session with one step skipped or two different adjacent steps
// swapped, never equal to a normal session.
std::vector<uint32_t> Anomalous(std::mt19937& rng, const std::set<std::vector<uint32_t>>& normal) {
  for (;;) {
    std::vector<uint32_t> s = Workflow(rng);
    std::uniform_int_distribution<size_t> pos(0, s.size() - 2);
    size_t i = pos(rng);
    if (rng() % 2) {
      s.erase(s.begin() + i);
    } else {
      if (s[i] == s[i + 1]) continue;
      std::swap(s[i], s[i + 1]);
    }
    if (!normal.count(s)) return s;
  }
}

DeepLogConfig SmallConfig() {
  DeepLogConfig c;
  c.hidden = 32;
  c.embedding = 8;
  c.epochs = 60;
  c.batch = 32;
  c.lr = 1e-2;
  c.threads = 2;
  c.seed = 7;
  return c;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/deeplog_" + std::to_string(getpid()) + "_" + name;
}

class DeepLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    std::mt19937 rng(11);
    for (int i = 0; i < 400; ++i) train_.push_back(MakeSession(Workflow(rng), 0, i));
    auto all = AllNormal();
    for (int i = 0; i < 200; ++i) test_.push_back(MakeSession(Workflow(rng), 0, 1000 + i));
    for (int i = 0; i < 100; ++i) test_.push_back(MakeSession(Anomalous(rng, all), 1, 2000 + i));
    model_ = NewDeepLog(SmallConfig()).release();
    fit_status_ = model_->Fit(train_);
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static std::vector<Session> train_, test_;
  static SequenceDetector* model_;
  static Status fit_status_;
};
std::vector<Session> DeepLogTest::train_, DeepLogTest::test_;
SequenceDetector* DeepLogTest::model_ = nullptr;
Status DeepLogTest::fit_status_;

TEST_F(DeepLogTest, LearnsWorkflowsAndFlagsSkippedOrSwappedSteps) {
  ASSERT_TRUE(fit_status_.ok()) << fit_status_.ToString();
  EXPECT_EQ(model_->name(), "deeplog");
  const DeepLogStats* st = GetDeepLogStats(*model_);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->vocab, 14);
  EXPECT_TRUE(st->g_chosen);
  EXPECT_GE(st->g, 2);  // two choices at each branch point
  EXPECT_LE(st->g, 4);
  EXPECT_LT(st->distinct_samples, st->train_samples);
  std::vector<SequenceVerdict> v;
  model_->ScoreAll(test_, &v);
  ASSERT_EQ(v.size(), test_.size());
  std::vector<int> labels, preds;
  std::vector<double> scores;
  for (size_t i = 0; i < v.size(); ++i) {
    labels.push_back(test_[i].label);
    preds.push_back(v[i].anomaly);
    scores.push_back(v[i].score);
    EXPECT_EQ(v[i].anomaly, v[i].score > st->g);
    if (v[i].anomaly) {
      ASSERT_GE(v[i].position, 0);
      ASSERT_LE(static_cast<size_t>(v[i].position), test_[i].keys.size());
      EXPECT_FALSE(v[i].expected.empty());
      EXPECT_LE(static_cast<int>(v[i].expected.size()), st->g);
      if (static_cast<size_t>(v[i].position) == test_[i].keys.size()) {  // the session end
        EXPECT_EQ(v[i].observed, 0u);
        EXPECT_NE(v[i].reason.find("session ended after"), std::string::npos) << v[i].reason;
        continue;
      }
      EXPECT_EQ(v[i].observed, test_[i].keys[v[i].position]);
      EXPECT_EQ(std::count(v[i].expected.begin(), v[i].expected.end(), v[i].observed), 0);
      EXPECT_NE(v[i].reason.find("not in top-"), std::string::npos) << v[i].reason;
    } else {
      EXPECT_EQ(v[i].position, -1);
    }
  }
  Confusion c = Evaluate(labels, preds);
  double ap = PrAuc(scores, labels);
  std::printf("synthetic: g=%d P=%.3f R=%.3f F1=%.3f PR-AUC=%.3f (fp %lu of 200 normal)\n", st->g,
              c.precision(), c.recall(), c.f1(), ap, static_cast<unsigned long>(c.fp));
  // Top-g cannot catch a wrong key that happens to be the model's second
  // choice (g = 2 here), so recall is below 1 while the ranking is near perfect.
  EXPECT_GE(c.recall(), 0.75);
  EXPECT_LE(c.fp, 4u);  // <= 2 % of the normal test sessions
  EXPECT_GE(ap, 0.95);
  // The same sessions score identically one by one and with a warm cache.
  std::vector<SequenceVerdict> again;
  model_->ScoreAll(test_, &again);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(again[i].score, v[i].score);
  // Score() (the direct single-session path) gives the very same verdicts.
  for (size_t i = 0; i < v.size(); ++i) {
    SequenceVerdict one = model_->Score(test_[i]);
    ASSERT_EQ(one.score, v[i].score) << i;
    EXPECT_EQ(one.anomaly, v[i].anomaly);
    EXPECT_EQ(one.position, v[i].position);
    EXPECT_EQ(one.expected, v[i].expected);
    EXPECT_EQ(one.reason, v[i].reason);
  }
}

// A session cut short after "1 2 3 4" (the loop body) ends where no normal
// session ends: flagged at the session end with end_token (the default),
// invisible without it, since every key of it is a likely one.
TEST_F(DeepLogTest, EndTokenFlagsTruncatedSessions) {
  ASSERT_TRUE(fit_status_.ok());
  EXPECT_TRUE(GetDeepLogConfig(*model_)->end_token);
  const int g = GetDeepLogStats(*model_)->g;
  for (const std::vector<uint32_t>& cut : {std::vector<uint32_t>{1, 2, 3, 4},
                                           std::vector<uint32_t>{1, 7, 8, 9, 9}}) {
    SequenceVerdict v = model_->Score(MakeSession(cut, 1, 0));
    EXPECT_TRUE(v.anomaly) << v.reason;
    EXPECT_GT(v.score, g);
    EXPECT_EQ(v.position, static_cast<int>(cut.size()));
    EXPECT_EQ(v.observed, 0u);
    EXPECT_NE(v.reason.find("session ended after"), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("expected one of [E"), std::string::npos) << v.reason;
    // What may follow: 3 or 5 after the loop body "3 4", 9 or 10 after "9".
    std::set<uint32_t> allowed = cut[1] == 2 ? std::set<uint32_t>{3, 5} : std::set<uint32_t>{9, 10};
    ASSERT_FALSE(v.expected.empty());
    for (uint32_t k : v.expected) EXPECT_TRUE(allowed.count(k)) << k << ": " << v.reason;
  }
  // Complete sessions end where they should.
  SequenceVerdict ok = model_->Score(MakeSession({1, 2, 3, 4, 5, 6}, 0, 0));
  EXPECT_FALSE(ok.anomaly) << ok.reason;

  DeepLogConfig cfg = SmallConfig();
  cfg.end_token = false;
  auto plain = NewDeepLog(cfg);
  ASSERT_TRUE(plain->Fit(train_).ok());
  EXPECT_EQ(GetDeepLogStats(*plain)->vocab, 14);
  SequenceVerdict p = plain->Score(MakeSession({1, 2, 3, 4}, 1, 0));
  EXPECT_FALSE(p.anomaly) << p.reason;
  EXPECT_LT(p.score, GetDeepLogStats(*plain)->g);
}

// Version 1 files (no end-of-session class) still load, with end_token off,
// and score as the end_token = false model that wrote them.
TEST_F(DeepLogTest, ReadsVersion1FilesWithoutEndToken) {
  ASSERT_TRUE(fit_status_.ok());
  DeepLogConfig cfg = SmallConfig();
  cfg.end_token = false;
  cfg.epochs = 5;
  auto plain = NewDeepLog(cfg);
  ASSERT_TRUE(plain->Fit(train_).ok());
  std::string path = TempPath("v1.bin");
  ASSERT_TRUE(plain->Save(path).ok());
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    bytes = ss.str();
  }
  // Rewrite the header as version 1 wrote it: no end_token in the config.
  size_t at = bytes.find("\"version\":2");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 11, "\"version\":1");
  const std::string field = ",\"end_token\":false";
  at = bytes.find(field);
  if (at == std::string::npos) {
    at = bytes.find("\"end_token\":false,");
    ASSERT_NE(at, std::string::npos);
    bytes.erase(at, field.size());
  } else {
    bytes.erase(at, field.size());
  }
  ASSERT_EQ(bytes.find("end_token"), std::string::npos);
  std::ofstream(path, std::ios::binary) << bytes;
  std::unique_ptr<SequenceDetector> loaded;
  Status st = LoadDeepLog(path, &loaded);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(GetDeepLogConfig(*loaded)->end_token);
  std::vector<SequenceVerdict> a, b;
  plain->ScoreAll(test_, &a);
  loaded->ScoreAll(test_, &b);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i].score, b[i].score) << i;
  std::remove(path.c_str());
}

TEST_F(DeepLogTest, UnknownKeyIsAlwaysAnomalous) {
  ASSERT_TRUE(fit_status_.ok());
  const DeepLogStats* st = GetDeepLogStats(*model_);
  SequenceVerdict v = model_->Score(MakeSession({1, 2, 3, 4, 99, 5, 6}, 1, 0));
  EXPECT_TRUE(v.anomaly);
  EXPECT_EQ(v.position, 4);
  EXPECT_EQ(v.observed, 99u);
  EXPECT_GT(v.score, st->vocab + 1);  // above every possible g
  EXPECT_NE(v.reason.find("never seen"), std::string::npos) << v.reason;
  // An empty session is not anomalous.
  SequenceVerdict e = model_->Score(MakeSession({}, 0, 0));
  EXPECT_FALSE(e.anomaly);
  EXPECT_EQ(e.score, 0);
}

TEST_F(DeepLogTest, SaveLoadGivesIdenticalScores) {
  ASSERT_TRUE(fit_status_.ok());
  std::string path = TempPath("model.bin");
  ASSERT_TRUE(model_->Save(path).ok());
  std::unique_ptr<SequenceDetector> loaded;
  Status st = LoadDeepLog(path, &loaded);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded->name(), "deeplog");
  EXPECT_EQ(GetDeepLogStats(*loaded)->g, GetDeepLogStats(*model_)->g);
  EXPECT_EQ(GetDeepLogStats(*loaded)->vocab, GetDeepLogStats(*model_)->vocab);
  EXPECT_EQ(GetDeepLogConfig(*loaded)->hidden, 32);
  EXPECT_TRUE(GetDeepLogConfig(*loaded)->end_token);
  std::vector<SequenceVerdict> a, b;
  model_->ScoreAll(test_, &a);
  loaded->ScoreAll(test_, &b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].score, b[i].score) << i;  // bit-identical
    EXPECT_EQ(a[i].anomaly, b[i].anomaly);
    EXPECT_EQ(a[i].expected, b[i].expected);
    EXPECT_EQ(a[i].reason, b[i].reason);
  }
  std::remove(path.c_str());
}

TEST_F(DeepLogTest, RefusesForeignAndDamagedFiles) {
  ASSERT_TRUE(fit_status_.ok());
  std::unique_ptr<SequenceDetector> out;
  EXPECT_EQ(LoadDeepLog(TempPath("missing"), &out).code(), Status::Code::kNotFound);

  std::string garbage = TempPath("garbage");
  std::ofstream(garbage) << "PK\x03\x04 binary junk\n";
  Status st = LoadDeepLog(garbage, &out);
  EXPECT_EQ(st.code(), Status::Code::kUnsupported);
  EXPECT_NE(st.message().find("not a Triad DeepLog model"), std::string::npos) << st.ToString();

  std::string other = TempPath("other");
  std::ofstream(other) << R"({"format":"triad-pca","version":1})" << "\n";
  st = LoadDeepLog(other, &out);
  EXPECT_EQ(st.code(), Status::Code::kUnsupported);
  EXPECT_NE(st.message().find("triad-pca"), std::string::npos) << st.ToString();

  // A real model file with its version bumped, then with its weights cut short.
  std::string path = TempPath("model2.bin");
  ASSERT_TRUE(model_->Save(path).ok());
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    bytes = ss.str();
  }
  size_t at = bytes.find("\"version\":2");
  ASSERT_NE(at, std::string::npos);
  std::string v99 = bytes;
  v99.replace(at, 11, "\"version\":9");
  std::ofstream(path, std::ios::binary) << v99;
  st = LoadDeepLog(path, &out);
  EXPECT_EQ(st.code(), Status::Code::kUnsupported);
  EXPECT_NE(st.message().find("version"), std::string::npos) << st.ToString();

  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  st = LoadDeepLog(path, &out);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_EQ(out, nullptr);
  for (const std::string& p : {garbage, other, path}) std::remove(p.c_str());
}

// Hand-made top-g case: after 1 2 3 4 the next key is 5 (70 %) or 6 (30 %).
TEST(DeepLog, TopGLogicOnHandMadeCase) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<Session> train;
  for (int i = 0; i < 100; ++i) train.push_back(MakeSession({1, 2, 3, 4, i % 10 < 7 ? 5u : 6u}, 0, i));
  DeepLogConfig cfg = SmallConfig();
  cfg.history = 4;
  cfg.choose_g = false;
  cfg.top_g = 1;
  cfg.epochs = 150;
  cfg.validation_fraction = 0;
  auto m = NewDeepLog(cfg);
  ASSERT_TRUE(m->Fit(train).ok());
  EXPECT_EQ(GetDeepLogStats(*m)->g, 1);
  EXPECT_FALSE(GetDeepLogStats(*m)->g_chosen);
  // The likely ending passes at g = 1: every key is the top prediction (rank 1: score < 1).
  SequenceVerdict a = m->Score(MakeSession({1, 2, 3, 4, 5}, 0, 0));
  EXPECT_FALSE(a.anomaly) << a.reason;
  EXPECT_LT(a.score, 1.0);
  // The less likely ending is rank 2: flagged at g = 1, score in (1, 2).
  SequenceVerdict b = m->Score(MakeSession({1, 2, 3, 4, 6}, 0, 0));
  EXPECT_TRUE(b.anomaly);
  EXPECT_GT(b.score, 1.0);
  EXPECT_LT(b.score, 2.0);
  EXPECT_EQ(b.position, 4);
  EXPECT_EQ(b.observed, 6u);
  EXPECT_EQ(b.expected, std::vector<uint32_t>({5}));
  // A swap: 4 where 3 is certain.
  SequenceVerdict c = m->Score(MakeSession({1, 2, 4, 3, 5}, 1, 0));
  EXPECT_TRUE(c.anomaly);
  EXPECT_GE(c.score, 2.0);  // rank >= 3: above both likely endings
  EXPECT_EQ(c.expected.size(), 1u);
}

// g is the smallest value whose validation flag rate is within the budget.
TEST(DeepLog, GChoiceRespectsValidationBudget) {
  spdlog::set_level(spdlog::level::warn);
  // Normal data with 4 % rare variants (an extra key 15 before the close).
  std::mt19937 rng(5);
  std::vector<Session> train;
  for (int i = 0; i < 500; ++i) {
    std::vector<uint32_t> s = Workflow(rng);
    if (i % 25 == 0) s.insert(s.end() - 1, 15);
    train.push_back(MakeSession(s, 0, i));
  }
  DeepLogConfig cfg = SmallConfig();
  cfg.validation_fraction = 0.2;
  std::vector<int> gs;
  for (double budget : {0.0, 0.1}) {
    cfg.max_validation_flag_rate = budget;
    auto m = NewDeepLog(cfg);
    ASSERT_TRUE(m->Fit(train).ok());
    const DeepLogStats* st = GetDeepLogStats(*m);
    EXPECT_EQ(st->validation_sessions, 100u);
    EXPECT_LE(st->validation_flag_rate, budget);
    gs.push_back(st->g);
    if (st->g > 1) {
      // Minimality: the same model (same seed, so the same weights) with g - 1
      // flags more than the budget.
      DeepLogConfig fixed = cfg;
      fixed.choose_g = false;
      fixed.top_g = st->g - 1;
      auto m2 = NewDeepLog(fixed);
      ASSERT_TRUE(m2->Fit(train).ok());
      EXPECT_GT(GetDeepLogStats(*m2)->validation_flag_rate, budget);
    }
  }
  std::printf("g for budget 0: %d, for budget 0.1: %d\n", gs[0], gs[1]);
  EXPECT_GT(gs[0], gs[1]);  // the rare variants need a larger g
}

// The parameter-value model: key 3 carries a size ~ N(100, 5) and every line
// the elapsed time ~ 0.1 s; an anomaly has a size of 400.
TEST(DeepLog, ValueModelFlagsOutOfRangeParameters) {
  spdlog::set_level(spdlog::level::warn);
  std::mt19937 rng(3);
  std::normal_distribution<float> size(100, 5), dt(0.1f, 0.01f);
  auto with_values = [&](std::vector<uint32_t> keys, int id) {
    Session s = MakeSession(std::move(keys), 0, id);
    for (uint32_t k : s.keys) s.values.push_back(k == 3 ? std::vector<float>{size(rng), dt(rng)}
                                                        : std::vector<float>{dt(rng)});
    return s;
  };
  std::vector<Session> train, test;
  for (int i = 0; i < 400; ++i) train.push_back(with_values(Workflow(rng), i));
  for (int i = 0; i < 100; ++i) test.push_back(with_values(Workflow(rng), 1000 + i));
  for (int i = 0; i < 50; ++i) {
    Session s = with_values({1, 2, 3, 4, 3, 4, 5, 6}, 2000 + i);
    s.values[4][0] = 400;
    s.label = 1;
    test.push_back(s);
  }
  DeepLogConfig cfg = SmallConfig();
  auto m = NewDeepLog(cfg);
  ASSERT_TRUE(m->Fit(train).ok());
  const DeepLogStats* st = GetDeepLogStats(*m);
  EXPECT_GE(st->value_models, 10);  // every key carries at least the elapsed time
  std::vector<SequenceVerdict> v;
  m->ScoreAll(test, &v);
  size_t fp = 0, tp = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i].anomaly, v[i].score > st->g);
    if (test[i].label == 0) {
      fp += v[i].anomaly;
    } else if (v[i].anomaly) {
      ++tp;
      EXPECT_EQ(v[i].position, 4);
      EXPECT_NE(v[i].reason.find("parameter values"), std::string::npos) << v[i].reason;
    }
  }
  std::printf("value model: %zu/50 flagged, %zu/100 normal flagged\n", tp, fp);
  EXPECT_EQ(tp, 50u);
  EXPECT_LE(fp, 10u);
  // Save/load keeps the value models.
  std::string path = TempPath("values.bin");
  ASSERT_TRUE(m->Save(path).ok());
  std::unique_ptr<SequenceDetector> loaded;
  ASSERT_TRUE(LoadDeepLog(path, &loaded).ok());
  std::vector<SequenceVerdict> w;
  loaded->ScoreAll(test, &w);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i].score, w[i].score);
  std::remove(path.c_str());
}

TEST(DeepLog, RejectsBadConfigAndEmptyTraining) {
  DeepLogConfig cfg = SmallConfig();
  cfg.history = 0;
  EXPECT_EQ(NewDeepLog(cfg)->Fit({MakeSession({1, 2}, 0, 0)}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(NewDeepLog(SmallConfig())->Fit({}).code(), Status::Code::kInvalidArgument);
}

// ---- Real data: HDFS ---------------------------------------------------------

std::vector<uint32_t> ParseKeys(std::string_view text) {
  std::vector<uint32_t> keys;
  std::istringstream in{std::string(text)};
  uint32_t k;
  while (in >> k) keys.push_back(k);
  return keys;
}

// BlockId,Label,Split,EventSequence (hdfs_100k_sessions.csv.gz).
bool ReadHdfs100k(const std::string& path, std::vector<Session>* train, std::vector<Session>* test) {
  std::unique_ptr<LineReader> r;
  if (!LineReader::Open(path, &r).ok()) return false;
  std::string_view line;
  bool header = true;
  while (r->Next(&line)) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> f;
    size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      size_t c = line.find(',', start);
      if (c == std::string_view::npos) return false;
      f.emplace_back(line.substr(start, c - start));
      start = c + 1;
    }
    Session s;
    s.id = f[0];
    s.label = f[1] == "Anomaly" ? 1 : 0;
    s.split = f[2];
    s.keys = ParseKeys(line.substr(start));
    (s.split == "train" ? train : test)->push_back(std::move(s));
  }
  return true;
}

struct RealResult {
  Confusion c, c9;  // at the chosen g, at the paper's g = 9
  BestF1 best;      // best F1 over thresholds (uses test labels: reference only)
  double ap = 0, train_s = 0, train_cpu_s = 0, cold_per_s = 0, warm_per_s = 0;
  int g = 0;
};

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

RealResult RunHdfs(const std::vector<Session>& train, const std::vector<Session>& test,
                   const DeepLogConfig& cfg) {
  RealResult res;
  auto m = NewDeepLog(cfg);
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  Status st = m->Fit(train);
  res.train_cpu_s = CpuSeconds() - cpu0;
  res.train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!st.ok()) return res;
  res.g = GetDeepLogStats(*m)->g;
  // Scoring speed: 30 copies of the test split (~48k sessions), cold cache
  // (a freshly loaded model), then warm.
  std::string path = TempPath("hdfs.bin");
  EXPECT_TRUE(m->Save(path).ok());
  std::unique_ptr<SequenceDetector> fresh;
  EXPECT_TRUE(LoadDeepLog(path, &fresh).ok());
  std::remove(path.c_str());
  std::vector<Session> many;
  for (int r = 0; r < 30; ++r) many.insert(many.end(), test.begin(), test.end());
  std::vector<SequenceVerdict> v;
  t0 = std::chrono::steady_clock::now();
  fresh->ScoreAll(many, &v);
  res.cold_per_s =
      many.size() / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  fresh->ScoreAll(many, &v);
  res.warm_per_s =
      many.size() / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m->ScoreAll(test, &v);
  std::vector<int> labels, preds, preds9;
  std::vector<double> scores;
  for (size_t i = 0; i < test.size(); ++i) {
    labels.push_back(test[i].label);
    preds.push_back(v[i].anomaly);
    preds9.push_back(v[i].score > 9);
    scores.push_back(v[i].score);
  }
  res.c = Evaluate(labels, preds);
  res.c9 = Evaluate(labels, preds9);
  res.ap = PrAuc(scores, labels);
  res.best = BestF1OverThresholds(scores, labels);
  return res;
}

// The best F1 any detector that sees only the key sequence and learns from
// `normal` can reach on `test`: anomalies whose key sequence equals a normal
// training session are undetectable (never flagged); every other distinct
// test sequence is flagged or not as the test labels favour (F1 is maximised
// over the prefixes of the sequences sorted by their share of anomalies,
// which contains the optimum: Dinkelbach).
struct UpperBound {
  Confusion c;
  size_t undetectable = 0;  // anomalies identical to a normal training session
};
UpperBound KeySequenceUpperBound(const std::vector<Session>& normal,
                                 const std::vector<Session>& test) {
  std::set<std::vector<uint32_t>> seen;
  for (const Session& s : normal) seen.insert(s.keys);
  std::map<std::vector<uint32_t>, std::pair<uint64_t, uint64_t>> groups;  // (anomalous, normal)
  UpperBound ub;
  uint64_t anomalies = 0, normals = 0;
  for (const Session& s : test) {
    (s.label ? anomalies : normals) += 1;
    if (seen.count(s.keys)) {
      ub.undetectable += s.label != 0;
      continue;
    }
    auto& g = groups[s.keys];
    (s.label ? g.first : g.second) += 1;
  }
  std::vector<std::pair<uint64_t, uint64_t>> gs;
  for (const auto& [k, g] : groups) gs.push_back(g);
  std::sort(gs.begin(), gs.end(), [](const auto& x, const auto& y) {
    return x.first * (y.first + y.second) > y.first * (x.first + x.second);
  });
  ub.c.fn = anomalies;
  ub.c.tn = normals;
  Confusion cur = ub.c;
  for (const auto& [an, no] : gs) {
    cur.tp += an;
    cur.fn -= an;
    cur.fp += no;
    cur.tn -= no;
    if (cur.f1() > ub.c.f1()) ub.c = cur;
  }
  return ub;
}

TEST(DeepLog, KeySequenceUpperBoundOnHandMadeSplit) {
  std::vector<Session> normal = {MakeSession({1, 2}, 0, 0), MakeSession({1, 2, 3}, 0, 1)};
  std::vector<Session> test = {
      MakeSession({1, 2}, 1, 0),     // identical to a normal session: undetectable
      MakeSession({1, 3}, 1, 1),     // 2 anomalies, 1 normal with this sequence
      MakeSession({1, 3}, 1, 2),
      MakeSession({1, 3}, 0, 3),
      MakeSession({4}, 1, 4),        // pure anomaly
      MakeSession({5}, 0, 5),        // 1 anomaly, 3 normal: not worth flagging
      MakeSession({5}, 0, 6),
      MakeSession({5}, 0, 7),
      MakeSession({5}, 1, 8),
      MakeSession({1, 2, 3}, 0, 9)};
  UpperBound ub = KeySequenceUpperBound(normal, test);
  EXPECT_EQ(ub.undetectable, 1u);
  // Best: flag {4} and {1 3}: TP 3, FP 1, FN 2 -> F1 = 6 / 9.
  EXPECT_EQ(ub.c.tp, 3u);
  EXPECT_EQ(ub.c.fp, 1u);
  EXPECT_EQ(ub.c.fn, 2u);
  EXPECT_NEAR(ub.c.f1(), 6.0 / 9.0, 1e-12);
}

// Both protocols on the hdfs_100k test split (57 anomalies in 1,588 sessions).
void RunHdfsProtocols(bool end_token) {
  const std::string dir = std::string(TRIAD_SHARED_DATA_DIR) + "/logs/hdfs";
  std::vector<Session> train100k, test;
  if (!ReadHdfs100k(dir + "/hdfs_100k_sessions.csv.gz", &train100k, &test))
    GTEST_SKIP() << "no HDFS data under " << dir;
  std::vector<Session> normal100k;
  for (Session& s : train100k)
    if (s.label == 0) normal100k.push_back(std::move(s));
  std::vector<Session> deeplog_train;
  {
    std::unique_ptr<LineReader> r;
    ASSERT_TRUE(LineReader::Open(dir + "/deeplog_hdfs_train", &r).ok());
    std::string_view line;
    while (r->Next(&line)) deeplog_train.push_back(MakeSession(ParseKeys(line), 0, 0));
  }
  ASSERT_EQ(deeplog_train.size(), 4855u);
  ASSERT_EQ(test.size(), 1588u);
  spdlog::set_level(spdlog::level::info);
  DeepLogConfig cfg;  // the defaults
  cfg.threads = 2;
  cfg.end_token = end_token;
  // min_undetectable: hdfs_100k's blocks cut at the end of its first 100k
  // lines repeat normal training sessions (26 of the 57 test anomalies); the
  // anomalies that deeplog_hdfs_train repeats (5) are fewer, but the others
  // share their sequences with normal test sessions, so the bound is the same.
  struct Run {
    const char* name;
    const std::vector<Session>* train;
    size_t min_undetectable;
  } runs[] = {{"hdfs_100k train (normal)", &normal100k, 20},
              {"deeplog_hdfs_train", &deeplog_train, 1}};
  for (const Run& run : runs) {
    UpperBound ub = KeySequenceUpperBound(*run.train, test);
    RealResult r = RunHdfs(*run.train, test, cfg);
    std::printf(
        "HDFS DeepLog (end_token=%d), train %s (%zu sessions) -> hdfs_100k test (%zu): g=%d "
        "P=%.3f R=%.3f F1=%.3f PR-AUC=%.3f | g=9: P=%.3f R=%.3f F1=%.3f | best F1 over "
        "thresholds %.3f | train %.1f s wall, %.1f s CPU | scoring %.0f sessions/s cold, %.0f warm\n"
        "  upper bound of any key-sequence detector: F1=%.3f (P=%.3f R=%.3f); %zu of %lu anomalies "
        "identical to a normal training session\n",
        end_token ? 1 : 0, run.name, run.train->size(), test.size(), r.g, r.c.precision(),
        r.c.recall(), r.c.f1(), r.ap, r.c9.precision(), r.c9.recall(), r.c9.f1(), r.best.f1,
        r.train_s, r.train_cpu_s, r.cold_per_s, r.warm_per_s, ub.c.f1(), ub.c.precision(),
        ub.c.recall(), ub.undetectable, static_cast<unsigned long>(ub.c.tp + ub.c.fn));
    EXPECT_GE(ub.undetectable, run.min_undetectable) << run.name;
    EXPECT_LT(ub.c.f1(), 0.8) << run.name;
    // Precision must stay high; recall is what the data allows.
    EXPECT_GE(r.c.precision(), 0.7) << run.name;
    // With end_token the truncated "E22 E5"-like anomalies are caught too
    // (measured R .526 on both protocols, .316 without the end check).
    EXPECT_GE(r.c.recall(), end_token ? 0.45 : 0.25) << run.name;
  }
  spdlog::set_level(spdlog::level::warn);
}

TEST(DeepLog, HdfsRealData) { RunHdfsProtocols(/*end_token=*/true); }

// Reference (as published, no session-end check):
//   triad_model_tests --gtest_filter='DeepLog.*NoEndToken' --gtest_also_run_disabled_tests
TEST(DeepLog, DISABLED_HdfsRealDataNoEndToken) { RunHdfsProtocols(/*end_token=*/false); }

}  // namespace
}  // namespace triad
